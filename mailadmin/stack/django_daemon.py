"""A daemon of the stack that is one of the console's own `manage.py` commands (mailfilter, policyd).

Each gets an environment built here, not inherited: its own state dir for Django, Postfix's read-only LDAP
bind as its directory account, a throwaway secret key (it signs nothing). It runs as the user who starts the
stack (root here: the project's interpreter lives under /root, which no other account may enter); a production
install runs it as a dedicated user (docs/deploy.md).
"""

from __future__ import annotations

import secrets
import subprocess
import sys
from pathlib import Path

from mailadmin.stack.base import POSTFIX_BIND, Service
from mailadmin.stack.process import StackError

MANAGE_PY = Path(__file__).resolve().parent.parent.parent / "manage.py"


class DjangoDaemon(Service):
    """Subclasses name the command (`name`) and add their arguments and environment."""

    _proc: subprocess.Popen[bytes] | None = None

    @property
    def directory(self) -> Path:
        return self.layout.root / self.name

    @property
    def pidfile(self) -> Path:
        return self.directory / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.directory / f"{self.name}.log"

    def logs(self) -> list[Path]:
        return [self.log_file]

    def extra_args(self) -> list[str]:
        return []

    def extra_env(self) -> dict[str, str]:
        return {}

    def env(self) -> dict[str, str]:
        ctx = self.ctx
        return {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1",
            "MAILADMIN_IGNORE_STACK_ENV": "1",
            "MAILADMIN_VAR_DIR": str(self.directory / "var"),
            "MAILADMIN_SECRET_KEY": secrets.token_urlsafe(40),  # unused: the daemon signs nothing
            "MAILADMIN_JOBS_EAGER": "1",
            "LDAP_URI": ctx.ldap_uri,
            "LDAP_BASE_DN": ctx.base_dn,
            "LDAP_ADMIN_DN": ctx.service_dn("postfix"),
            "LDAP_ADMIN_PASSWORD": ctx.secrets.get(POSTFIX_BIND),
            **self.extra_env(),
        }

    def prepare(self) -> None:
        for d in (self.directory, self.directory / "var"):
            d.mkdir(parents=True, exist_ok=True)
            d.chmod(0o755)

    def launch(self) -> None:
        argv = [sys.executable, str(MANAGE_PY), self.name, "--pidfile", str(self.pidfile), *self.extra_args()]
        with open(self.log_file, "ab") as log:
            try:
                self._proc = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self.directory,
                    env=self.env(),
                    start_new_session=True,  # a daemon: not killed with the terminal that started the stack
                )
            except OSError as exc:
                raise StackError(f"cannot start {argv[1]} {self.name}: {exc}") from exc

    def died(self) -> str | None:
        if self._proc is not None and self._proc.poll() is not None:
            return f"manage.py {self.name} exited with {self._proc.returncode}"
        return super().died()

    def stop(self) -> None:
        super().stop()
        if self._proc is not None:
            self._proc.poll()  # reap our child, if it was ours
