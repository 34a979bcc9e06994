"""The directory tree as the Accounts menu reads it (selectors): what an entry is, what a container holds, who
outranks whom inside. Used by the account services and views, and by the other menus (through
`accounts.selectors`).

Counts are paged, DNs-only searches (`directory.count`): they move no attribute values and work past the
server's size limit. Callers count only what they show (the children on the visible page).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from mailadmin import directory
from mailadmin.actor import Actor
from mailadmin.directory import (
    DirectoryConflict,
    DirectoryNotFound,
    DirectorySizeLimit,
    dit,
    filter_and,
    filter_eq,
    filter_or,
)
from mailadmin.permissions import Kind, Verb, can, entry_kind

CONTAINER_KINDS = frozenset({Kind.DOMAIN, Kind.ORGANIZATION, Kind.GROUP})
MOVABLE_KINDS = frozenset({Kind.USER, Kind.RESOURCE, Kind.CONTACT, Kind.GROUP})

# What each kind of entry looks like to slapd. Users and resources are told apart by mailResource, the way
# the dashboard's inventory (directory.counts) does it.
KIND_FILTERS: dict[Kind, str] = {
    Kind.ORGANIZATION: "(&(objectClass=organization)(objectClass=mailContainer))",
    Kind.GROUP: "(&(objectClass=organizationalUnit)(objectClass=mailContainer))",
    Kind.USER: "(&(objectClass=mailAccount)(!(objectClass=mailResource)))",
    Kind.RESOURCE: "(&(objectClass=mailAccount)(objectClass=mailResource))",
    Kind.CONTACT: "(objectClass=mailContact)",
    Kind.ALIAS: "(objectClass=nisMailAlias)",
}
# What the browser lists inside a container: people (users, resources) and external contacts.
OBJECTS_FILTER = "(&(objectClass=inetOrgPerson)(|(objectClass=mailAccount)(objectClass=mailContact)))"
CHILD_CONTAINERS_FILTER = "(objectClass=mailContainer)"
# Entries whose mailAdministrator gives a role (as directory.roles_for reads them): domains and groups.
_ADMINISTERED = filter_or("(objectClass=mailDomain)", KIND_FILTERS[Kind.GROUP])
ENTRY_ATTRS = ("objectClass", "dc", "o", "ou", "cn", "uid", "description")


# The kind of an entry from its objectClass (one definition, in the core).
kind_of = entry_kind


def get_kind(dn: str, attrs: Iterable[str] = ENTRY_ATTRS) -> tuple[directory.Entry, Kind]:
    """The entry at `dn` (inside ou=domains) and its kind; DirectoryNotFound for anything else."""
    # Only entries below ou=domains: a DN of ou=admins or ou=roles is nothing the browser manages.
    entry = directory.get_entry(dn, list({*attrs, "objectClass"})) if dit.domain_of(dn) else None
    kind = kind_of(entry) if entry is not None else None
    if entry is None or kind is None:
        raise DirectoryNotFound(f"There is no such entry {dn}.")
    return entry, kind


def get_container(dn: str, attrs: Iterable[str] = ENTRY_ATTRS) -> tuple[directory.Entry, Kind]:
    """A domain, organization or group; DirectoryNotFound for anything else."""
    entry, kind = get_kind(dn, attrs)
    if kind not in CONTAINER_KINDS:
        raise DirectoryNotFound(f"There is no domain, organization or group {dn}.")
    return entry, kind


def display_name(entry: directory.Entry) -> str:
    """What a person calls the entry: its naming value (domain, organization, group, login or full name)."""
    return dit.rdn_value(entry.dn)


def default_organization_dn(domain_dn: str) -> str | None:
    """The organization made together with the domain (same name); it goes when the domain goes."""
    name = dit.domain_of(domain_dn)
    return dit.organization_dn(name, name) if name else None


def is_default_organization(dn: str) -> bool:
    name = dit.domain_of(dn)
    return name is not None and dit.same_dn(dn, dit.organization_dn(name, name))


def count_kinds(base: str, base_kind: Kind, kinds: Iterable[Kind]) -> dict[Kind, int]:
    """How many entries of each kind lie below `base` (of `base_kind`), at any depth, `base` not included:
    one paged, DNs-only count per kind."""
    return {
        kind: directory.count(base, KIND_FILTERS[kind]) - (1 if kind is base_kind else 0) for kind in kinds
    }


# The account browser shows counts for every child container on a page; exact counts of a 100,000-user
# organization cost about a second each, so the browser counts up to this many and then says "1,000+".
COUNT_CAP = 1000


def count_kinds_capped(
    base: str, base_kind: Kind, kinds: Iterable[Kind], cap: int = COUNT_CAP
) -> dict[Kind, tuple[int, bool]]:
    """Like `count_kinds`, but each count stops after `cap`: {kind: (count, more than cap)}."""
    counts: dict[Kind, tuple[int, bool]] = {}
    for kind in kinds:
        own = 1 if kind is base_kind else 0
        try:
            found = len(directory.search(base, KIND_FILTERS[kind], directory.NO_ATTRS, limit=cap + own))
        except DirectorySizeLimit:
            counts[kind] = (cap, True)
        else:
            counts[kind] = (found - own, False)
    return counts


_PLURALS = {
    Kind.ORGANIZATION: lambda n: ngettext("%(n)d organization", "%(n)d organizations", n),
    Kind.GROUP: lambda n: ngettext("%(n)d group", "%(n)d groups", n),
    Kind.USER: lambda n: ngettext("%(n)d user", "%(n)d users", n),
    Kind.RESOURCE: lambda n: ngettext("%(n)d resource", "%(n)d resources", n),
    Kind.CONTACT: lambda n: ngettext("%(n)d contact", "%(n)d contacts", n),
    Kind.ALIAS: lambda n: ngettext("%(n)d alias", "%(n)d aliases", n),
}


@dataclass(frozen=True)
class Contents:
    """What a container holds, by kind; `other` counts entries the console does not manage."""

    name: str
    counts: dict[Kind, int] = field(default_factory=dict)
    other: int = 0

    @property
    def empty(self) -> bool:
        return self.other == 0 and not any(self.counts.values())

    def parts(self) -> list[str]:
        parts = [_PLURALS[kind](n) % {"n": n} for kind, n in self.counts.items() if n]
        if self.other:
            parts.append(ngettext("%(n)d other entry", "%(n)d other entries", self.other) % {"n": self.other})
        return parts

    def describe(self) -> str:
        """ "a.test still holds 3 users, 1 group and 2 aliases." """
        parts = self.parts()
        if not parts:
            return _("%(name)s is empty.") % {"name": self.name}
        listed = (
            parts[0]
            if len(parts) == 1
            else _("%(list)s and %(last)s")
            % {
                "list": ", ".join(parts[:-1]),
                "last": parts[-1],
            }
        )
        return _("%(name)s still holds %(contents)s.") % {"name": self.name, "contents": listed}


class ContainerNotEmpty(DirectoryConflict):
    """A container with entries inside cannot be deleted; the message names what is inside."""

    def __init__(self, contents: Contents) -> None:
        super().__init__(contents.describe())
        self.contents = contents


def container_contents(dn: str) -> Contents:
    """What keeps the container `dn` from being deleted. A domain's own organization and ou=aliases are
    part of the domain (they go with it), so they are not counted, but whatever they hold is."""
    entry, kind = get_container(dn)
    kinds = [Kind.USER, Kind.RESOURCE, Kind.CONTACT, Kind.GROUP, Kind.ORGANIZATION, Kind.ALIAS]
    counts = count_kinds(dn, kind, kinds)
    structural = 1  # the container itself
    if kind is Kind.DOMAIN:
        default_org = default_organization_dn(dn)
        if default_org and directory.exists(default_org):
            counts[Kind.ORGANIZATION] -= 1
            structural += 1
        if directory.exists(dit.aliases_dn(dit.domain_of(dn) or "")):
            structural += 1
    total = directory.count(dn, "(objectClass=*)")
    other = max(0, total - structural - sum(counts.values()))
    return Contents(display_name(entry), counts, other)


def administrators_inside(dn: str) -> int:
    """The highest rank held by an account inside the subtree `dn`: 3 administrator, 2 domain administrator,
    0 otherwise (group administrators rank below every actor who may move a group).

    Moving a group renames every account in it; a delegated administrator must not do that to someone who
    outranks or equals them."""
    try:
        if directory.search(
            dn, filter_eq("memberOf", dit.administrators_group_dn()), directory.NO_ATTRS, limit=1
        ):
            return 3
    except DirectorySizeLimit:  # more than one: the answer is the same
        return 3
    with_admins = "(&(objectClass=mailDomain)(mailAdministrator=*))"
    for domain in directory.iter_paged(dit.domains_dn(), with_admins, ["mailAdministrator"], scope="one"):
        if any(dit.is_inside(value, dn) for value in domain.values("mailAdministrator")):
            return 2
    return 0


def rank_of(dn: str, kind: Kind) -> int:
    """The rank a change to `dn` touches: the account's own rank, or for a group the highest rank inside."""
    if kind in (Kind.USER, Kind.RESOURCE):
        return directory.roles_for(dn).rank
    if kind is Kind.GROUP:
        return administrators_inside(dn)
    return 0


