"""Who administers what (read from the tree), and the dashboard's inventory counts."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from mailadmin.actor import Roles
from mailadmin.directory import dit
from mailadmin.directory.entries import Entry
from mailadmin.directory.search import NO_ATTRS, count, filter_and, filter_eq, filter_or, search

ADMINISTERED_FILTER = filter_or(
    "(objectClass=mailDomain)", "(&(objectClass=organizationalUnit)(objectClass=mailContainer))"
)


def roles_for(dn: str) -> Roles:
    """The roles of the account `dn`, in two indexed searches (member eq, mailAdministrator eq).

    - administrator: `member` of cn=administrators,ou=roles
    - domains: domain entries (mailDomain) naming `dn` in mailAdministrator
    - groups: container entries (organizationalUnit + mailContainer) naming `dn` in mailAdministrator
    The server compares DNs with distinguishedNameMatch, so spelling differences in `dn` do not matter.
    """
    # The suffix DN is the placeholder member of cn=administrators (skeleton.py); it is nobody.
    if not dn or not dit.valid_dn(dn) or dit.same_dn(dn, dit.base_dn()):
        return Roles()
    administrator = bool(
        search(dit.administrators_group_dn(), filter_eq("member", dn), NO_ATTRS, scope="base")
    )
    administered = search(
        dit.domains_dn(), filter_and(filter_eq("mailAdministrator", dn), ADMINISTERED_FILTER), ["objectClass"]
    )
    return roles_from(administrator=administrator, administered=administered)


def roles_from(*, administrator: bool, administered: Sequence[Entry]) -> Roles:
    """Roles from the two answers: membership of cn=administrators, and the domains and groups (read with
    their objectClass) that name the account in mailAdministrator."""
    domains = frozenset(e.dn for e in administered if e.has_object_class("mailDomain"))
    groups = frozenset(e.dn for e in administered if e.has_object_class("organizationalUnit"))
    return Roles(administrator=administrator, domains=domains, groups=groups)


def _named(dn: str, attr: str) -> list[str]:
    # refint writes the suffix DN as a placeholder when the last value of a reference goes
    # (olcRefintNothing, also used by the skeleton for cn=administrators); it names nobody.
    found = search(dn, "(objectClass=*)", [attr], scope="base")
    values = found[0].values(attr) if found else []
    return [v for v in values if not dit.same_dn(v, dit.base_dn())]


def administrators() -> list[str]:
    """DNs of the administrators (members of cn=administrators)."""
    return _named(dit.administrators_group_dn(), "member")


def domain_admins(domain: str) -> list[str]:
    """DNs of the domain administrators of `domain` (mailAdministrator on its entry)."""
    return _named(dit.domain_dn(domain), "mailAdministrator")


def group_admins(group_dn: str) -> list[str]:
    """DNs of the group administrators of the group `group_dn`."""
    return _named(group_dn, "mailAdministrator")


_CONTAINER_KINDS = (
    (_("Organizations"), "(&(objectClass=organization)(objectClass=mailContainer))"),
    (_("Groups"), "(&(objectClass=organizationalUnit)(objectClass=mailContainer))"),
)
_KINDS = (
    *_CONTAINER_KINDS,
    (_("Users"), "(&(objectClass=mailAccount)(!(objectClass=mailResource)))"),
    (_("Resources"), "(&(objectClass=mailAccount)(objectClass=mailResource))"),
    (_("Contacts"), "(objectClass=mailContact)"),
    (_("Aliases"), "(objectClass=mailAliasEntry)"),
)


def _outermost(bases: Sequence[str]) -> list[str]:
    # A base given twice, or inside another one, would be counted twice.
    unique = list({dit.normalize_dn(b): b for b in bases if dit.valid_dn(b)}.values())
    return [b for b in unique if not any(o is not b and dit.is_inside(b, o) for o in unique)]


def counts(bases: Sequence[str] | None = None) -> list[tuple[str, int]]:
    """Inventory for the dashboard as (label, number) pairs: one paged, DNs-only count per kind.

    Without `bases`: the whole server (administrators). With `bases` (the DNs of the domains or groups a
    delegated administrator holds): only what lies inside them; a container itself is not counted.
    """
    rows: list[tuple[str | Promise, int]] = []
    if bases is None:
        top = dit.domains_dn()
        rows.append((_("Domains"), count(top, "(objectClass=mailDomain)", scope="one")))
        rows += [(label, count(top, filterstr)) for label, filterstr in _KINDS]
        rows.append(
            (_("System aliases"), count(dit.system_aliases_dn(), "(objectClass=nisMailAlias)", "one"))
        )
        rows.append((_("Administrators"), len(administrators())))
    else:
        scoped = _outermost(bases)
        for label, filterstr in _KINDS:
            total = 0
            for base in scoped:
                total += count(base, filterstr)
                if (label, filterstr) in _CONTAINER_KINDS:
                    total -= count(base, filterstr, scope="base")  # the administered container itself
            rows.append((label, total))
    return [(str(label), n) for label, n in rows]
