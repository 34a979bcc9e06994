"""Writing the directory: add, modify, delete, rename, and passwords (only ever by Password Modify).

Values are checked here as a last line (no control characters, bounded length); services check names against
their specific allow-lists first. `userPassword` cannot be written through add/modify: slapd must hash every
password itself (RFC 3062 exop + `olcPasswordHash`), so a clear-text value can never be stored by mistake.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import ldap
import ldap.dn
from ldap.ldapobject import LDAPObject

from mailadmin.directory import vlv
from mailadmin.directory.connection import run, user_connection
from mailadmin.directory.entries import AttrValues, as_strings
from mailadmin.directory.errors import translate
from mailadmin.directory.names import InvalidName, check_password, check_value
from mailadmin.directory.search import NO_ATTRS, iter_paged

# DN-valued attributes (mailAdministrator, member) can be long; free text has its own tighter caps upstream.
MAX_ATTR_VALUE = 2048
_PASSWORD_ATTRS = frozenset({"userpassword", "2.5.4.35"})
_OPS = {"add": ldap.MOD_ADD, "replace": ldap.MOD_REPLACE, "delete": ldap.MOD_DELETE}


@dataclass(frozen=True)
class Change:
    op: Literal["add", "replace", "delete"]
    attr: str
    values: tuple[str, ...] | None  # None with "delete"/"replace": remove the attribute altogether


def replace(attr: str, value: AttrValues | None) -> Change:
    """Set `attr` to `value` (a str, int, bool or several str); None removes the attribute."""
    return Change("replace", attr, None if value is None else as_strings(value))


def add_values(attr: str, *values: str) -> Change:
    return Change("add", attr, tuple(values))


def delete_values(attr: str, *values: str) -> Change:
    """Remove the given values, or the whole attribute if none are given."""
    return Change("delete", attr, tuple(values) or None)


def _check_attr(attr: str, values: Iterable[str]) -> None:
    if attr.lower() in _PASSWORD_ATTRS:
        raise ValueError("Passwords are written only with password_modify (slapd hashes them).")
    for value in values:
        check_value(value, attr, max_length=MAX_ATTR_VALUE)


def check_dn(dn: str) -> str:
    if not isinstance(dn, str) or not dn or "\x00" in dn:
        raise InvalidName("This is not a valid directory name (DN).", "dn")
    try:
        ldap.dn.str2dn(dn)
    except ldap.DECODING_ERROR as exc:
        raise InvalidName("This is not a valid directory name (DN).", "dn") from exc
    return dn


def add(dn: str, attrs: Mapping[str, AttrValues]) -> None:
    check_dn(dn)
    modlist = []
    for attr, value in attrs.items():
        values = as_strings(value)
        if not values:
            continue
        _check_attr(attr, values)
        modlist.append((attr, [v.encode("utf-8") for v in values]))
    try:
        run(lambda conn: conn.add_ext_s(dn, modlist), what="add", dn=dn)
    finally:
        vlv.invalidate()


def modify(dn: str, changes: Iterable[Change]) -> None:
    check_dn(dn)
    modlist = []
    for change in changes:
        values = change.values or ()
        _check_attr(change.attr, values)
        encoded = [v.encode("utf-8") for v in values] if change.values is not None else None
        modlist.append((_OPS[change.op], change.attr, encoded))
    if modlist:
        try:
            run(lambda conn: conn.modify_ext_s(dn, modlist), what="change", dn=dn)
        finally:
            vlv.invalidate()


def value_changes(attr: str, *, drop: Sequence[str] = (), add: Sequence[str] = ()) -> list[Change]:
    """The changes that remove the `drop` values of `attr` and add the `add` ones (none when both are
    empty: `modify` then sends nothing)."""
    return ([delete_values(attr, *drop)] if drop else []) + ([add_values(attr, *add)] if add else [])


def delete(dn: str) -> None:
    check_dn(dn)
    try:
        run(lambda conn: conn.delete_ext_s(dn), what="delete", dn=dn)
    finally:
        vlv.invalidate()


def delete_subtree(dn: str) -> int:
    """Delete `dn` and everything below it, deepest first; returns the number of entries deleted.

    back-mdb has no tree-delete control, so this lists the subtree (DNs only) and deletes leaf-first.
    """
    check_dn(dn)
    dns = [entry.dn for entry in iter_paged(dn, "(objectClass=*)", NO_ATTRS)]
    dns.sort(key=lambda d: len(ldap.dn.str2dn(d)), reverse=True)
    for child in dns:
        delete(child)
    return len(dns)


def rename(dn: str, new_rdn: str, new_superior: str | None = None) -> str:
    """Rename (and optionally move) an entry; returns the new DN. refint updates references to it."""
    check_dn(dn)
    check_dn(new_rdn)
    if len(ldap.dn.str2dn(new_rdn)) != 1:
        raise InvalidName("The new name must be a single RDN such as uid=alice.", "rdn")
    if new_superior is not None:
        check_dn(new_superior)
    try:
        run(lambda conn: conn.rename_s(dn, new_rdn, new_superior, delold=1), what="rename", dn=dn)
    finally:
        vlv.invalidate()
    parent = new_superior if new_superior is not None else ldap.dn.dn2str(ldap.dn.str2dn(dn)[1:])
    return f"{new_rdn},{parent}" if parent else new_rdn


def password_modify(dn: str, new_password: str, old_password: str | None = None) -> None:
    """Set a password with the Password Modify exop (RFC 3062) as the console.

    slapd hashes it (olcPasswordHash) and applies ppolicy. With `old_password`, slapd verifies it first.
    """
    check_dn(dn)
    check_password(new_password, "new_password")
    if old_password is not None:
        check_password(old_password, "old_password")

    def op(conn: LDAPObject) -> None:
        conn.passwd_s(dn, old_password, new_password)

    run(op, what="password change", dn=dn)


def password_modify_as_user(dn: str, old_password: str, new_password: str) -> None:
    """A user changes their own password: bind as them (proves the old one), then the exop as themselves,
    so slapd's ACLs and ppolicy (minimum age, history, quality) judge the change as the user's own."""
    check_dn(dn)
    check_password(new_password, "new_password")
    with user_connection(dn, old_password) as conn:
        try:
            conn.passwd_s(dn, old_password, new_password)
        except ldap.LDAPError as exc:
            raise translate(exc, what="password change", dn=dn) from exc
