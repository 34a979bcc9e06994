"""slapd (the directory) and saslauthd (IMAP/SMTP logins checked against it)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from mailadmin.configfiles import atomic_write
from mailadmin.configfiles.saslauthd import SaslauthdParams, render_saslauthd_conf
from mailadmin.configfiles.slapd import ENTRY_DNS, SlapdParams, parse_config_ldif, render_config_ldif
from mailadmin.directory import acl
from mailadmin.directory.dit import is_inside
from mailadmin.directory.skeleton import skeleton_ldif
from mailadmin.stack.base import MANAGER, POSTFIX_BIND, SASLAUTHD_BIND, Service, require, unix_listening
from mailadmin.stack.config import PROJECT_SCHEMA
from mailadmin.stack.process import run
from mailadmin.stack.slapd_backup import SlapdBackup
from mailadmin.stack.slapd_menu import SlapdMenu


class Slapd(SlapdMenu, SlapdBackup, Service):
    name = "slapd"

    @property
    def pidfile(self) -> Path:
        return self.layout.slapd_pid

    def address(self) -> str:
        return self.ctx.ldap_uri

    def logs(self) -> list[Path]:
        return [self.layout.ldap / "slapd.log"]

    def prepare(self) -> None:
        require(
            "/usr/sbin/slapd",
            "/usr/sbin/slapadd",
            "/usr/sbin/slapcat",
            "/usr/sbin/slapindex",
            "slappasswd",
            "ldapwhoami",
            "ldapadd",
        )
        ldap = self.layout.ldap
        if not self.swapping:  # a whole restore that never committed leaves the old data live
            self.undo_unfinished_swap()
        for sub in ("run", "data"):
            (ldap / sub).mkdir(parents=True, exist_ok=True)
        ldap.chmod(0o700)  # holds the whole directory and the config with the root password hash
        params = self.params()
        # cn=config is rebuilt from the rendered LDIF on every start, so a changed renderer always applies;
        # the data (mdb) stays. The Configuration menu's values (slapd_menu.py) are part of the rendering, so
        # what the menu changed live survives; edits of cn=config made any other way do not.
        self._build_config(params)
        marker = ldap / ".initialised"
        if not marker.exists():
            for stale in (ldap / "data").iterdir():
                stale.unlink()
            skeleton = atomic_write(
                ldap / "skeleton.ldif",
                skeleton_ldif(
                    self.ctx.base_dn,
                    postfix_pw_hash=self.ctx.secrets.ssha(POSTFIX_BIND),
                    saslauthd_pw_hash=self.ctx.secrets.ssha(SASLAUTHD_BIND),
                ),
                mode=0o600,
            )
            # Offline and quick (-q): slapd is not running yet.
            run(["/usr/sbin/slapadd", "-q", "-F", self.slapd_d, "-b", self.ctx.base_dn, "-l", skeleton])
            marker.touch()
        else:
            self._reindex_if_changed(params)
            # Private containers (ACC-03): their access rules come from the data, so read the flags offline
            # and build cn=config once more with the rules in it. slapd never serves without them, not even
            # for the moment between its start and a later rewrite (docs/decisions/0004).
            private = self._private_containers()
            if private:
                self._build_config(replace(params, private_containers=private))
        self._write_index_record(params)
        self.layout.ldapi_socket.unlink(missing_ok=True)

    @property
    def slapd_d(self) -> Path:
        return self.layout.ldap / "slapd.d"

    @property
    def config_ldif(self) -> Path:
        return self.layout.ldap / "config.ldif"

    def params(
        self, settings: Mapping[str, str] | None = None, *, private_containers: Sequence[str] = ()
    ) -> SlapdParams:
        """`settings`: the menu's values (mailadmin/stack/slapd_menu.py); None: the stored ones."""
        ldap = self.layout.ldap
        menu = self.stored() if settings is None else settings
        return SlapdParams(
            base_dn=self.ctx.base_dn,
            root_dn=self.ctx.manager_dn,
            root_pw_hash=self._root_pw_hash(),
            run_dir=ldap / "run",
            db_dir=ldap / "data",
            project_schema=PROJECT_SCHEMA,
            service_dns=(self.ctx.service_dn("postfix"), self.ctx.service_dn("saslauthd")),
            nosync=self.ctx.config.nosync,
            private_containers=tuple(private_containers),
            menu=dict(menu),
            menu_targets=self.menu_targets(),
        )

    def _root_pw_hash(self) -> str:
        """The manager's {SSHA} hash in the last config.ldif when it still matches the secret, else a new
        one: one salt per secret keeps the rendered LDIF the same from one rendering to the next (the menu
        compares renderings, and shows a diff of the file)."""
        secret = self.ctx.secrets.get(MANAGER)
        try:
            entries = parse_config_ldif(self.config_ldif.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            entries = {}
        for value in entries.get(ENTRY_DNS["mdb"], {}).get("olcRootPW", []):
            if _ssha_matches(value, secret):
                return value
        return self.ctx.secrets.ssha(MANAGER)

    def _build_config(self, params: SlapdParams) -> None:
        config_ldif = atomic_write(self.config_ldif, render_config_ldif(params), mode=0o600)
        shutil.rmtree(self.slapd_d, ignore_errors=True)
        self.slapd_d.mkdir(mode=0o700)
        run(["/usr/sbin/slapadd", "-n0", "-F", self.slapd_d, "-l", config_ldif])

    def _private_containers(self) -> tuple[str, ...]:
        """The flagged containers, read with slapcat (about 0.2 s for 100k entries), spelled for the rules.

        Not `slapcat -s ou=domains,...`: slapcat 2.5.13 crashes (SIGSEGV) with -s; the subtree is checked
        here instead, and a flagged entry outside ou=domains (never written by the console) is ignored.
        """
        domains = f"ou=domains,{self.ctx.base_dn}"
        ldif = run(
            [
                "/usr/sbin/slapcat",
                "-F",
                self.slapd_d,
                "-b",
                self.ctx.base_dn,
                "-a",
                acl.PRIVATE_FILTER,
                "-o",
                "ldif_wrap=no",
            ]
        )
        found = [dn for dn in acl.private_containers_from_ldif(ldif) if is_inside(dn, domains, strict=True)]
        return tuple(acl.acl_dn(dn, domains_dn=domains) for dn in found)

    def _index_record(self) -> Path:
        return self.layout.ldap / "indexes.txt"

    def _index_lines(self, params: SlapdParams) -> str:
        return "".join(f"{attrs} {kinds}\n" for attrs, kinds in params.indexes)

    def _reindex_if_changed(self, params: SlapdParams) -> None:
        """slapd builds an index added through cn=config itself, but not one that appears in a config
        rebuilt offline: the existing entries would be missing from it and searches on the attribute would
        silently miss them. So when the index list changed since the last start, slapindex rebuilds."""
        record = self._index_record()
        if record.exists() and record.read_text(encoding="utf-8") == self._index_lines(params):
            return
        run(["/usr/sbin/slapindex", "-q", "-F", self.slapd_d, "-b", self.ctx.base_dn], timeout=3600)

    def _write_index_record(self, params: SlapdParams) -> None:
        atomic_write(self._index_record(), self._index_lines(params), mode=0o600)

    def launch(self) -> None:
        urls = f"ldap://127.0.0.1:{self.ctx.ports.ldap}/ {self.layout.ldapi_uri}"
        try:
            run(["/usr/sbin/slapd", "-F", self.layout.ldap / "slapd.d", "-h", urls], log=self.logs()[0])
        except Exception as exc:
            raise self.fail(str(exc)) from exc

    def ready(self) -> bool:
        # A simple bind as the postfix service account proves: listening, database open, skeleton loaded.
        return self.ctx.ldap_as_postfix("ldapwhoami", timeout=5).returncode == 0


def _ssha_matches(value: str, secret: str) -> bool:
    if not value.startswith("{SSHA}"):
        return False
    try:
        raw = base64.b64decode(value[6:], validate=True)
    except ValueError:
        return False
    digest, salt = raw[:20], raw[20:]
    # SHA-1 is what {SSHA} is (slapd's scheme); this only recognises the hash the stack wrote itself
    computed = hashlib.sha1(secret.encode() + salt).digest()  # noqa: S324
    return len(raw) > 20 and hmac.compare_digest(computed, digest)


class Saslauthd(Service):
    name = "saslauthd"

    def syslog_marker(self) -> str:
        return "saslauthd["

    @property
    def pidfile(self) -> Path:
        return self.layout.saslauthd_pid

    def address(self) -> str:
        return str(self.layout.saslauthd_mux)

    def logs(self) -> list[Path]:
        return [self.layout.saslauthd / "saslauthd.log", self.layout.syslog_file]

    def prepare(self) -> None:
        require("/usr/sbin/saslauthd", "testsaslauthd")
        directory = self.layout.saslauthd
        directory.mkdir(exist_ok=True)
        # Postfix smtpd (user postfix) and Cyrus imapd (user cyrus) must reach the mux socket.
        directory.chmod(0o755)
        conf = render_saslauthd_conf(
            SaslauthdParams(
                server_uri=self.ctx.ldap_uri + "/",
                bind_dn=self.ctx.service_dn("saslauthd"),
                bind_pw=self.ctx.secrets.get(SASLAUTHD_BIND),
                search_base=self.ctx.base_dn,
            )
        )
        atomic_write(directory / "saslauthd.conf", conf, mode=0o600)

    def launch(self) -> None:
        d = self.layout.saslauthd
        argv: list[str | Path] = [
            "/usr/sbin/saslauthd",
            "-a",
            "ldap",
            "-O",
            d / "saslauthd.conf",
            "-m",
            d,
            "-n",
            "2",
        ]
        try:
            run(argv, log=d / "saslauthd.log")
        except Exception as exc:
            raise self.fail(str(exc)) from exc

    def ready(self) -> bool:
        return self.running() and unix_listening(self.layout.saslauthd_mux)
