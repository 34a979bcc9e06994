"""Postfix (SMTP in, LDAP lookups, LMTP out); Cyrus is in cyrus.py."""

from __future__ import annotations

import re
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

from mailadmin import postfix
from mailadmin.configfiles import amavis, atomic_write, store
from mailadmin.configfiles.files import keep_hand_edit
from mailadmin.configfiles.postfix import (
    AmavisHop,
    ContentFilter,
    PostfixParams,
    RelayPolicy,
    checks,
    render_main_cf,
    render_master_cf,
)
from mailadmin.configfiles.postfix.params import UCE_RBL_SITES
from mailadmin.configfiles.postfix_maps import PostfixMaps, install_tables
from mailadmin.configfiles.postfix_tables import LdapTable
from mailadmin.configfiles.saslauthd import render_sasl_app_conf
from mailadmin.stack import postfix_checks
from mailadmin.stack.base import POSTFIX_BIND, Service, banner, require
from mailadmin.stack.postfix_menu import PostfixMenu
from mailadmin.stack.process import terminate, wait_gone


class Postfix(PostfixMenu, Service):
    name = "postfix"

    @property
    def pidfile(self) -> Path:
        return self.layout.postfix_pid

    def address(self) -> str:
        return f"smtp://127.0.0.1:{self.ctx.ports.smtp} submission://127.0.0.1:{self.ctx.ports.submission}"

    def logs(self) -> list[Path]:
        return [self.layout.maillog]

    def maps(self, settings: Mapping[str, str] | None = None) -> PostfixMaps:
        """The ldap: tables of the directory contract (mailadmin/configfiles/contract.py), in etc/, with the
        menu's `ldap_*` values (`settings`; None: the stored ones)."""
        menu = self.stored() if settings is None else settings
        ldap = {k.removeprefix("ldap_"): val for k, val in menu.items() if k.startswith("ldap_")}
        return PostfixMaps(
            server_uri=ldap.pop("server_host", self.ctx.ldap_uri),
            base_dn=ldap.pop("search_base", self.ctx.base_dn),
            bind_dn=ldap.pop("bind_dn", self.ctx.service_dn("postfix")),
            bind_pw=ldap.pop("bind_pw", "") or self.ctx.secrets.get(POSTFIX_BIND),
            mailbox_domain=self.ctx.config.mailbox_domain,
            table_dir=self.etc,
            settings=ldap,
        )

    def tables(self) -> list[LdapTable]:
        return self.maps().tables()

    def table(self, name: str) -> str:
        return self.maps().ref(name)

    def params(
        self, settings: Mapping[str, str] | None = None, *, content_filter: Mapping[str, str] | None = None
    ) -> PostfixParams:
        """`settings`: the menu's values (mailadmin/stack/postfix_menu.py); None: the stored ones.
        `content_filter`: the Content filter page's values (on/off, children); None: its stored ones."""
        p, ports = self.layout.postfix, self.ctx.ports
        menu = self.stored() if settings is None else settings
        cf = amavis.effective(
            store.values(self.layout.menu, "amavis") if content_filter is None else content_filter
        )
        amavis_hop = AmavisHop(
            port=ports.amavis,
            reinject_port=ports.amavis_reinject,
            enabled=cf["enabled"] == "yes",
            concurrency=int(cf["max_servers"]),
        )
        return PostfixParams(
            config_dir=self.etc,
            queue_dir=p / "spool",
            data_dir=p / "data",
            log_file=self.layout.maillog,
            myhostname=f"mx.{self.ctx.config.mailbox_domain}",
            mailbox_domain=self.ctx.config.mailbox_domain,
            relay_host="127.0.0.1",
            relay_port=ports.relay,
            lmtp_host="127.0.0.1",
            lmtp_port=ports.lmtp,
            smtp_port=ports.smtp,
            submission_port=ports.submission,
            sasl_config_dir=self.etc / "sasl",
            syslog_name="postfix-mailadmin",
            **self.maps(menu).lookup_tables(),
            # every message through the disclaimer filter (DLV-03, mailadmin/stack/mailfilter.py)
            # and, when the Content filter page switches it on, through amavisd first (CFG-03)
            content_filter=ContentFilter(
                filter_port=ports.mailfilter, reinject_port=ports.reinject, amavis=amavis_hop
            ),
            # the SMTP relay rules (DLV-04, mailadmin/stack/policyd.py): asked first, 451 while it is down
            relay_policy=RelayPolicy(port=ports.policyd),
            # the UCE blocklist zones become reject_rbl_client checks (restrictions.with_uce_checks)
            rbl_sites=tuple(z for z in re.split(r"[,\s]+", menu.get(UCE_RBL_SITES, "")) if z),
            # the header and body checks tables, in etc/ beside main.cf (postfix_checks.py)
            checks_dir=self.etc,
            menu={
                k: val
                for k, val in menu.items()
                if not k.startswith("ldap_") and k != UCE_RBL_SITES and k not in checks.BY_PARAM
            },
        )

    def prepare(self) -> None:
        require("/usr/sbin/postfix", "/usr/sbin/postconf", "/usr/sbin/postmap", "script")
        if "ldap" not in Path("/etc/postfix/dynamicmaps.cf").read_text(errors="replace"):
            raise self.fail("postfix-ldap is not installed (no ldap in /etc/postfix/dynamicmaps.cf)")
        p = self.layout.postfix
        # spool and data sit beside etc, never inside it: `postfix check` wants etc's tree owned by root.
        for sub in ("etc", "etc/sasl", "spool", "data", "log"):
            (p / sub).mkdir(parents=True, exist_ok=True)
            (p / sub).chmod(0o755)
        shutil.chown(p / "data", "postfix", "postfix")
        params = self.params()
        # rendered from the menu's stored values; a hand edit since the last render is kept aside, not lost
        kept = keep_hand_edit(self.etc / "main.cf")
        if kept is not None:
            print(f"postfix: main.cf was edited by hand; the edit is kept in {kept}", file=sys.stderr)
        # backdate: a main.cf younger than 2 s makes every Postfix program nap until it is older
        atomic_write(self.etc / "main.cf", render_main_cf(params), backdate=3)
        atomic_write(self.etc / "master.cf", render_master_cf(params), backdate=3)
        # main.cf names the checks tables: they exist before Postfix starts (an empty one matches nothing)
        for name, text in postfix_checks.render_files(self.stored()).items():
            kept = keep_hand_edit(self.etc / name)
            if kept is not None:
                print(f"postfix: {name} was edited by hand; the edit is kept in {kept}", file=sys.stderr)
            atomic_write(self.etc / name, text, mode=0o644)
        # bind_pw inside; smtpd, cleanup and trivial-rewrite read the tables as user postfix. Each one is
        # proved with a `postmap -q` probe against the running slapd before it replaces the old one.
        install_tables(self.maps(), config_dir=self.etc)
        # Debian's Postfix reads <cyrus_sasl_config_path>/smtpd.conf and defaults that path to etc/sasl.
        atomic_write(self.etc / "sasl" / "smtpd.conf", render_sasl_app_conf(self.layout.saslauthd_mux))

    def launch(self) -> None:
        try:
            postfix.postfix_start(self.etc)
        except postfix.PostfixError as exc:
            raise self.fail(exc.message) from exc

    def ready(self) -> bool:
        ports = self.ctx.ports
        return banner(ports.smtp, b"220") and banner(ports.submission, b"220")

    def stop(self) -> None:
        pid = self.pid()
        if pid is not None:
            try:
                postfix.postfix_stop(self.etc)  # asynchronous: the master exits a moment later
                wait_gone(pid, timeout=15)
            except postfix.PostfixError:
                terminate(pid)
        self.pidfile.unlink(missing_ok=True)
