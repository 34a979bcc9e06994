"""Live changes of slapd's own settings in cn=config (the Configuration menu's slapd page).

The access rules have their own module (acl.py); this one reads and replaces single attributes of the
cn=config entries (cn=config itself, the frontend, the mdb database, its overlays). It uses the same kind of
connection: `acl.config_connection` (LDAP_CONFIG_URI, SASL EXTERNAL as root over ldapi, or a simple bind),
or, for callers without Django settings (the private stack), an explicit ldapi URI bound by EXTERNAL.

slapd applies a modify of a cn=config entry at once and atomically per entry: it checks every value of the
modify first and leaves the entry as it was when it refuses one. A change spanning several entries is a
modify per entry; `apply_changes` puts the entries it already changed back when a later one is refused.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

import ldap
from ldap.ldapobject import LDAPObject

from mailadmin.directory import acl
from mailadmin.directory.connection import open_connection
from mailadmin.directory.errors import DirectoryError, DirectoryRefused, translate

_ATTRIBUTE = re.compile(r"olc[A-Za-z0-9-]+")
# Never through here: the database's identity and rules have their own code paths (or none at all).
_NOT_HERE = frozenset(
    a.lower()
    for a in (
        "olcAccess",
        "olcDatabase",
        "olcOverlay",
        "olcSuffix",
        "olcRootDN",
        "olcRootPW",
        "olcDbDirectory",
    )
)
TIMEOUT = 10.0

# entry DN -> attribute -> its values (an empty list: the attribute is removed)
Changes = Mapping[str, Mapping[str, Sequence[str]]]


@contextmanager
def config_connection(uri: str = "") -> Iterator[LDAPObject]:
    """A connection allowed to change cn=config: the console's (acl.config_connection) or, with `uri`,
    SASL EXTERNAL over that ldapi socket (root's peer credentials)."""
    if not uri:
        with acl.config_connection() as conn:
            yield conn
        return
    try:
        conn = open_connection(uri, timeout=TIMEOUT, starttls=False)
        conn.sasl_non_interactive_bind_s("EXTERNAL")
    except ldap.LDAPError as exc:
        raise translate(exc, what="cn=config login") from exc
    try:
        yield conn
    finally:
        with contextlib.suppress(ldap.LDAPError):  # already gone: nothing to close
            conn.unbind_ext_s()


def _check(dn: str, attributes: Sequence[str]) -> None:
    if dn != "cn=config" and not dn.endswith(",cn=config"):
        raise DirectoryRefused(f"{dn!r} is not an entry of cn=config.")
    for attr in attributes:
        if not _ATTRIBUTE.fullmatch(attr) or attr.lower() in _NOT_HERE:
            raise DirectoryRefused(f"{attr!r} cannot be changed here.")


def read_entry(conn: LDAPObject, dn: str, attributes: Sequence[str]) -> dict[str, list[str]]:
    """The values of `attributes` in the cn=config entry `dn` (attributes it does not have are left out;
    names as requested, whatever case the server answers in)."""
    _check(dn, attributes)
    if not attributes:
        return {}
    try:
        found = conn.search_ext_s(dn, ldap.SCOPE_BASE, "(objectClass=*)", list(attributes))
    except ldap.LDAPError as exc:
        raise translate(exc, what="cn=config search", dn=dn) from exc
    wanted = {a.lower(): a for a in attributes}
    out: dict[str, list[str]] = {}
    for _dn, attrs in found:
        for name, raw in (attrs or {}).items():
            if name.lower() in wanted:
                out[wanted[name.lower()]] = [value.decode("utf-8") for value in raw]
    return out


def read_config(wanted: Mapping[str, Sequence[str]], *, uri: str = "") -> dict[str, dict[str, list[str]]]:
    """entry DN -> attribute -> values, for each entry and the attributes asked of it."""
    with config_connection(uri) as conn:
        return {dn: read_entry(conn, dn, attrs) for dn, attrs in wanted.items()}


def modify_entry(conn: LDAPObject, dn: str, changes: Mapping[str, Sequence[str]]) -> None:
    """Replace each attribute's values in one modify (no values: remove the attribute; cn=config refuses
    the removal of an attribute the entry does not have, so such a removal is left out)."""
    _check(dn, list(changes))
    removed = [attr for attr, values in changes.items() if not values]
    present = read_entry(conn, dn, removed) if removed else {}
    mods = [
        (ldap.MOD_REPLACE, attr, [value.encode("utf-8") for value in values] or None)
        for attr, values in changes.items()
        if values or attr in present
    ]
    if not mods:
        return
    try:
        conn.modify_ext_s(dn, mods)
    except ldap.LDAPError as exc:
        raise translate(exc, what="cn=config change", dn=dn) from exc


def modify_config(dn: str, changes: Mapping[str, Sequence[str]], *, uri: str = "") -> None:
    with config_connection(uri) as conn:
        modify_entry(conn, dn, changes)


def apply_changes(changes: Changes, *, uri: str = "") -> dict[str, dict[str, list[str]]]:
    """Apply a change of several entries, one modify each, in the order given; returns what the changed
    attributes held before. When slapd refuses an entry, the entries already changed get their previous
    values back and the refusal is raised (DirectoryError): all or nothing, as far as slapd allows."""
    with config_connection(uri) as conn:
        before = {dn: read_entry(conn, dn, list(attrs)) for dn, attrs in changes.items()}
        done: list[str] = []
        for dn, attrs in changes.items():
            try:
                modify_entry(conn, dn, attrs)
            except DirectoryError:
                for undo in reversed(done):
                    with contextlib.suppress(DirectoryError):  # the refusal is the news; this is best effort
                        modify_entry(conn, undo, {a: before[undo].get(a, []) for a in changes[undo]})
                raise
            done.append(dn)
    return before


__all__ = [
    "Changes",
    "apply_changes",
    "config_connection",
    "modify_config",
    "modify_entry",
    "read_config",
    "read_entry",
]
