"""Postfix (SMTP in, LDAP lookups, LMTP out) and Cyrus IMAP (the mail store)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from mailadmin import postfix
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
from mailadmin.configfiles.postfix import (
    ContentFilter,
    PostfixParams,
    RelayPolicy,
    render_main_cf,
    render_master_cf,
)
from mailadmin.configfiles.postfix_maps import PostfixMaps, install_tables
from mailadmin.configfiles.postfix_tables import LdapTable
from mailadmin.configfiles.saslauthd import render_sasl_app_conf
from mailadmin.stack.base import CYRUS_ADMIN, POSTFIX_BIND, SASLAUTHD_BIND, Service, banner, require
from mailadmin.stack.process import run, terminate, wait_gone


class Postfix(Service):
    name = "postfix"

    @property
    def pidfile(self) -> Path:
        return self.layout.postfix_pid

    @property
    def etc(self) -> Path:
        return self.layout.postfix_etc

    def address(self) -> str:
        return f"smtp://127.0.0.1:{self.ctx.ports.smtp} submission://127.0.0.1:{self.ctx.ports.submission}"

    def logs(self) -> list[Path]:
        return [self.layout.maillog]

    def maps(self) -> PostfixMaps:
        """The ldap: tables of the directory contract (mailadmin/configfiles/contract.py), in etc/."""
        return PostfixMaps(
            server_uri=self.ctx.ldap_uri,
            base_dn=self.ctx.base_dn,
            bind_dn=self.ctx.service_dn("postfix"),
            bind_pw=self.ctx.secrets.get(POSTFIX_BIND),
            mailbox_domain=self.ctx.config.mailbox_domain,
            table_dir=self.etc,
        )

    def tables(self) -> list[LdapTable]:
        return self.maps().tables()

    def table(self, name: str) -> str:
        return self.maps().ref(name)

    def params(self) -> PostfixParams:
        p, ports = self.layout.postfix, self.ctx.ports
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
            **self.maps().lookup_tables(),
            # every message through the disclaimer filter (DLV-03, mailadmin/stack/mailfilter.py)
            content_filter=ContentFilter(filter_port=ports.mailfilter, reinject_port=ports.reinject),
            # the SMTP relay rules (DLV-04, mailadmin/stack/policyd.py): asked first, 451 while it is down
            relay_policy=RelayPolicy(port=ports.policyd),
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
        # backdate: a main.cf younger than 2 s makes every Postfix program nap until it is older
        atomic_write(self.etc / "main.cf", render_main_cf(params), backdate=3)
        atomic_write(self.etc / "master.cf", render_master_cf(params), backdate=3)
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


class Cyrus(Service):
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

    def params(self) -> CyrusParams:
        c = self.layout.cyrus
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
