"""Alias memberships follow an account's addresses (docs/aliases.md, "Members follow their addresses").

Aliases store members as addresses (`rfc822MailMember`), not DNs, so slapd's refint cannot follow them. When
an address goes away or changes, the services that do it (user_update, user_set_addresses, user_delete,
contact_update, contact_delete) plan the matching alias changes here *before* writing anything, then apply
them in the same operation:

- a changed address: every alias listing the old one lists the new one instead (no duplicates);
- a removed address (extra address dropped, user or contact deleted): it leaves every alias's members.

Both domain aliases (`ou=aliases` of every domain) and system aliases (`ou=system-aliases`) are followed:
a member may be in another domain than the alias. The console's rules stay true:
- a domain alias may have no members (alias_create/alias_update allow it): it is left empty, and mail to it
  is then refused like mail to any unknown address;
- a system alias needs at least one address (services/system.py): a removal that would empty one is refused
  before anything is written, naming it.

An address that another entry still holds (two contacts with one external address) is left where it is.
Owners (`mailAliasOwner`) are DNs: slapd's refint follows their renames and deletes already.
Every alias changed is one audit entry (`alias_member_rename`/`alias_member_remove`, or
`system_alias_update` as on the System aliases page), naming the account that caused it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import partial
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from mailadmin import directory
from mailadmin.actor import Actor
from mailadmin.audit.services import audited
from mailadmin.directory import InvalidName, dit, filter_and, filter_eq, filter_or
from mailadmin.permissions import Verb, can_alias

log = logging.getLogger(__name__)
MEMBER = "rfc822MailMember"
_CHUNK = 50  # addresses per search filter (an account has at most 51)


@dataclass(frozen=True)
class MemberChange:
    """One alias to change: `removed` values go, `added` ones come (a rename adds the new address)."""

    dn: str
    label: str  # the alias's address, or the system alias's name
    system: bool
    members: tuple[str, ...]  # before the change
    removed: tuple[str, ...]
    added: tuple[str, ...] = ()

    @property
    def left_empty(self) -> bool:
        gone = {v.lower() for v in self.removed}
        return not self.added and all(m.lower() in gone for m in self.members)


def _normal(addresses: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(a.strip().lower() for a in addresses if isinstance(a, str) and a.strip()))


def _kind(dn: str) -> bool | None:
    """True: a system alias; False: a domain alias; None: something else (left alone)."""
    if dit.same_dn(dit.parent_dn(dn), dit.system_aliases_dn()):
        return True
    domain = dit.domain_of(dn)
    if domain and dit.same_dn(dit.parent_dn(dn), dit.aliases_dn(domain)):
        return False
    return None


def _aliases_listing(addresses: Sequence[str]) -> list[directory.Entry]:
    found: list[directory.Entry] = []
    for i in range(0, len(addresses), _CHUNK):
        chunk = addresses[i : i + _CHUNK]
        found += directory.search(
            dit.base_dn(),
            filter_and("(objectClass=nisMailAlias)", filter_or(*(filter_eq(MEMBER, a) for a in chunk))),
            ["cn", "mail", MEMBER],
        )
    unique = {dit.normalize_dn(e.dn): e for e in found}
    return sorted(unique.values(), key=lambda e: (e.first("mail") or e.first("cn")).lower())


def _held_elsewhere(address: str, exclude_dn: str) -> bool:
    """Does an account or contact other than `exclude_dn` still have this address?"""
    for entry in directory.search(
        dit.base_dn(),
        filter_and(
            filter_or("(objectClass=mailAccount)", "(objectClass=mailContact)"),
            filter_or(filter_eq("mail", address), filter_eq("mailAlias", address)),
        ),
        directory.NO_ATTRS,
        limit=0,
    ):
        if not dit.same_dn(entry.dn, exclude_dn):
            return True
    return False


def aliases_with_member(*addresses: str) -> list[MemberChange]:
    """The aliases that list any of `addresses` as a member, as the removal of them would change them."""
    wanted = _normal(addresses)
    if not wanted:
        return []
    changes: list[MemberChange] = []
    for entry in _aliases_listing(wanted):
        system = _kind(entry.dn)
        if system is None:
            continue
        members = tuple(entry.values(MEMBER))
        removed = tuple(m for m in members if m.lower() in wanted)
        label = entry.first("cn") if system else entry.first("mail")
        changes.append(MemberChange(entry.dn, label, system, members, removed))
    return changes


def plan_remove(addresses: Iterable[str], *, holder_dn: str) -> list[MemberChange]:
    """The alias changes for `holder_dn` losing `addresses`. Refuses (InvalidName) to empty a system alias."""
    wanted = [a for a in _normal(addresses) if not _held_elsewhere(a, holder_dn)]
    changes = aliases_with_member(*wanted)
    emptied = [c.label for c in changes if c.system and c.left_empty]
    if emptied:
        raise InvalidName(
            f"The system alias {', '.join(emptied)} would be left without an address; give it another "
            "address first (Aliases, System aliases).",
            "aliases",
        )
    return changes


def plan_rename(old: str, new: str, *, holder_dn: str) -> list[MemberChange]:
    """The alias changes for `holder_dn`'s address `old` becoming `new`."""
    old, new = old.strip().lower(), new.strip().lower()
    if not old or old == new or _held_elsewhere(old, holder_dn):
        return []
    changes = []
    for change in aliases_with_member(old):
        present = new in {m.lower() for m in change.members}
        changes.append(
            MemberChange(
                change.dn,
                change.label,
                change.system,
                change.members,
                change.removed,
                () if present else (new,),
            )
        )
    return changes


