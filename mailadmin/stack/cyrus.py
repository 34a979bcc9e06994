"""Cyrus IMAP (the mail store): imapd.conf and cyrus.conf rendered at every start, cyrmaster launched.
The Configuration menu's part (render, validate, reload, smoke test) is in cyrus_menu.py."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path

from mailadmin.configfiles import atomic_write
from mailadmin.configfiles.cyrus import (
    CONFIG_SUBDIRS,
    CyrusParams,
    PtsLdap,
    admin_entry_ldif,
    render_annotation_definitions,
    render_cyrus_conf,
    render_imapd_conf,
)
from mailadmin.stack.base import CYRUS_ADMIN, SASLAUTHD_BIND, Service, banner, require
from mailadmin.stack.cyrus_menu import CyrusMenu
from mailadmin.stack.process import StackError, processes_referencing, run, wait_until


class Cyrus(CyrusMenu, Service):
    name = "cyrus"

    def syslog_marker(self) -> str:
        return self.ctx.syslog_tag + "/"

    @property
    def pidfile(self) -> Path:
        return self.layout.cyrus_pid

    def address(self) -> str:
        return f"imap://127.0.0.1:{self.ctx.ports.imap} lmtp://127.0.0.1:{self.ctx.ports.lmtp}"

    def logs(self) -> list[Path]:
        return [self.layout.cyrus / "cyrmaster.log", self.layout.syslog_file]

    def params(self, settings: Mapping[str, str] | None = None) -> CyrusParams:
        """`settings`: the menu's values (mailadmin/stack/cyrus_menu.py); None: the stored ones."""
        c = self.layout.cyrus
        menu = self.stored() if settings is None else settings
        return CyrusParams(
            imapd_conf=self.layout.imapd_conf,
            config_dir=c / "lib",
            partition_dir=c / "spool",
            run_dir=c / "run",
            servername=self.ctx.config.cyrus_servername,
            saslauthd_mux=self.layout.saslauthd_mux,
            sasldb=c / "sasldb2",
            imap_port=self.ctx.ports.imap,
            lmtp_port=self.ctx.ports.lmtp,
            admins=(self.ctx.config.cyrus_admin,),
            bin_dir=self.ctx.config.cyrus_bin_dir,
            delete_mode=self.ctx.config.delete_mode,
            # a private dev/test server on loopback: no guessing to slow down, but many wrong-password tests
            failed_login_pause=0,
            syslog_prefix=self.ctx.syslog_tag,
            annotation_definitions=c / "etc" / "annotations.conf",
            # Cyrus groups from LDAP (FLD-04, SCX-01), read with saslauthd's read-only account; a short cache
            # so tests see a moved account's groups within seconds.
            pts=PtsLdap(
                uri=self.ctx.ldap_uri,
                bind_dn=self.ctx.service_dn("saslauthd"),
                bind_pw=self.ctx.secrets.get(SASLAUTHD_BIND),
                base_dn=f"ou=domains,{self.ctx.base_dn}",
                suffix=self.ctx.base_dn,
                cache_timeout=2,
            ),
            menu=dict(menu),
        )

    def prepare(self) -> None:
        bin_dir = self.ctx.config.cyrus_bin_dir
        require("/usr/sbin/cyrmaster", "/usr/sbin/saslpasswd2", bin_dir / "imapd", bin_dir / "lmtpd")
        c = self.layout.cyrus
        first = not (c / ".initialised").exists()
        dirs = [c / "etc", c / "spool", c / "run" / "proc", c / "run" / "lock", c / "run" / "socket"]
        dirs += [c / "lib" / sub for sub in CONFIG_SUBDIRS]
        for d in dirs:
            d.mkdir(parents=True, exist_ok=True)
        params = self.params()
        # imapd.conf holds ptloader's bind password: readable by root and Cyrus's group only.
        atomic_write(self.layout.imapd_conf, render_imapd_conf(params), mode=0o640, group="mail")
        atomic_write(c / "etc" / "cyrus.conf", render_cyrus_conf(params))
        if params.annotation_definitions is not None:
            atomic_write(params.annotation_definitions, render_annotation_definitions())
        if first:
            # The admin lives in sasldb (auxprop), realm = servername; users go through saslauthd to LDAP.
            run(
                [
                    "/usr/sbin/saslpasswd2",
                    "-p",
                    "-c",
                    "-f",
                    params.sasldb,
                    "-u",
                    params.servername,
                    self.ctx.config.cyrus_admin,
                ],
                stdin_text=self.ctx.secrets.get(CYRUS_ADMIN),
            )
        if params.pts is not None:
            self._admin_entry()
        # cyrmaster starts as root and drops to cyrus:mail; everything it writes must be theirs.
        for top in (c / "lib", c / "spool", c / "run"):
            _chown_tree(top, "cyrus", "mail", deep=first)
        shutil.chown(params.sasldb, "cyrus", "mail")
        params.sasldb.chmod(0o640)
        if first:
            (c / ".initialised").touch()

    def _admin_entry(self) -> None:
        """With LDAP groups every login is looked up in the directory, the sasldb admin too: give it an entry
        (no password; the name also keeps a user called like the admin from being created)."""
        admin = self.ctx.config.cyrus_admin
        ldif = admin_entry_ldif(admin, self.ctx.base_dn)
        try:
            run(["ldapadd", "-Q", "-Y", "EXTERNAL", "-H", self.layout.ldapi_uri], stdin_text=ldif)
        except Exception as exc:
            if "Already exists" not in str(exc):
                raise self.fail(f"cannot add the directory entry of the Cyrus admin: {exc}") from exc

    def launch(self) -> None:
        c = self.layout.cyrus
        argv: list[str | Path] = [
            "/usr/sbin/cyrmaster",
            "-C",
            self.layout.imapd_conf,
            "-M",
            c / "etc" / "cyrus.conf",
        ]
        try:
            run([*argv, "-p", self.pidfile, "-d"], log=c / "cyrmaster.log")
        except Exception as exc:
            raise self.fail(str(exc)) from exc

    def ready(self) -> bool:
        return banner(self.ctx.ports.imap, b"* OK") and banner(self.ctx.ports.lmtp, b"220")

    # --- a maintenance stop and start (Tools -> Cyrus recovery, backup/recovery/) ---------------------
    @property
    def bin_dir(self) -> Path:
        return self.ctx.config.cyrus_bin_dir

    def leftovers(self) -> list[tuple[int, str]]:
        """Cyrus processes of this stack still alive (imapd, lmtpd, ptloader outlive cyrmaster briefly)."""
        return processes_referencing(self.layout.cyrus)

    def shutdown(self, timeout: float = 15.0) -> None:
        """Stop cyrmaster and wait until none of its children is left: the databases are closed only then
        (ctl_cyrusdb -r on a database an imapd still holds open would do harm). StackError otherwise."""
        self.stop()
        wait_until(lambda: not self.leftovers(), timeout=timeout, what="the Cyrus processes to exit")

    def start_again(self, timeout: float = 30.0) -> None:
        """Start cyrmaster as the stack's start does (its START runs ctl_cyrusdb -r too) and wait for real
        IMAP and LMTP greetings. StackError with the tail of Cyrus's logs when it does not come up."""
        self.clear_stale_pidfile()
        if self.running():
            raise self.fail("cyrmaster runs already")
        try:
            self.launch()
            self.wait_ready(timeout)
        except StackError as exc:
            if str(exc).startswith(f"{self.name}: "):
                raise
            raise self.fail(str(exc)) from exc


def _chown_tree(top: Path, user: str, group: str, *, deep: bool) -> None:
    """chown -R on first start; later only the directories themselves (the spool may be large)."""
    shutil.chown(top, user, group)
    if not deep:
        for child in top.iterdir():
            if child.is_dir():
                shutil.chown(child, user, group)
        return
    for dirpath, dirnames, filenames in os.walk(top):
        for name in dirnames + filenames:
            shutil.chown(os.path.join(dirpath, name), user, group)
