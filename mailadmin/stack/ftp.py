"""ProFTPD: free/busy files over FTP on loopback, the directory's accounts logging in with their password.

Every account that may log in over IMAP may log in here (saslauthd's filter: enabled mail accounts), is given
a home of its own under ftp/freebusy/<login> at its first login and is jailed in it. How mod_ldap is set up:
mailadmin/configfiles/proftpd.py. The Configuration menu changes proftpd.conf through render / validate_dir /
reload / smoke.
"""

from __future__ import annotations

import ftplib
import grp
import io
import os
import pwd
import signal
import uuid
from collections.abc import Mapping
from pathlib import Path

from mailadmin.configfiles import atomic_write, store
from mailadmin.configfiles.proftpd import ProftpdParams, effective, generation, render_proftpd_conf, values_in
from mailadmin.configfiles.proftpd import port as conf_port
from mailadmin.stack.base import SASLAUTHD_BIND, Service, greeting, require
from mailadmin.stack.process import StackError, alive, references, run, terminate, wait_until

PROFTPD = "/usr/sbin/proftpd"
MOD_LDAP = Path("/usr/lib/proftpd/mod_ldap.so")
# Every FTP session runs as this user and group: Debian's proftpd-core makes the `ftp` user (no login, no
# shell); its files are nobody else's business.
FILE_OWNER = "ftp"
FILE_GROUP = "nogroup"
DEFAULT_SERVER_NAME = "mailadmin free/busy"
FILES = ("proftpd.conf",)


