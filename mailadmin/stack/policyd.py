"""The SMTP relay rules' policy service (`manage.py policyd`, DLV-04) as a daemon of the stack.

Started after Redis (it reads the rules the console publishes there); Postfix's read-only LDAP bind tells it
which login owns a MAIL FROM address (AUTH_MISMATCH). When the starter names a console database (DATABASE_URL
or MAILADMIN_VAR_DIR, as `make run` does), it may read the rules from there after Redis lost them (a restart);
in tests it never does (each test publishes its own rules). How it is started and stopped:
mailadmin/stack/django_daemon.py.
"""

from __future__ import annotations

import os
import socket

from mailadmin.stack.django_daemon import DjangoDaemon

PROBE = b"request=smtpd_access_policy\nprotocol_state=RCPT\npolicy_context=recipient\n\n"


class Policyd(DjangoDaemon):
    name = "policyd"

    def address(self) -> str:
        return f"policy://127.0.0.1:{self.ctx.ports.policyd}"

    def use_db(self) -> bool:
        return bool(os.environ.get("DATABASE_URL") or os.environ.get("MAILADMIN_VAR_DIR"))

    def extra_args(self) -> list[str]:
        return ["--port", str(self.ctx.ports.policyd), *([] if self.use_db() else ["--no-db"])]

    def extra_env(self) -> dict[str, str]:
        env = {
            "REDIS_URL": self.ctx.redis_url(),
            "POLICYD_PORT": str(self.ctx.ports.policyd),
        }
        if self.use_db():
            for key in ("DATABASE_URL", "MAILADMIN_VAR_DIR"):
                if os.environ.get(key):
                    env[key] = os.environ[key]
        return env

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
