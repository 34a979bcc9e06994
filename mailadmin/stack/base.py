"""What every daemon of the stack has in common, plus the stack's secrets and readiness probes."""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import shutil
import socket
import string
import subprocess
from dataclasses import dataclass
from pathlib import Path

from mailadmin.stack.config import Layout, Ports, StackConfig
from mailadmin.stack.devlog import sink_file
from mailadmin.stack.process import (
    StackError,
    child_env,
    owned_pid,
    read_pid,
    run,
    tail,
    terminate,
    wait_until,
)

MANAGER = "ldap-manager"
POSTFIX_BIND = "ldap-postfix"
SASLAUTHD_BIND = "ldap-saslauthd"
CYRUS_ADMIN = "cyrus-admin"
REDIS_PASSWORD = "redis"  # noqa: S105 — the name of a secret's file
_ALPHABET = string.ascii_letters + string.digits


class Secrets:
    """Generated once per state dir and kept (0600) so restarts reuse them. Letters and digits only: the
    values land in half a dozen file formats and command lines, none of which then needs quoting."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, name: str) -> Path:
        return self.directory / name

    def get(self, name: str) -> str:
        self.directory.mkdir(mode=0o700, exist_ok=True)
        self.directory.chmod(0o700)
        path = self.path(name)
        if not path.exists():
            value = "".join(secrets.choice(_ALPHABET) for _ in range(24))
            path.touch(mode=0o600)
            # No trailing newline: `ldapwhoami -y FILE` and `slappasswd -T FILE` use the bytes as they are.
            path.write_text(value, encoding="ascii")
        return path.read_text(encoding="ascii").strip()

    def ssha(self, name: str) -> str:
        """{SSHA} hash of a secret, made by slapd's own tool, reading the secret from its file (not argv)."""
        self.get(name)
        return run(["slappasswd", "-h", "{SSHA}", "-n", "-T", self.path(name)]).strip()


@dataclass
class Context:
    config: StackConfig
    layout: Layout
    ports: Ports
    secrets: Secrets

    @property
    def base_dn(self) -> str:
        return self.config.base_dn

    @property
    def manager_dn(self) -> str:
        return f"cn=manager,{self.config.base_dn}"

    def service_dn(self, name: str) -> str:
        return f"cn={name},ou=services,{self.config.base_dn}"

    @property
    def syslog_tag(self) -> str:
        """Unique per state dir, so a shared /dev/log sink's file can be filtered for this stack's lines."""
        return "cyrus-" + hashlib.sha1(str(self.layout.root).encode(), usedforsecurity=False).hexdigest()[:8]

    @property
    def ldap_uri(self) -> str:
        return f"ldap://127.0.0.1:{self.ports.ldap}"

    def ldap_as_postfix(self, tool: str, *args: str, timeout: float = 10) -> subprocess.CompletedProcess[str]:
        """`ldapsearch`/`ldapwhoami` with a simple bind as Postfix's read-only service account over TCP: what
        the readiness probe and the smoke tests prove the directory with (its password from its 0600 file)."""
        argv = [tool, "-x", "-H", self.ldap_uri, "-D", self.service_dn("postfix")]
        argv += ["-y", str(self.secrets.path(POSTFIX_BIND)), *args]
        return subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            env=child_env(),
            timeout=timeout,
            check=False,
        )

    def redis_url(self, db: int = 0) -> str:
        """Redis requires a password (AUTH) even on loopback: any local process could otherwise read the
        cache or put tasks in Celery's queue. Letters and digits only: no quoting inside the URL."""
        return f"redis://:{self.secrets.get(REDIS_PASSWORD)}@127.0.0.1:{self.ports.redis}/{db}"


class Service:
    """One daemon: prepare (initialise once, render config every time), launch, wait, stop by PID file."""

    name = "?"

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.layout = ctx.layout

    # --- overridden per daemon -----------------------------------------------------------------------
    @property
    def pidfile(self) -> Path:
        raise NotImplementedError

    def address(self) -> str:
        raise NotImplementedError

    def logs(self) -> list[Path]:
        return []

    def prepare(self) -> None:
        """Create what is missing (first start only) and re-render the configuration."""

    def launch(self) -> None:
        raise NotImplementedError

    def ready(self) -> bool:
        """A real answer from the daemon (a banner, a bind, a PONG), not just a PID."""
        raise NotImplementedError

    def stop(self) -> None:
        pid = self.pid()
        if pid is not None:
            terminate(pid)
        self.pidfile.unlink(missing_ok=True)

    # --- shared --------------------------------------------------------------------------------------
    def pid(self) -> int | None:
        return owned_pid(self.pidfile, self.layout.root)

    def running(self) -> bool:
        return self.pid() is not None

    def clear_stale_pidfile(self) -> None:
        if read_pid(self.pidfile) is not None and not self.running():
            self.pidfile.unlink(missing_ok=True)

    def wait_ready(self, timeout: float) -> None:
        wait_until(self.ready, timeout=timeout, what=f"{self.name} at {self.address()}", abort=self.died)

    def died(self) -> str | None:
        """Reason to stop waiting early: the daemon wrote its PID file and then exited."""
        if read_pid(self.pidfile) is not None and not self.running():
            return "the daemon exited during start-up"
        return None

    def syslog_marker(self) -> str | None:
        """What marks this daemon's lines in a syslog file that several stacks may share."""
        return None

    def log_tail(self) -> str:
        parts = []
        logs = self.logs()
        if self.layout.syslog_file in logs and not self.layout.syslog_pid.exists():
            # /dev/log belongs to another listener: its file (if it is another stack's sink) has our lines.
            other = sink_file(Path("/dev/log"))
            logs = [log for log in logs if log != self.layout.syslog_file] + ([other] if other else [])
        for log in logs:
            syslog = log == self.layout.syslog_file or log.name == "messages"
            text = tail(log, containing=self.syslog_marker() if syslog else None)
            if text:
                parts.append(f"--- {log} ---\n{text}")
        return "\n".join(parts)

    def fail(self, message: str) -> StackError:
        detail = self.log_tail()
        return StackError(f"{self.name}: {message}" + (f"\n{detail}" if detail else ""))


def require(*binaries: str | Path) -> None:
    missing = [str(b) for b in binaries if not (Path(b).is_file() if "/" in str(b) else shutil.which(str(b)))]
    if missing:
        raise StackError(
            "missing programs: "
            + ", ".join(missing)
            + " (scripts/install-debs.sh installs the Debian packages)"
        )


def greeting(port: int, *, timeout: float = 1.0, farewell: bytes = b"") -> bytes:
    """The first line a daemon on 127.0.0.1:port sends; `farewell` (e.g. QUIT) is sent before closing."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        data = b""
        while b"\n" not in data and len(data) < 1024:
            chunk = sock.recv(1024)
            if not chunk:
                break
            data += chunk
        if farewell:
            with contextlib.suppress(OSError):
                sock.sendall(farewell)
    return data


def banner(port: int, prefix: bytes, *, timeout: float = 1.0) -> bool:
    """Connect to 127.0.0.1:port and check the greeting (`* OK` for IMAP, `220` for SMTP/LMTP)."""
    return greeting(port, timeout=timeout).startswith(prefix)


def unix_listening(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        try:
            sock.connect(str(path))
        except OSError:
            return False
    return True


def tcp_listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False
