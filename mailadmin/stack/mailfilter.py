"""The disclaimer content filter (`manage.py mailfilter`, DLV-03) as a daemon of the stack.

No database, no Redis: it reads the disclaimers from the file the console writes (MAILFILTER_DISCLAIMERS, in
stack.env for the console). How it is started and stopped: mailadmin/stack/django_daemon.py.
"""

from __future__ import annotations

from pathlib import Path

from mailadmin.stack.base import banner
from mailadmin.stack.config import Layout
from mailadmin.stack.django_daemon import DjangoDaemon


class MailFilter(DjangoDaemon):
    name = "mailfilter"

    @property
    def disclaimers_file(self) -> Path:
        return disclaimers_file(self.layout)

    def address(self) -> str:
        return f"smtp://127.0.0.1:{self.ctx.ports.mailfilter} -> smtp://127.0.0.1:{self.ctx.ports.reinject}"

    def extra_env(self) -> dict[str, str]:
        ctx = self.ctx
        return {
            "MAILADMIN_MAILBOX_DOMAIN": ctx.config.mailbox_domain,
            "MAILFILTER_DISCLAIMERS": str(self.disclaimers_file),
            "MAILFILTER_PORT": str(ctx.ports.mailfilter),
            "MAILFILTER_REINJECT_PORT": str(ctx.ports.reinject),
        }

    def ready(self) -> bool:
        return self.pidfile.exists() and banner(self.ctx.ports.mailfilter, b"220")


def disclaimers_file(layout: Layout) -> Path:
    """Where the console publishes the disclaimers and the filter reads them (MAILFILTER_DISCLAIMERS)."""
    return layout.root / "mailfilter" / "disclaimers.json"