def _write(dn: str, removed: Sequence[str], added: Sequence[str]) -> None:
    directory.modify(dn, directory.value_changes(MEMBER, drop=removed, add=added))


def _audit_entry(change: MemberChange, holder_dn: str) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """The action, `after` and `before` of the audit row of one alias's change."""
    if change.system:
        after = [m for m in change.members if m not in change.removed] + list(change.added)
        return (
            "system_alias_update",
            {MEMBER: after, "because": holder_dn},
            {MEMBER: list(change.members)},
        )
    if change.added:
        return (
            "alias_member_rename",
            {"member": change.added[0], "because": holder_dn},
            {"member": list(change.removed)},
        )
    return "alias_member_remove", {"member": list(change.removed), "because": holder_dn}, {}


def members_apply(*, actor: Actor, changes: Sequence[MemberChange], holder_dn: str) -> None:
    """Write planned changes, one audit entry per alias. On a failure the ones written are undone and the
    error propagates (the caller undoes its own part)."""
    done: list[MemberChange] = []
    try:
        for change in changes:
            action, after, before = _audit_entry(change, holder_dn)
            work = partial(_write, change.dn, change.removed, change.added)
            audited(actor, action, change.dn, after, work, before=before or None)
            done.append(change)
    except Exception:
        members_restore(done)
        raise


def members_restore(changes: Sequence[MemberChange]) -> None:
    """Undo `members_apply` (newest first); failures are logged, never raised (an undo path)."""
    for change in reversed(changes):
        try:
            _write(change.dn, change.added, change.removed)
        except Exception:
            log.exception("could not restore the members of %s", change.dn)


# --- the journal's view: planned changes kept in a row, applied or restored again after a crash ------------


def changes_to_json(changes: Iterable[MemberChange]) -> list[dict[str, Any]]:
    """Planned changes as a journal row keeps them (accounts.models.Operation.data)."""
    return [asdict(c) for c in changes]


def changes_from_json(data: Iterable[Mapping[str, Any]]) -> list[MemberChange]:
    return [
        MemberChange(
            dn=str(c["dn"]),
            label=str(c["label"]),
            system=bool(c["system"]),
            members=tuple(c["members"]),
            removed=tuple(c["removed"]),
            added=tuple(c["added"]),
        )
        for c in data
    ]


