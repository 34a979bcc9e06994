"""Reads of the Cyrus recovery: is there a Cyrus the console may stop and start, which logins are users
with a mailbox account, and the recovery jobs."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.utils.translation import gettext as _

from mailadmin import directory
from mailadmin.directory import dit
from mailadmin.jobs.models import Job
from mailadmin.stack import Stack, StackError
from mailadmin.stack.cyrus import Cyrus

KIND = "backup.cyrus_recovery"
ACTIVE = (Job.State.PENDING, Job.State.RUNNING)
# One LDAP filter names every login of the form; the form refuses more (the "all mailboxes" choice is for
# that).
MAX_USERS = 100


class Unavailable(Exception):
    """The console has no Cyrus it may stop and start; the message says why."""


def cyrus_service() -> Cyrus:
    """The stack's Cyrus (settings.STACK_DIR): stopping and starting it is what the recovery does, so it
    works on the console's own mail stack only, never on a system Cyrus run by init scripts."""
    if not settings.STACK_DIR:
        raise Unavailable(
            _(
                "The Cyrus recovery stops and starts the console's own mail stack; none is configured "
                "(STACK_DIR). On a system Cyrus, run ctl_cyrusdb -r and reconstruct as described in "
                "docs/cyrus-recovery.md."
            )
        )
    try:
        svc = Stack.open(str(settings.STACK_DIR)).service("cyrus")
    except StackError as exc:
        raise Unavailable(str(exc)) from exc
    if not isinstance(svc, Cyrus):
        raise Unavailable(_("The mail stack has no Cyrus service."))
    return svc


def unavailable_reason() -> str:
    """Why the page cannot start a recovery ("" when it can)."""
    try:
        cyrus_service()
    except Unavailable as exc:
        return str(exc)
    return ""


def unknown_logins(logins: Iterable[str]) -> list[str]:
    """The logins (already checked by check_login) that are no mail account in the directory, in the
    order given. One search for all of them."""
    wanted = list(dict.fromkeys(logins))
    if not wanted:
        return []
    found = directory.search(
        dit.domains_dn(),
        directory.filter_and(
            "(objectClass=mailAccount)", directory.filter_or(*(directory.filter_eq("uid", u) for u in wanted))
        ),
        ["uid"],
        limit=len(wanted) * 2,
    )
    known = {entry.first("uid") for entry in found}
    return [login for login in wanted if login not in known]


def active_recovery() -> Job | None:
    """A recovery that waits for a worker or runs now."""
    return Job.objects.filter(kind=KIND, state__in=ACTIVE).order_by("created_at").first()


def recovery_job(job_id: str) -> Job | None:
    """A recovery job by id (the pages are for administrators, who see every one); None for anything else."""
    try:
        return Job.objects.get(pk=job_id, kind=KIND)
    except (Job.DoesNotExist, ValueError):
        return None
