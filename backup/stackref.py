"""The console's own mail stack (settings.STACK_DIR), whose daemons a backup reads and a restore writes."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _

from mailadmin.stack import Stack, StackError


class NoStack(Exception):
    """No private stack is configured or it cannot be opened."""


def open_stack() -> Stack:
    if not settings.STACK_DIR:
        raise NoStack(_("Backups work on the console's own mail stack; none is configured (STACK_DIR)."))
    try:
        return Stack.open(str(settings.STACK_DIR))
    except StackError as exc:
        raise NoStack(str(exc)) from exc