class Proftpd(Service):
    name = "proftpd"

    @property
    def pidfile(self) -> Path:
        return self.layout.proftpd_pid

    def address(self) -> str:
        return f"ftp://127.0.0.1:{self.port()}"

    def logs(self) -> list[Path]:
        log = self.layout.ftp / "log"
        return [log / "proftpd.log", log / "proftpd.out", log / "ldap.log"]

    def allowed_dirs(self) -> list[str]:
        """Where the menu's PATH values (the homes' prefix) may point."""
        return [str(self.layout.ftp), "/etc/ssl"]

    def config_path(self, file: str) -> Path:
        if file not in FILES:
            raise StackError(f"proftpd: {file!r} is not a file the menu manages ({', '.join(FILES)})")
        return self.layout.ftp / file

    # --- rendering ----------------------------------------------------------------------------------
    def stored(self) -> dict[str, str]:
        """The menu's values for proftpd (mailadmin/configfiles/store.py)."""
        return store.values(self.layout.menu, "proftpd")

    def params(self, settings: Mapping[str, str]) -> ProftpdParams:
        ftp, ports = self.layout.ftp, self.ctx.ports
        try:
            uid, gid = pwd.getpwnam(FILE_OWNER).pw_uid, grp.getgrnam(FILE_GROUP).gr_gid
        except KeyError as exc:
            raise StackError(
                f"proftpd: no user {FILE_OWNER} or group {FILE_GROUP} (proftpd-core makes them)"
            ) from exc
        return ProftpdParams(
            pid_file=self.pidfile,
            scoreboard_file=ftp / "run" / "proftpd.scoreboard",
            delay_table=ftp / "run" / "proftpd.delay",
            system_log=ftp / "log" / "proftpd.log",
            transfer_log=ftp / "log" / "xferlog",
            ldap_log=ftp / "log" / "ldap.log",
            port=ports.ftp,
            passive_ports=ports.ftp_passive_range,
            server_name=DEFAULT_SERVER_NAME,
            ldap_server=self.ctx.ldap_uri,
            # saslauthd's read-only account: it may find an account by uid, nothing more
            bind_dn=self.ctx.service_dn("saslauthd"),
            bind_pw=self.ctx.secrets.get(SASLAUTHD_BIND),
            users_base=f"ou=domains,{self.ctx.base_dn}",
            home_prefix=self.layout.freebusy,
            file_uid=uid,
            file_gid=gid,
            settings=dict(settings),
        )

    def render(self, settings: Mapping[str, str]) -> dict[str, str]:
        """File name -> full text of the files the menu manages."""
        return {"proftpd.conf": render_proftpd_conf(self.params(settings))}

    def defaults(self) -> dict[str, str]:
        """The values proftpd.conf gets when the menu sets none (the renderer's; the password included,
        the menu hides it)."""
        return effective(self.params({}))

    def values_of(self, directory: Path | None) -> dict[str, str]:
        """The menu's parameters as proftpd.conf in `directory` sets them (None: the running one)."""
        try:
            text = ((directory or self.layout.ftp) / "proftpd.conf").read_text(encoding="utf-8")
        except OSError:
            return {}
        return values_in(text)

    # --- the daemon ---------------------------------------------------------------------------------
    def prepare(self) -> None:
        require(PROFTPD, MOD_LDAP)
        ftp = self.layout.ftp
        for sub in (ftp, ftp / "run", ftp / "log", self.layout.freebusy):
            sub.mkdir(parents=True, exist_ok=True)
            sub.chmod(0o755)  # the homes' parent: root's, searchable by the sessions (uid ftp)
        settings = self.stored()
        prefix = settings.get("LDAPGenerateHomedirPrefix")
        if prefix:
            Path(prefix).mkdir(mode=0o755, parents=True, exist_ok=True)
        self._write(self.render(settings)["proftpd.conf"])
        self._test(self.layout.proftpd_conf)

    def _write(self, text: str) -> None:
        # The service account's password is inside: root only (the master reads it as root, SIGHUP too).
        atomic_write(self.layout.proftpd_conf, text, mode=0o640, group="root")

    def launch(self) -> None:
        try:
            run([PROFTPD, "-c", self.layout.proftpd_conf], log=self.logs()[1])
        except StackError as exc:
            raise self.fail(str(exc)) from exc

    def ready(self) -> bool:
        return self._banner().startswith("220")

    def stop(self) -> None:
        """TERM to the master (PID file), then to the sessions it had forked: they outlive the master and
        would keep their home, inside the state dir, busy."""
        pid = self.pid()
        if pid is not None:
            sessions = children(pid)
            terminate(pid)
            for child in sessions:
                if alive(child) and references(child, self.layout.root):
                    terminate(child)
        self.pidfile.unlink(missing_ok=True)

    # --- for the Configuration menu -----------------------------------------------------------------
    def validate_dir(self, staging: Path) -> None:
        """proftpd -t on staging/proftpd.conf."""
        self._test(staging / "proftpd.conf")

    def reload(self) -> None:
        """SIGHUP to the master after the file passes proftpd -t; returns once the greeting carries the new
        file's digest (sessions already open keep the old settings until they end)."""
        pid = self.pid()
        if pid is None:
            raise StackError("proftpd: not running")
        self._test(self.layout.proftpd_conf)
        want = generation(self._live()) or ""
        os.kill(pid, signal.SIGHUP)

        def died() -> str | None:
            return None if self.running() else "the daemon exited while re-reading its configuration"

        wait_until(
            lambda: f"configuration {want}" in self._banner(),
            timeout=self.ctx.config.timeout,
            what="proftpd reload",
            abort=died,
        )

    def smoke(self, login: str | None = None, password: str | None = None) -> str:
        """Connect and read the greeting. Without a login: the LDAP settings of the live file must let the
        service account search the users' base (so logins can work at all). With a login: log in, PWD, STOR
        a small file, RETR it, delete it, QUIT. One line saying what worked; StackError with the server's
        answer when something did not."""
        where = f"127.0.0.1:{self.port()}"
        step = "connect"
        try:
            with ftplib.FTP(timeout=10) as client:  # noqa: S321 - loopback, the service under test
                welcome = client.connect("127.0.0.1", self.port())
                if login is None:
                    client.quit()
                    return f"proftpd answers at {where}: {welcome}; {self._directory_reachable()}"
                step = "login"
                client.login(login, password or "")
                step = "PWD"
                home = client.pwd()
                name = f".mailadmin-smoke-{uuid.uuid4().hex[:12]}.txt"
                data = f"mailadmin smoke test {name}\r\n".encode()
                step = "STOR"
                client.storbinary(f"STOR {name}", io.BytesIO(data))
                step = "RETR"
                got = io.BytesIO()
                client.retrbinary(f"RETR {name}", got.write)
                step = "DELE"
                client.delete(name)
                step = "QUIT"
                client.quit()
        except (*ftplib.all_errors,) as exc:
            raise StackError(f"proftpd: {step} at {where} failed: {exc}") from exc
        if got.getvalue() != data:
            raise StackError(
                f"proftpd: the file read back differs from the one stored ({len(got.getvalue())} bytes)"
            )
        return f"{login} logged in at {where}, home {home}: stored and read back {len(data)} bytes"

    # --- helpers ------------------------------------------------------------------------------------
    def _directory_reachable(self) -> str:
        """Bind as the live file's LDAPBindDN and read its LDAPUsersBase, as mod_ldap will for each login."""
        conf = values_in(self._live())
        uri, dn, base = conf.get("LDAPServer", ""), conf.get("LDAPBindDN", ""), conf.get("LDAPUsersBase", "")
        argv = ["ldapsearch", "-x", "-LLL", "-o", "nettimeout=5", "-l", "5", "-H", uri, "-D", dn]
        # the password on stdin, never on the command line
        argv += ["-y", "/dev/stdin", "-b", base, "-s", "base", "1.1"]
        try:
            run(argv, stdin_text=conf.get("LDAPBindPassword", ""), timeout=15)
        except StackError as exc:
            detail = str(exc).partition("\n")[2].strip().replace("\n", "; ") or str(exc)
            raise StackError(f"proftpd: {dn} cannot read {base} at {uri}: {detail}") from exc
        return f"{dn} reads {base} at {uri}"

    def _live(self) -> str:
        try:
            return self.layout.proftpd_conf.read_text(encoding="utf-8")
        except OSError:
            return ""

    def port(self) -> int:
        """The port the live proftpd.conf names (the menu may have changed the stack's)."""
        return conf_port(self._live()) or self.ctx.ports.ftp

    def _banner(self) -> str:
        return greeting(self.port(), farewell=b"QUIT\r\n").decode(errors="replace").strip()

    def _test(self, conf: Path) -> None:
        """proftpd -t; a refusal raises StackError with ProFTPD's own words."""
        try:
            run([PROFTPD, "-t", "-c", conf])
        except StackError as exc:
            detail = str(exc).partition("\n")[2]
            # "2026-01-01 10:00:00,000 host proftpd[123]: fatal: ..." -> "fatal: ..."
            lines = [
                line.partition("]: ")[2] or line
                for line in detail.splitlines()
                if line.strip() and "Checking syntax" not in line
            ]
            raise StackError(f"proftpd refuses {conf}: {' '.join(lines) or exc}") from exc


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (a master's sessions or workers)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text(encoding="ascii", errors="replace")
        except OSError:
            continue
        if int(stat.rpartition(")")[2].split()[1]) == pid:
            found.append(int(entry))
    return found
