"""The disclaimer content filter (`manage.py mailfilter`, DLV-03) as a daemon of the stack.

It gets an environment built here rather than inherited: its own state dir for Django, Postfix's read-only
LDAP bind as its directory account, no database, no Redis. It reads the disclaimers from the file the console
writes (MAILFILTER_DISCLAIMERS, in stack.env for the console).

It runs as the user who starts the stack (root here): the project's interpreter lives under /root on this
machine, out of reach of postfix or nobody. A production install runs it as a dedicated user
(docs/disclaimers.md).
"""

from __future__ import annotations

import secrets
import subprocess
import sys
from pathlib import Path

from mailadmin.stack.base import POSTFIX_BIND, Service, banner
from mailadmin.stack.config import Layout
from mailadmin.stack.process import StackError

MANAGE_PY = Path(__file__).resolve().parent.parent.parent / "manage.py"


class MailFilter(Service):
    name = "mailfilter"
    _proc: subprocess.Popen[bytes] | None = None

    @property
    def directory(self) -> Path:
        return self.layout.root / "mailfilter"

    @property
    def pidfile(self) -> Path:
        return self.directory / "mailfilter.pid"

    @property
    def disclaimers_file(self) -> Path:
        return disclaimers_file(self.layout)

    @property
    def log_file(self) -> Path:
        return self.directory / "mailfilter.log"

    def address(self) -> str:
        return f"smtp://127.0.0.1:{self.ctx.ports.mailfilter} -> smtp://127.0.0.1:{self.ctx.ports.reinject}"

    def logs(self) -> list[Path]:
        return [self.log_file]

    def env(self) -> dict[str, str]:
        ctx = self.ctx
        return {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1",
            "MAILADMIN_IGNORE_STACK_ENV": "1",
            "MAILADMIN_VAR_DIR": str(self.directory / "var"),
            "MAILADMIN_SECRET_KEY": secrets.token_urlsafe(40),  # unused: the filter signs nothing
            "MAILADMIN_JOBS_EAGER": "1",
            "LDAP_URI": ctx.ldap_uri,
            "LDAP_BASE_DN": ctx.base_dn,
            "LDAP_ADMIN_DN": ctx.service_dn("postfix"),
            "LDAP_ADMIN_PASSWORD": ctx.secrets.get(POSTFIX_BIND),
            "MAILADMIN_MAILBOX_DOMAIN": ctx.config.mailbox_domain,
            "MAILFILTER_DISCLAIMERS": str(self.disclaimers_file),
            "MAILFILTER_PORT": str(ctx.ports.mailfilter),
            "MAILFILTER_REINJECT_PORT": str(ctx.ports.reinject),
        }

    def prepare(self) -> None:
        for d in (self.directory, self.directory / "var"):
            d.mkdir(parents=True, exist_ok=True)
            d.chmod(0o755)

    def launch(self) -> None:
        argv = [sys.executable, str(MANAGE_PY), "mailfilter", "--pidfile", str(self.pidfile)]
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
                raise StackError(f"cannot start {argv[1]} mailfilter: {exc}") from exc

    def ready(self) -> bool:
        return self.pidfile.exists() and banner(self.ctx.ports.mailfilter, b"220")

    def died(self) -> str | None:
        if self._proc is not None and self._proc.poll() is not None:
            return f"manage.py mailfilter exited with {self._proc.returncode}"
        return super().died()

    def stop(self) -> None:
        super().stop()
        if self._proc is not None:
            self._proc.poll()  # reap our child, if it was ours


def disclaimers_file(layout: Layout) -> Path:
    """Where the console publishes the disclaimers and the filter reads them (MAILFILTER_DISCLAIMERS)."""
    return layout.root / "mailfilter" / "disclaimers.json"
