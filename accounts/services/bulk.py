"""Bulk actions on accounts (ACC-09 results, WEB-02 "Change Access"): one object at a time, re-checked.

A bulk job is started by a person but runs later, in a worker, from a list of DNs that came through a form.
So nothing from the request is trusted: the job rebuilds the actor's roles from the directory
(`actor_for_job`), and `bulk_apply_one` asks `can(...)` again for every object, with the object's own kind
and rank, before it calls the ordinary service. An object outside the actor's area is refused without even
being read (the job log must not tell a domain administrator what exists elsewhere).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum

from accounts.services.common import check_quota
from accounts.services.containers import entry_move
from accounts.services.users import (
    user_delete,
    user_disable,
    user_enable,
    user_set_quota,
    user_set_web_access,
)
from mailadmin import directory
from mailadmin.actor import Actor
from mailadmin.directory import DirectoryError, InvalidName, dit
from mailadmin.imap import ImapError
from mailadmin.permissions import Kind, Verb, can, entry_kind

log = logging.getLogger(__name__)
MAX_SELECTED = 500  # DNs one form may carry (Django refuses more than 1000 fields); "all matching" has no cap


class BulkAction(StrEnum):
    DELETE = "delete"
    DISABLE = "disable"
    ENABLE = "enable"
    SET_QUOTA = "set_quota"
    MOVE = "move"
    WEB_ACCESS_ON = "web_on"
    WEB_ACCESS_OFF = "web_off"


class Outcome(StrEnum):
    CHANGED = "changed"
    REFUSED = "refused"  # not the actor's to change (scope or rank)
    SKIPPED = "skipped"  # does not apply (a contact has no quota; your own account)
    MISSING = "missing"  # gone since the search
    FAILED = "failed"  # the server said no


@dataclass(frozen=True)
class BulkOptions:
    quota_kib: int | None = None
    target_dn: str = ""  # MOVE: the new parent container
    delete_mailboxes: bool = False  # DELETE: only after the person confirmed it


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    message: str = ""


_VERBS = {
    BulkAction.DELETE: Verb.DELETE,
    BulkAction.DISABLE: Verb.CHANGE,
    BulkAction.ENABLE: Verb.CHANGE,
    BulkAction.SET_QUOTA: Verb.SET_QUOTA,
    BulkAction.MOVE: Verb.MOVE,
    BulkAction.WEB_ACCESS_ON: Verb.CHANGE,
    BulkAction.WEB_ACCESS_OFF: Verb.CHANGE,
}
# Which kinds each action applies to. Delete is for users only (the manual's bulk delete); flags and quota
# need an account (a contact has neither a login nor a mailbox).
_APPLIES: dict[BulkAction, frozenset[Kind]] = {
    BulkAction.DELETE: frozenset({Kind.USER}),
    BulkAction.DISABLE: frozenset({Kind.USER, Kind.RESOURCE}),
    BulkAction.ENABLE: frozenset({Kind.USER, Kind.RESOURCE}),
    BulkAction.SET_QUOTA: frozenset({Kind.USER, Kind.RESOURCE}),
    BulkAction.MOVE: frozenset({Kind.USER, Kind.RESOURCE, Kind.CONTACT}),
    BulkAction.WEB_ACCESS_ON: frozenset({Kind.USER, Kind.RESOURCE}),
    BulkAction.WEB_ACCESS_OFF: frozenset({Kind.USER, Kind.RESOURCE}),
}


def check_options(action: BulkAction, options: BulkOptions) -> BulkOptions:
    """InvalidName for options an action needs and lacks (checked in the view and again in the job)."""
    if action is BulkAction.SET_QUOTA:
        check_quota(options.quota_kib)
    if action is BulkAction.MOVE and (not options.target_dn or not dit.valid_dn(options.target_dn)):
        raise InvalidName("Choose the organization or group to move to.", "target")
    return options


def bulk_apply_one(*, actor: Actor, action: BulkAction, dn: str, options: BulkOptions) -> Result:
    """Check and apply one action to one object. Never raises for a single object's problem."""
    if not dit.valid_dn(dn) or dit.domain_of(dn) is None or not can(actor, Verb.VIEW, dn):
        return Result(Outcome.REFUSED, "outside your area")
    if actor.dn and dit.same_dn(dn, actor.dn):
        return Result(Outcome.SKIPPED, "your own account is never changed in bulk")
    entry = directory.get_entry(dn, ["objectClass", "uid"])
    kind = entry_kind(entry) if entry is not None else None
    if entry is None:
        return Result(Outcome.MISSING, "no longer exists")
    if kind is None or kind not in _APPLIES[action]:
        return Result(Outcome.SKIPPED, f"does not apply to this kind of entry ({kind or 'other'})")
    rank = directory.roles_for(dn).rank if kind is not Kind.CONTACT else 0
    if not can(actor, _VERBS[action], dn, kind=kind, target_rank=rank):
        return Result(Outcome.REFUSED, "not yours to change (rank or role)")
    if action is BulkAction.MOVE and not (
        can(actor, Verb.VIEW, options.target_dn) and can(actor, Verb.CREATE, options.target_dn, kind=kind)
    ):
        return Result(Outcome.REFUSED, "the destination is outside your area")
    try:
        message = _apply(actor, action, dn, options)
    except (DirectoryError, ImapError, InvalidName) as exc:
        return Result(Outcome.FAILED, str(exc))
    return Result(Outcome.CHANGED, message)


def _apply(actor: Actor, action: BulkAction, dn: str, options: BulkOptions) -> str:
    if action is BulkAction.DELETE:
        user_delete(actor=actor, dn=dn, delete_mailbox=options.delete_mailboxes)
        return "deleted" + (" with its mailbox" if options.delete_mailboxes else " (mailbox kept)")
    if action is BulkAction.DISABLE:
        user_disable(actor=actor, dn=dn)
        return "disabled"
    if action is BulkAction.ENABLE:
        user_enable(actor=actor, dn=dn)
        return "enabled"
    if action is BulkAction.SET_QUOTA:
        user_set_quota(actor=actor, dn=dn, quota_kib=options.quota_kib)
        return f"quota {options.quota_kib} KiB" if options.quota_kib is not None else "no quota"
    if action in (BulkAction.WEB_ACCESS_ON, BulkAction.WEB_ACCESS_OFF):
        allowed = action is BulkAction.WEB_ACCESS_ON
        user_set_web_access(actor=actor, dn=dn, allowed=allowed)
        return "Web Client access " + ("on" if allowed else "off")
    new_dn = entry_move(actor=actor, dn=dn, new_parent_dn=options.target_dn)
    return f"moved to {new_dn}"


@dataclass
class Tally:
    """Counts per outcome and the DNs that were not changed (capped, the log has every one)."""

    counts: dict[str, int]
    not_changed: list[dict[str, str]]
    cap: int = 500

    @classmethod
    def empty(cls) -> Tally:
        return cls({o.value: 0 for o in Outcome}, [])

    def add(self, dn: str, result: Result) -> None:
        self.counts[result.outcome.value] += 1
        if result.outcome is not Outcome.CHANGED and len(self.not_changed) < self.cap:
            self.not_changed.append({"dn": dn, "outcome": result.outcome.value, "why": result.message})

    def as_json(self) -> dict[str, object]:
        return {"counts": dict(self.counts), "not_changed": list(self.not_changed)}
