"""The SMTP relay rules' policy service (`manage.py policyd`, DLV-04) as a daemon of the stack.

Started after Redis (it reads the rules the console publishes there) and with an environment built here,
not inherited: its own state dir for Django, Postfix's read-only LDAP bind as its directory account (to tell
which login owns a MAIL FROM address, for AUTH_MISMATCH). It runs as the stack's user (root here: the
project's interpreter lives under /root, which no other account may enter), needing only loopback sockets.
When the starter names a console database (DATABASE_URL or
MAILADMIN_VAR_DIR, as `make run` does), it may read the rules from there after Redis lost them (a restart);
in tests it never does (each test publishes its own rules).
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
from pathlib import Path

from mailadmin.stack.base import POSTFIX_BIND, Service
from mailadmin.stack.process import StackError

MANAGE_PY = Path(__file__).resolve().parent.parent.parent / "manage.py"
PROBE = b"request=smtpd_access_policy\nprotocol_state=RCPT\npolicy_context=recipient\n\n"


class Policyd(Service):
    name = "policyd"
    _proc: subprocess.Popen[bytes] | None = None

    @property
    def directory(self) -> Path:
        return self.layout.root / "policyd"

    @property
    def pidfile(self) -> Path:
        return self.directory / "policyd.pid"

    @property
    def log_file(self) -> Path:
        return self.directory / "policyd.log"

    def address(self) -> str:
        return f"policy://127.0.0.1:{self.ctx.ports.policyd}"

    def logs(self) -> list[Path]:
        return [self.log_file]

    def use_db(self) -> bool:
        return bool(os.environ.get("DATABASE_URL") or os.environ.get("MAILADMIN_VAR_DIR"))

    def env(self) -> dict[str, str]:
        ctx = self.ctx
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1",
            "MAILADMIN_IGNORE_STACK_ENV": "1",
            "MAILADMIN_VAR_DIR": str(self.directory / "var"),
            "MAILADMIN_SECRET_KEY": secrets.token_urlsafe(40),  # unused: the service signs nothing
            "MAILADMIN_JOBS_EAGER": "1",
            "REDIS_URL": f"redis://127.0.0.1:{ctx.ports.redis}/0",
            "LDAP_URI": ctx.ldap_uri,
            "LDAP_BASE_DN": ctx.base_dn,
            "LDAP_ADMIN_DN": ctx.service_dn("postfix"),
            "LDAP_ADMIN_PASSWORD": ctx.secrets.get(POSTFIX_BIND),
            "POLICYD_PORT": str(ctx.ports.policyd),
        }
        if self.use_db():
            for key in ("DATABASE_URL", "MAILADMIN_VAR_DIR"):
                if os.environ.get(key):
                    env[key] = os.environ[key]
        return env

    def prepare(self) -> None:
        for d in (self.directory, self.directory / "var"):
            d.mkdir(parents=True, exist_ok=True)
            d.chmod(0o755)

    def launch(self) -> None:
        argv = [sys.executable, str(MANAGE_PY), "policyd", "--pidfile", str(self.pidfile)]
        argv += ["--port", str(self.ctx.ports.policyd)]
        if not self.use_db():
            argv.append("--no-db")
        with open(self.log_file, "ab") as log:
            try:
                self._proc = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self.directory,
                    env=self.env(),
                    start_new_session=True,
                )
            except OSError as exc:
                raise StackError(f"cannot start {argv[1]} policyd: {exc}") from exc

    def ready(self) -> bool:
        """A real answer to a policy request (an empty rule list answers DUNNO)."""
        if not self.pidfile.exists():
            return False
        with socket.create_connection(("127.0.0.1", self.ctx.ports.policyd), timeout=2.0) as sock:
            sock.settimeout(2.0)
            sock.sendall(PROBE)
            data = b""
            while not data.endswith(b"\n\n") and len(data) < 1024:
                chunk = sock.recv(1024)
                if not chunk:
                    break
                data += chunk
        return data.startswith(b"action=")

    def died(self) -> str | None:
        if self._proc is not None and self._proc.poll() is not None:
            return f"manage.py policyd exited with {self._proc.returncode}"
        return super().died()

    def stop(self) -> None:
        super().stop()
        if self._proc is not None:
            self._proc.poll()