def _still_to_do(dn: str, absent: Sequence[str], present: Sequence[str]) -> tuple[list[str], list[str]]:
    """What the alias still lists of `absent` and lacks of `present`, as (drop, add). A gone alias is left
    gone (deleting it took its members along)."""
    entry = directory.get_entry(dn, [MEMBER])
    if entry is None:
        return [], []
    current = entry.values(MEMBER)
    listed = {m.lower() for m in current}
    gone = {a.lower() for a in absent}
    return [m for m in current if m.lower() in gone], [a for a in present if a.lower() not in listed | gone]


def members_ensure_applied(*, actor: Actor, changes: Sequence[MemberChange], holder_dn: str) -> None:
    """`members_apply` for the drift check finishing a journaled operation: each alias is brought to the
    planned state whatever part of it a crashed run wrote, with an audit entry for each alias it changes."""
    for change in changes:
        drop, add = _still_to_do(change.dn, change.removed, change.added)
        if drop or add:
            action, after, before = _audit_entry(change, holder_dn)
            audited(
                actor, action, change.dn, after, partial(_write, change.dn, drop, add), before=before or None
            )


def members_ensure_restored(changes: Sequence[MemberChange]) -> None:
    """Undo of a journaled membership step, newest first: the removed addresses are back, the added ones
    gone (unless the alias listed them before). Raises on failure, so the journal records what is left."""
    for change in reversed(changes):
        listed_before = {m.lower() for m in change.members}
        added = [a for a in change.added if a.lower() not in listed_before]
        _write(change.dn, *_still_to_do(change.dn, added, list(change.removed)))


def journal_apply(data: Mapping[str, Any], actor: Actor) -> None:
    """Redo of a journaled aliases step (accounts/services/journal.py): the changes kept in data["aliases"]
    for the entry data["dn"]."""
    changes = changes_from_json(data["aliases"])
    members_ensure_applied(actor=actor, changes=changes, holder_dn=data["dn"])


def journal_restore(data: Mapping[str, Any], _actor: Actor) -> None:
    """Undo of a journaled aliases step."""
    members_ensure_restored(changes_from_json(data["aliases"]))


def members_rename(*, actor: Actor, old: str, new: str, holder_dn: str) -> list[MemberChange]:
    """Plan and apply a rename in one go; returns what was changed."""
    changes = plan_rename(old, new, holder_dn=holder_dn)
    members_apply(actor=actor, changes=changes, holder_dn=holder_dn)
    return changes


def members_remove(*, actor: Actor, addresses: Iterable[str], holder_dn: str) -> list[MemberChange]:
    """Plan and apply a removal in one go; returns what was changed."""
    changes = plan_remove(addresses, holder_dn=holder_dn)
    members_apply(actor=actor, changes=changes, holder_dn=holder_dn)
    return changes


def audit_names(changes: Iterable[MemberChange]) -> list[str]:
    """How an audit row names the aliases a change touched: a domain alias by its address, a system alias by
    its DN. Either carries where it lives, so a reader of another domain sees it blanked."""
    return [c.dn if c.system else c.label for c in changes]


def visible_labels(actor: Actor, changes: Iterable[MemberChange]) -> tuple[list[str], int]:
    """What a page may name: the aliases the actor may look at (a domain administrator deleting a user may
    change an alias of another domain listing that user, but does not learn its name), and how many else."""
    shown: list[str] = []
    hidden = 0
    for change in changes:
        visible = actor.roles.administrator if change.system else can_alias(actor, Verb.VIEW, change.dn)
        if visible:
            shown.append(change.label)
        else:
            hidden += 1
    return shown, hidden


def also_removed(actor: Actor, changes: Sequence[MemberChange]) -> str:
    """The "Also removed from: ..." line of confirmation pages and result messages ("" if none)."""
    shown, hidden = visible_labels(actor, changes)
    if not shown and not hidden:
        return ""
    text = _("Also removed from: %(aliases)s") % {"aliases": ", ".join(shown)} if shown else ""
    if hidden:
        more = ngettext(
            "%(n)d alias of a domain you do not administer",
            "%(n)d aliases of domains you do not administer",
            hidden,
        ) % {"n": hidden}
        text = f"{text}; {more}" if text else _("Also removed from: %(aliases)s") % {"aliases": more}
    return f"{text}."
