"""Postfix in the Configuration menu (mailadmin/configfiles/change): render, validate a staged copy, reload,
and a smoke test of the running server. Mixed into the stack's Postfix, so the menu and the stack's start
render main.cf from the same stored values."""

from __future__ import annotations

import re
import secrets
import shutil
import smtplib
import socket
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

from mailadmin import postfix
from mailadmin.configfiles import atomic_write, contract, store
from mailadmin.configfiles.postfix import PostfixParams, checks, render_main_cf
from mailadmin.configfiles.postfix.params import UCE_RBL_CHECKS, UCE_RBL_SITES
from mailadmin.configfiles.postfix_maps import PostfixMaps
from mailadmin.configfiles.postfix_tables import render_ldap_table
from mailadmin.stack import postfix_checks
from mailadmin.stack.base import Context
from mailadmin.stack.config import Layout
from mailadmin.stack.process import StackError

# the lists smtpd walks, in the order of the SMTP dialogue
RESTRICTION_LISTS = (
    "smtpd_client_restrictions",
    "smtpd_helo_restrictions",
    "smtpd_sender_restrictions",
    "smtpd_relay_restrictions",
    "smtpd_recipient_restrictions",
    "smtpd_data_restrictions",
)
SMOKE_RELOAD_WAIT = 5.0  # seconds the old smtpd generation may still answer after a reload


