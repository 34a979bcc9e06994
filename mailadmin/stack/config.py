"""What a stack is made of: its settings, its ports, and where each file lives in the state dir."""

from __future__ import annotations

import json
import os
import socket
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from mailadmin.stack.process import StackError

PROJECT_SCHEMA = Path(__file__).resolve().parent.parent / "directory" / "schema" / "mailadmin.ldif"


@dataclass(frozen=True)
class Ports:
    ldap: int = 10389
    smtp: int = 10025
    submission: int = 10587
    imap: int = 10143
    lmtp: int = 10024
    redis: int = 16379
    postgres: int = 15432
    # Nothing listens here: remote mail defers at once with "connection refused" and stays in the queue.
    relay: int = 10029
    # The disclaimer filter (manage.py mailfilter) and Postfix's second smtpd it re-injects into (DLV-03).
    mailfilter: int = 10030
    reinject: int = 10031
    # The SMTP relay rules' policy service (manage.py policyd, DLV-04).
    policyd: int = 10040
    # nginx: HTTPS in front of the console (mailadmin/stack/web.py).
    https: int = 10443
    # ProFTPD: free/busy files over FTP with directory logins (mailadmin/stack/ftp.py); passive data
    # connections use FTP_PASSIVE_COUNT ports from ftp_passive on.
    ftp: int = 10021
    ftp_passive: int = 10050
    # The content filter (CFG-03, mailadmin/stack/contentfilter.py): amavisd takes mail from Postfix on
    # `amavis` and hands it back to Postfix's smtpd on `amavis_reinject`; clamd answers amavis on `clamd`.
    amavis: int = 10032
    amavis_reinject: int = 10033
    clamd: int = 10034

    def listening(self) -> dict[str, int]:
        """The ports our daemons bind (the relay port is meant to stay dead; the passive FTP ports are bound
        only for a transfer)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("relay", "ftp_passive")}

    @property
    def ftp_passive_range(self) -> tuple[int, int]:
        """First and last passive FTP port (ProFTPD's PassivePorts)."""
        return self.ftp_passive, self.ftp_passive + FTP_PASSIVE_COUNT - 1

    @classmethod
    def auto(cls) -> Ports:
        """Free loopback ports from the kernel. All sockets stay open until every port is chosen, so they
        are distinct; another program may still take one before the daemons bind it (start() checks)."""
        socks: list[socket.socket] = []
        try:
            chosen: dict[str, int] = {}
            for f in fields(cls):
                if f.name == "ftp_passive":
                    continue
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.bind(("127.0.0.1", 0))
                socks.append(sock)
                chosen[f.name] = sock.getsockname()[1]
            chosen["ftp_passive"] = _free_block(FTP_PASSIVE_COUNT, socks)
            return cls(**chosen)
        finally:
            for sock in socks:
                sock.close()


# A handful of passive FTP ports: the stack's FTP serves a few free/busy uploads at a time.
FTP_PASSIVE_COUNT = 8


def _free_block(count: int, socks: list[socket.socket]) -> int:
    """The first of `count` consecutive free loopback ports. Each is held open in `socks` (closed by the
    caller) so that no other port chosen in the same call lands inside the block."""
    for _ in range(64):
        first = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        first.bind(("127.0.0.1", 0))
        base = first.getsockname()[1]
        block = [first]
        try:
            for port in range(base + 1, base + count):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                block.append(sock)
                sock.bind(("127.0.0.1", port))  # OSError: taken (or past 65535); try another base
        except (OSError, OverflowError):
            for sock in block:
                sock.close()
            continue
        socks.extend(block)
        return base
    raise StackError(f"no {count} consecutive free loopback ports for passive FTP")


def port_busy(port: int) -> bool:
    """Would a daemon fail to bind 127.0.0.1:port? SO_REUSEADDR as the daemons use it, so a TIME_WAIT
    leftover of an earlier run does not count as busy."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


@dataclass(frozen=True)
class StackConfig:
    state_dir: Path
    ports: Literal["default", "auto"] | Ports = "default"
    base_dn: str = "dc=mailadmin"
    mailbox_domain: str = "mailbox.internal"
    # Test/dev speed-up: slapd's mdb and PostgreSQL skip fsync (about 9x faster LDAP writes here). A crash of
    # the machine can lose the last writes; set False for data you care about.
    nosync: bool = True
    # Cyrus delete_mode: "immediate" frees a deleted mailbox's name at once (what tests want); "delayed"
    # keeps it as DELETED.* for recovery, like a production server.
    delete_mode: Literal["immediate", "delayed"] = "immediate"
    cyrus_servername: str = "imap.mailadmin.internal"
    cyrus_admin: str = "cyrus"
    timeout: float = 30.0
    cyrus_bin_dir: Path = Path("/usr/lib/cyrus/bin")
    pg_bin_dir: Path | None = None  # newest /usr/lib/postgresql/*/bin when None


@dataclass(frozen=True)
class Layout:
    """Every path of a state dir in one place, so start, stop and status agree on them."""

    root: Path

    @property
    def secrets(self) -> Path:
        return self.root / "secrets"

    @property
    def ldap(self) -> Path:
        return self.root / "ldap"

    @property
    def slapd_pid(self) -> Path:
        return self.ldap / "run" / "slapd.pid"

    @property
    def ldapi_socket(self) -> Path:
        return self.ldap / "run" / "ldapi"

    @property
    def ldapi_uri(self) -> str:
        return "ldapi://" + quote(str(self.ldapi_socket), safe="")

    @property
    def saslauthd(self) -> Path:
        return self.root / "saslauthd"

    @property
    def saslauthd_pid(self) -> Path:
        return self.saslauthd / "saslauthd.pid"

    @property
    def saslauthd_mux(self) -> Path:
        return self.saslauthd / "mux"

    @property
    def postfix(self) -> Path:
        return self.root / "postfix"

    @property
    def postfix_etc(self) -> Path:
        return self.postfix / "etc"

    @property
    def postfix_pid(self) -> Path:
        return self.postfix / "spool" / "pid" / "master.pid"

    @property
    def maillog(self) -> Path:
        return self.postfix / "log" / "maillog"

    @property
    def cyrus(self) -> Path:
        return self.root / "cyrus"

    @property
    def imapd_conf(self) -> Path:
        return self.cyrus / "etc" / "imapd.conf"

    @property
    def cyrus_pid(self) -> Path:
        return self.cyrus / "run" / "master.pid"

    @property
    def redis(self) -> Path:
        return self.root / "redis"

    @property
    def redis_pid(self) -> Path:
        return self.redis / "redis.pid"

    @property
    def pg(self) -> Path:
        return self.root / "pg"

    @property
    def pg_data(self) -> Path:
        return self.pg / "data"

    @property
    def pg_pid(self) -> Path:
        return self.pg_data / "postmaster.pid"

    @property
    def web(self) -> Path:
        """nginx: its configuration, TLS certificate, logs, temp files and the gunicorn workers file."""
        return self.root / "web"

    @property
    def nginx_conf(self) -> Path:
        return self.web / "nginx.conf"

    @property
    def nginx_pid(self) -> Path:
        return self.web / "run" / "nginx.pid"

    @property
    def gunicorn_env(self) -> Path:
        """GUNICORN_WORKERS=N, from the menu's gunicorn_workers; scripts/run.sh reads it."""
        return self.web / "gunicorn.env"

    @property
    def tls(self) -> Path:
        """The self-signed certificates nginx serves, one pair per server name (keys 0600)."""
        return self.web / "tls"

    @property
    def ftp(self) -> Path:
        return self.root / "ftp"

    @property
    def proftpd_conf(self) -> Path:
        return self.ftp / "proftpd.conf"

    @property
    def proftpd_pid(self) -> Path:
        return self.ftp / "run" / "proftpd.pid"

    @property
    def freebusy(self) -> Path:
        """The FTP users' homes, one per login, made by ProFTPD at the first login (each is jailed in it)."""
        return self.ftp / "freebusy"

    @property
    def clamav(self) -> Path:
        """clamd: its configuration, the shipped signature database (db/), log, PID file and temp files."""
        return self.root / "clamav"

    @property
    def clamd_pid(self) -> Path:
        return self.clamav / "clamd.pid"

    @property
    def amavis(self) -> Path:
        return self.root / "amavis"

    @property
    def amavis_etc(self) -> Path:
        """amavisd.conf and the local domains file: root's, never writable by amavis (amavisd refuses it)."""
        return self.amavis / "etc"

    @property
    def amavis_home(self) -> Path:
        """amavis's $MYHOME, owned by amavis: temp dirs, SpamAssassin's home, the PID and lock files."""
        return self.amavis / "home"

    @property
    def amavis_pid(self) -> Path:
        return self.amavis_home / "amavisd.pid"

    @property
    def amavis_log(self) -> Path:
        return self.amavis / "log" / "amavis.log"

    @property
    def quarantine(self) -> Path:
        """Where amavis keeps the quarantined mail, one folder per kind (named in the Content filter page)."""
        return self.amavis / "quarantine"

    @property
    def syslog(self) -> Path:
        return self.root / "syslog"

    @property
    def syslog_pid(self) -> Path:
        return self.syslog / "devlog.pid"

    @property
    def syslog_file(self) -> Path:
        return self.syslog / "messages"

    @property
    def env_file(self) -> Path:
        return self.root / "stack.env"

    @property
    def ports_file(self) -> Path:
        return self.root / "ports.json"

    @property
    def config_file(self) -> Path:
        """The StackConfig of the last start, so the console can rebuild the same renderers (stack.json)."""
        return self.root / "stack.json"

    @property
    def menu(self) -> Path:
        """The Configuration menu's stored values, one JSON file per service (mailadmin/configfiles/store.py):
        the daemons' files are rendered from them at every start and at every change made in the menu."""
        return self.root / "config"


def save_ports(layout: Layout, ports: Ports) -> None:
    layout.ports_file.write_text(json.dumps(asdict(ports)) + "\n", encoding="utf-8")


def save_config(layout: Layout, config: StackConfig) -> None:
    data = {f.name: getattr(config, f.name) for f in fields(config) if f.name not in ("state_dir", "ports")}
    text = json.dumps({k: str(val) if isinstance(val, Path) else val for k, val in data.items()}, indent=1)
    layout.config_file.write_text(text + "\n", encoding="utf-8")


def load_config(layout: Layout) -> StackConfig:
    """The StackConfig saved by the last start (defaults where none was saved), ports from ports.json."""
    try:
        data = json.loads(layout.config_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    known = {f.name: f for f in fields(StackConfig)}
    kwargs: dict[str, Any] = {}
    for key, val in data.items():
        if key in known and key not in ("state_dir", "ports"):
            kwargs[key] = Path(val) if key.endswith("_dir") and val is not None else val
    return StackConfig(state_dir=layout.root, ports=load_ports(layout) or "default", **kwargs)


def load_ports(layout: Layout) -> Ports | None:
    try:
        return Ports(**json.loads(layout.ports_file.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def check_socket_paths(layout: Layout) -> None:
    """AF_UNIX paths are limited to 107 bytes; a deep temp dir breaks slapd/postgres with obscure errors."""
    longest = max(
        (
            layout.ldapi_socket,
            layout.saslauthd_mux,
            layout.cyrus / "run" / "socket" / "notify",
            layout.pg / ".s.PGSQL.65535",
        ),
        key=lambda p: len(os.fsencode(p)),
    )
    if len(os.fsencode(longest)) > 107:
        raise StackError(f"state dir too deep: socket path {longest} exceeds 107 bytes")
