"""The directory tree of docs/directory.md as functions: DN builders and the "is it inside?" test.

Builders check every name against its allow-list and escape it. The base DN is read from settings at each call
(tests and the stack change it).
"""

from __future__ import annotations

import re

import ldap
import ldap.dn
from django.conf import settings

from mailadmin.directory.names import (
    InvalidName,
    check_container_name,
    check_domain,
    check_login,
    escape_dn,
)

# Attribute type names a DN may spell in long form; compared by their short name.
_TYPE_ALIASES = {
    "domaincomponent": "dc",
    "userid": "uid",
    "commonname": "cn",
    "organizationname": "o",
    "organizationalunitname": "ou",
}

Rdn = frozenset[tuple[str, str]]


def base_dn() -> str:
    return str(settings.LDAP_BASE_DN)


def domains_dn() -> str:
    return f"ou=domains,{base_dn()}"


def admins_dn() -> str:
    return f"ou=admins,{base_dn()}"


MANAGER_UID = "admin"


def manager_dn() -> str:
    """The manager account made at installation (ACC-15): `uid=admin,ou=admins`."""
    return f"uid={MANAGER_UID},{admins_dn()}"


def roles_dn() -> str:
    return f"ou=roles,{base_dn()}"


def administrators_group_dn() -> str:
    return f"cn=administrators,{roles_dn()}"


def services_dn() -> str:
    return f"ou=services,{base_dn()}"


def policies_dn() -> str:
    return f"ou=policies,{base_dn()}"


def system_aliases_dn() -> str:
    return f"ou=system-aliases,{base_dn()}"


def domain_dn(domain: str) -> str:
    return f"dc={escape_dn(check_domain(domain))},{domains_dn()}"


def organization_dn(domain: str, organization: str) -> str:
    return f"o={escape_dn(check_container_name(organization, 'organization'))},{domain_dn(domain)}"


def aliases_dn(domain: str) -> str:
    return f"ou=aliases,{domain_dn(domain)}"


def group_dn(parent_dn: str, name: str) -> str:
    return f"ou={escape_dn(check_container_name(name, 'group'))},{_checked_dn(parent_dn)}"


def account_dn(container_dn: str, uid: str) -> str:
    return f"uid={escape_dn(check_login(uid))},{_checked_dn(container_dn)}"


def _checked_dn(dn: str) -> str:
    if _parse(dn) is None:
        raise InvalidName("This is not a valid directory name (DN).", "dn")
    return dn


# ASCII letters only: what slapd's caseIgnoreMatch folds for certain, whatever its Unicode tables.
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_SPACES = re.compile(" +")


def _value_key(value: str) -> str:
    """An RDN value as a comparison key that never merges two values slapd keeps apart (decision 0010).

    Every naming attribute of our tree (dc, o, ou, cn, uid) has caseIgnoreMatch: slapd lower-cases each
    character with its own, old Unicode tables, then applies compatibility decomposition, and collapses runs
    of ASCII spaces. Python's tables are newer (str.casefold() merges ß with ss and σ with ς; it knows the
    case of Georgian and Cherokee letters that slapd 2.5 does not), so doing the same here would call two
    different entries the same one. Instead: ASCII letters compare case-insensitively, runs of ASCII spaces
    count as one, and every other character must match exactly. Two spellings slapd merges and this does
    not (``Ä``/``ä``) are "different" here: a hand-typed variant is refused with 404, never let through. The
    console's own links carry the server's spelling, which always compares equal to itself.
    """
    return _SPACES.sub(" ", value.strip(" ")).translate(_ASCII_LOWER)


def _parse(dn: str) -> list[Rdn] | None:
    """DN as a list of RDNs, each a set of (type, value) keys (see `_value_key`); None if invalid."""
    if not isinstance(dn, str) or not dn or "\x00" in dn:
        return None
    try:
        parsed = ldap.dn.str2dn(dn)
    except (ldap.DECODING_ERROR, TypeError, ValueError):
        return None
    rdns: list[Rdn] = []
    for rdn in parsed:
        avas = []
        for attr_type, value, _flags in rdn:
            name = attr_type.strip().lower()
            avas.append((_TYPE_ALIASES.get(name, name), _value_key(value)))
        rdns.append(frozenset(avas))
    return rdns


def valid_dn(dn: str) -> bool:
    return _parse(dn) is not None


def normalize_dn(dn: str) -> str:
    """A canonical string form (lower-case types, values as `_value_key`, RFC 4514 escaping) for keys."""
    rdns = _parse(dn)
    if rdns is None:
        raise InvalidName("This is not a valid directory name (DN).", "dn")
    return ",".join("+".join(f"{t}={escape_dn(v)}" for t, v in sorted(rdn)) for rdn in rdns)


def same_dn(a: str, b: str) -> bool:
    pa, pb = _parse(a), _parse(b)
    return pa is not None and pa == pb


def is_inside(dn: str, container_dn: str, *, strict: bool = False) -> bool:
    """True if `dn` is `container_dn` or below it (LDAP subtree scope); with strict=True only below it.

    Component-wise, never by string: `uid=x,dc=aa.test,...` is not inside `dc=a.test,...`, and
    `uid=x\\,dc=a.test,...` (an escaped comma inside one RDN) is not either. Invalid DNs are never inside.
    """
    child, parent = _parse(dn), _parse(container_dn)
    if child is None or parent is None:
        return False
    if len(child) < len(parent) or (strict and len(child) == len(parent)):
        return False
    return child[len(child) - len(parent) :] == parent


def parent_dn(dn: str) -> str:
    """The DN one level up, as the server would spell it back."""
    parsed = ldap.dn.str2dn(dn)
    return ldap.dn.dn2str(parsed[1:])


def rdn_value(dn: str) -> str:
    """The value of the first RDN: `alice` for `uid=alice,o=a.test,...` (unescaped)."""
    return str(ldap.dn.str2dn(dn)[0][0][1])


def split_dn(dn: str) -> tuple[str, str, str] | None:
    """(type of the first RDN, lower-case; its value, unescaped; the parent DN) of a DN whose first RDN
    has a single attribute: `("uid", "alice", "o=a.test,...")`. None for anything else (an invalid DN, a
    multi-valued RDN such as `cn=a+uid=b`, an empty one). For DNs that come from a file, not the tree."""
    if _parse(dn) is None:
        return None
    parsed = ldap.dn.str2dn(dn)
    if len(parsed[0]) != 1:
        return None
    attr_type, value, _flags = parsed[0][0]
    name = str(attr_type).strip().lower()
    return _TYPE_ALIASES.get(name, name), str(value), ldap.dn.dn2str(parsed[1:])


def domain_of(dn: str) -> str | None:
    """The domain name an entry belongs to (lower-case), or None if it is not inside ou=domains."""
    rdns, top = _parse(dn), _parse(domains_dn())
    if rdns is None or top is None or len(rdns) <= len(top) or rdns[-len(top) :] != top:
        return None
    domain_rdn = rdns[-len(top) - 1]
    if len(domain_rdn) != 1:
        return None
    ((attr_type, value),) = domain_rdn
    return value if attr_type == "dc" else None


def domain_name(dn: str) -> str | None:
    """Alias of `domain_of` (the name views use)."""
    return domain_of(dn)


def domains_of(dn: str) -> list[str]:
    """The domain names a change to `dn` belongs to, for audit rows: one or none."""
    name = domain_of(dn)
    return [name] if name else []
