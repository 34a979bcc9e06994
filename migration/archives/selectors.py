"""Reads of the mail archive import: whose mailbox may this person fill, and their imports' jobs.

Administrators import into any user, domain administrators into the users of their domains, group
administrators into the users of their groups: the same rule as changing the account (`Verb.CHANGE` on the
entry's real kind and rank). Everyone may import into their own mailbox (self-service). Anything else is
None, and the page answers 404.
"""

from __future__ import annotations

from dataclasses import dataclass

from accounts.selectors import account_get, account_rank, mailbox_state
from mailadmin import directory
from mailadmin.actor import Actor
from mailadmin.directory import InvalidName, check_login, dit
from mailadmin.jobs.models import Job
from mailadmin.permissions import Verb, account_kind, can

KIND = "migration.mail_import"
ACTIVE = (Job.State.PENDING, Job.State.RUNNING)


@dataclass(frozen=True)
class Target:
    dn: str
    uid: str
    domain: str
    own: bool  # the person's own mailbox (self-service)


def import_target(*, actor: Actor, dn: str) -> Target | None:
    """The user at `dn` if `actor` may import mail into their mailbox; None otherwise (also for DNs outside
    the actor's scope, before the directory is asked)."""
    if not dn or not dit.valid_dn(dn):
        return None
    own = bool(actor.dn) and dit.same_dn(dn, actor.dn)
    if not own and not can(actor, Verb.VIEW, dn):
        return None
    entry = account_get(dn=dn, attrs=("uid",))
    if entry is None or not entry.has_object_class("mailAccount") or not entry.first("uid"):
        return None
    if not own and not can(actor, Verb.CHANGE, dn, kind=account_kind(entry), target_rank=account_rank(dn=dn)):
        return None
    return Target(dn=dn, uid=entry.first("uid"), domain=dit.domain_name(dn) or "", own=own)


def has_mailbox(*, uid: str) -> bool:
    """Does Cyrus hold a mailbox for `uid` (an account may have none)? False also when Cyrus cannot say."""
    return mailbox_state(uid=uid, with_folders=False).exists is True


def import_target_by_login(*, actor: Actor, uid: str) -> Target | None:
    """The user with this login name, if `actor` may import into their mailbox."""
    try:
        check_login(uid)
    except InvalidName:
        return None
    found = directory.search(
        dit.base_dn(),
        directory.filter_and("(objectClass=mailAccount)", directory.filter_eq("uid", uid)),
        ["uid"],
        limit=2,
    )
    if len(found) != 1:
        return None
    return import_target(actor=actor, dn=found[0].dn)


def active_import(*, uid: str) -> Job | None:
    """The import into `uid`'s mailbox that is waiting or running, if there is one."""
    return Job.objects.filter(kind=KIND, state__in=ACTIVE, params__uid=uid).order_by("created_at").first()


def own_imports(*, actor: Actor, limit: int = 10) -> list[Job]:
    """The person's own recent imports into their own mailbox (the self-service page lists them)."""
    if not actor.dn:
        return []
    return list(Job.objects.filter(kind=KIND, created_by_dn=actor.dn, params__own=True)[:limit])


def own_import(*, actor: Actor, job_id: str) -> Job | None:
    """One of the person's own self-service imports; None for anything else (the page answers 404)."""
    try:
        job = Job.objects.get(pk=job_id, kind=KIND, params__own=True)
    except (Job.DoesNotExist, ValueError):
        return None
    return job if actor.dn and job.created_by_dn and dit.same_dn(job.created_by_dn, actor.dn) else None