def scope_roots(domains: Iterable[str], groups: Iterable[str]) -> list[str]:
    """The outermost of the containers a delegated administrator holds (a group inside a held domain is
    reached through the domain)."""
    roots = sorted({*domains, *groups}, key=lambda d: dit.normalize_dn(d) if dit.valid_dn(d) else d)
    return [r for r in roots if dit.valid_dn(r) and not any(o != r and dit.is_inside(r, o) for o in roots)]


def ancestors(dn: str) -> list[str]:
    """DNs from the domain entry down to `dn` (inclusive), for breadcrumbs."""
    chain: list[str] = []
    current = dn
    while dit.domain_of(current) and not dit.same_dn(current, dit.domains_dn()):
        chain.append(current)
        current = dit.parent_dn(current)
    return list(reversed(chain))


def move_target_refusal(dn: str, new_parent_dn: str) -> str | None:
    """Why `dn` cannot go below `new_parent_dn` (a sentence), or None."""
    if dit.is_inside(new_parent_dn, dn):
        return _("A group cannot be moved into itself or into one of its own groups.")
    if dit.same_dn(dit.parent_dn(dn), new_parent_dn):
        return _("The entry is already there.")
    return None


def ranks_of(dns: Sequence[str]) -> dict[str, int]:
    """The rank of each account in `dns` (keys as given), in two searches for a whole list page rather than
    two per row (`directory.roles_for`): the administrators' group, and the entries that name any of them
    as mailAdministrator."""
    ranks = {dn: 0 for dn in dns if dit.valid_dn(dn)}
    if not ranks:
        return {}
    by_key = {dit.normalize_dn(dn): dn for dn in ranks}
    administered = directory.search(
        dit.domains_dn(),
        filter_and(filter_or(*(filter_eq("mailAdministrator", dn) for dn in ranks)), _ADMINISTERED),
        ["objectClass", "mailAdministrator"],
    )
    for holder in administered:
        rank = 2 if holder.has_object_class("mailDomain") else 1
        for value in holder.values("mailAdministrator"):
            dn = by_key.get(dit.normalize_dn(value)) if dit.valid_dn(value) else None
            if dn is not None:
                ranks[dn] = max(ranks[dn], rank)
    for value in directory.administrators():
        dn = by_key.get(dit.normalize_dn(value)) if dit.valid_dn(value) else None
        if dn is not None:
            ranks[dn] = 3
    return ranks


def may_move(actor: Actor, dn: str, kind: Kind) -> bool:
    """The move right on `dn` (not yet the destination). The rank of what moves is looked up only when it
    can matter: administrators outrank everyone, and most actors fail the cheaper test first."""
    if not can(actor, Verb.MOVE, dn, kind=kind):
        return False
    return actor.roles.administrator or can(actor, Verb.MOVE, dn, kind=kind, target_rank=rank_of(dn, kind))