class PostfixMenu:
    name = "postfix"
    ctx: Context
    layout: Layout

    @property
    def etc(self) -> Path:
        return self.layout.postfix_etc

    def params(
        self, settings: Mapping[str, str] | None = None, *, content_filter: Mapping[str, str] | None = None
    ) -> PostfixParams:
        raise NotImplementedError

    def stored(self) -> dict[str, str]:
        return store.values(self.layout.menu, "postfix")

    def maps(self, settings: Mapping[str, str] | None = None) -> PostfixMaps:
        raise NotImplementedError

    def render(self, settings: Mapping[str, str]) -> dict[str, str]:
        """main.cf, every `ldap:` table file (the `ldap_*` parameters go into each table) and the header and
        body checks tables (postfix_checks.py)."""
        files = {"main.cf": render_main_cf(self.params(settings))}
        files.update({f"{t.name}.cf": render_ldap_table(t) for t in self.maps(settings).tables()})
        files.update(postfix_checks.render_files(settings))
        return files

    def restrictions(self) -> list[tuple[str, str, str]]:
        """The running smtpd_*_restrictions, each as written in main.cf and as smtpd expands it: the policy
        service, the UCE checks and the local-only triggers in the order Postfix applies them."""
        try:
            written = postfix.postconf_values(self.etc, list(RESTRICTION_LISTS))
            expanded = postfix.postconf_values(self.etc, list(RESTRICTION_LISTS), expand=True)
        except postfix.PostfixError as exc:  # e.g. a hand edit postconf warns about
            raise StackError(str(exc)) from exc
        # an empty $parameter leaves an empty item behind ("a, , b"): smtpd skips it, and so does the page
        tidy = {name: re.sub(r",(?:\s*,)+", ",", value).strip(" ,") for name, value in expanded.items()}
        return [(name, written.get(name, ""), tidy.get(name, "")) for name in RESTRICTION_LISTS]

    def config_path(self, file: str) -> Path:
        if file in checks.BY_FILE:
            return self.etc / file
        if file != "main.cf" and file not in {f"{t.name}.cf" for t in self.maps({}).tables()}:
            raise StackError(f"postfix: {file!r} is not a file the menu manages")
        return self.etc / file

    def allowed_dirs(self) -> list[str]:
        return [str(self.etc), "/etc/postfix", "/etc/ssl"]

    def validate_dir(self, staging: Path) -> None:
        """`postfix check` and `postconf -n` (no warnings) on a staged copy: main.cf as rendered, with
        config_directory pointing at the copy (Postfix warns when they differ), and the running master.cf."""
        main = staging / "main.cf"
        text = main.read_text(encoding="utf-8").replace(
            f"config_directory = {self.etc}\n", f"config_directory = {staging}\n", 1
        )
        atomic_write(main, text, mode=0o640, backdate=3)  # a hot main.cf makes postfix nap until it cools
        shutil.copy2(self.etc / "master.cf", staging / "master.cf")
        warnings = postfix.postconf_warnings(staging)
        if warnings:
            raise StackError("; ".join(warnings))
        problems = postfix.postfix_check(staging)
        if problems:
            raise StackError("; ".join(problems))
        # PCRE compiles every rule of the checks tables (postmap only warns about one it cannot)
        postfix_checks.validate_tables(staging, self.etc)
        # each changed table answers a lookup of a key that cannot exist (a bind, base or TLS mistake is an
        # error here, before the running tables are touched)
        for table in sorted(staging.glob("*.cf")):
            if table.name in ("main.cf", "master.cf"):
                continue
            live = self.etc / table.name
            if live.exists() and live.read_bytes() == table.read_bytes():
                continue
            key = f"mailadmin-probe-{secrets.token_hex(4)}@mailadmin.invalid"
            answer = postfix.postmap_query(key, f"ldap:{table}", self.etc)
            if answer is not None:
                raise StackError(f"{table.name}: the probe key {key} found {answer!r}")

    def defaults(self) -> dict[str, str]:
        return postfix.postconf_d()

    def values_of(self, directory: Path | None) -> dict[str, str]:
        """The parameters main.cf in `directory` sets (None: the running one), as `postconf -n` reads them."""
        # the running file is shown even when postconf warns about a hand edit (the page shows the edit);
        # a staged copy must be clean
        values = postfix.postconf_n(directory or self.etc, warnings_ok=directory is None)
        if directory is not None and "config_directory" in values:
            values["config_directory"] = str(self.etc)  # a staged copy names itself (validate_dir)
        # the blocklist zones as the menu holds them (main.cf: one reject_rbl_client per zone)
        checks = values.pop(UCE_RBL_CHECKS, "")
        zones = [item for item in re.split(r"[,\s]+", checks) if item and item != "reject_rbl_client"]
        if zones:
            values[UCE_RBL_SITES] = ", ".join(zones)
        # the checks tables as the menu holds them: how many rules (the file diff shows which)
        values.update(postfix_checks.summaries(directory or self.etc))
        return values

    def check_line(self, rules: list[checks.Rule], line: str) -> postfix_checks.LineAnswer:
        """ "Test this line": postmap's answer for `line` against a staged table of `rules`."""
        return postfix_checks.test_line(self.layout.menu / "staging", self.etc, rules, line)

    def reload(self) -> None:
        postfix.postfix_reload(self.etc)

    def restart(self) -> None:
        """For parameters a reload does not apply (inet_interfaces, inet_protocols, ...): stop, start, and
        wait for both ports' greetings (the stack's own Service methods)."""
        service = cast(Any, self)
        service.stop()
        service.launch()
        service.wait_ready(self.ctx.config.timeout)

    def smoke(self) -> str:
        """EHLO on the SMTP port (until the reloaded smtpd announces main.cf's message_size_limit), RCPT TO a
        mailbox of the directory (when there is one), and an LHLO to where virtual_transport delivers: what a
        change can break without Postfix itself noticing."""
        ports = self.ctx.ports
        limit = postfix.postconf_h(self.etc, "message_size_limit")
        expected = "" if limit in ("", "0") else limit  # 0: SIZE without a number
        deadline = time.monotonic() + SMOKE_RELOAD_WAIT
        while True:
            with smtplib.SMTP("127.0.0.1", ports.smtp, timeout=10) as smtp:
                code, _ = smtp.ehlo("smoke-test.mailadmin.invalid")
                if code != 250:
                    raise StackError(f"EHLO answered {code}")
                size = smtp.esmtp_features.get("size", "")
                if size != expected:
                    # an idle smtpd of the old generation may take one more connection after a reload
                    if time.monotonic() < deadline:
                        time.sleep(0.05)
                        continue
                    raise StackError(
                        f"the running smtpd announces SIZE {size or '(none)'}, main.cf says {limit}: "
                        "the reload did not take"
                    )
                proved = [f"EHLO 250 (SIZE {size or 'not announced'})"]
                mailbox = self._known_mailbox()
                if mailbox:
                    smtp.mail("")
                    code, reply = smtp.rcpt(mailbox)
                    if code != 250:
                        answer = reply.decode(errors="replace")
                        raise StackError(f"RCPT TO <{mailbox}> answered {code} {answer}")
                    smtp.rset()
                    proved.append(f"RCPT TO <{mailbox}> 250")
            break
        proved.append(self._lmtp_answers())
        return "; ".join(proved)

    def _lmtp_answers(self) -> str:
        transport = postfix.postconf_h(self.etc, "virtual_transport")
        kind, _, address = transport.partition(":")
        if kind != "lmtp" or not address.startswith("inet:"):
            return f"virtual_transport {transport} (not checked)"
        host, _, port = address.removeprefix("inet:").rpartition(":")
        host = host.strip("[]")
        try:
            with socket.create_connection((host, int(port)), timeout=5) as sock:
                sock.settimeout(5)
                greeting = sock.recv(512)
        except (OSError, ValueError) as exc:
            raise StackError(f"nothing answers at the LMTP address {host}:{port} ({exc})") from exc
        if not greeting.startswith(b"220"):
            raise StackError(f"the LMTP address {host}:{port} greets with {greeting[:60]!r}, not 220")
        return f"LMTP {host}:{port} 220"

    def _known_mailbox(self) -> str | None:
        """The address of one enabled account, found the way Postfix finds them (its own bind)."""
        result = self.ctx.ldap_as_postfix(
            "ldapsearch",
            *("-LLL", "-o", "ldif_wrap=no", "-b", f"{contract.DOMAINS},{self.ctx.base_dn}", "-z", "1"),
            f"(&{contract.ENABLED_ACCOUNT}({contract.ADDRESS}=*))",
            contract.ADDRESS,
        )
        for line in result.stdout.splitlines():
            if line.lower().startswith(f"{contract.ADDRESS.lower()}: "):
                return line.split(": ", 1)[1].strip()
        return None
