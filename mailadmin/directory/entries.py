"""Entries as the rest of the console sees them: a DN and attributes with str values."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

AttrValues = str | int | bool | Iterable[str]


# What slapd writes by itself (slapcat and `ldapsearch ... +` exports carry them): never written back by an
# import or a restore (slapd makes its own). memberOf is the group membership, which follows the groups.
OPERATIONAL = frozenset(
    {
        "createtimestamp",
        "modifytimestamp",
        "creatorsname",
        "modifiersname",
        "entryuuid",
        "entrycsn",
        "entrydn",
        "structuralobjectclass",
        "subschemasubentry",
        "hassubordinates",
        "memberof",
        "contextcsn",
        "pwdchangedtime",
        "pwdfailuretime",
        "pwdaccountlockedtime",
        "pwdhistory",
        "pwdgraceusetime",
    }
)


class Entry:
    """One directory entry. Attribute names are case-insensitive; values are decoded UTF-8 strings.

    Entries from a search keep the server's bytes and decode them on first access: a list page reads a few
    attributes of each entry, and decoding everything up front cost a fifth of a paged search's time.
    Binary attributes (jpegPhoto, certificates) are not part of the console's tree; if one is read anyway its
    undecodable bytes become U+FFFD rather than an exception.
    """

    __slots__ = ("dn", "_raw", "_decoded")

    def __init__(self, dn: str, attrs: Mapping[str, list[str]]) -> None:
        self.dn = dn
        self._raw: Mapping[str, list[bytes]] | None = None
        self._decoded: dict[str, list[str]] | None = {name.lower(): list(v) for name, v in attrs.items()}

    @classmethod
    def from_ldap(cls, dn: str, raw: Mapping[str, list[bytes]]) -> Entry:
        entry = cls.__new__(cls)
        entry.dn = dn
        entry._raw = raw
        entry._decoded = None
        return entry

    @property
    def _attrs(self) -> dict[str, list[str]]:
        return self._decoded if self._decoded is not None else self._decode()

    def _decode(self) -> dict[str, list[str]]:
        decoded: dict[str, list[str]] = {}
        for name, values in (self._raw or {}).items():
            # A plain loop with a one-value fast path: comprehensions cost a call each on 3.11.
            if len(values) == 1:
                decoded[name.lower()] = [values[0].decode("utf-8", "replace")]
            else:
                decoded[name.lower()] = [v.decode("utf-8", "replace") for v in values]
        self._decoded, self._raw = decoded, None
        return decoded

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of `name`, or `default`."""
        values = (self._decoded if self._decoded is not None else self._decode()).get(name.lower())
        return values[0] if values else default

    def first(self, name: str) -> str:
        """The first value of `name`, or "" if it has none."""
        values = (self._decoded if self._decoded is not None else self._decode()).get(name.lower())
        return values[0] if values else ""

    def values(self, name: str) -> list[str]:
        return list(self._attrs.get(name.lower(), ()))

    def has_object_class(self, name: str) -> bool:
        wanted = name.lower()
        return any(oc.lower() == wanted for oc in self._attrs.get("objectclass", ()))

    @property
    def attrs(self) -> dict[str, list[str]]:
        """A copy, keys lower-cased."""
        return {name: list(values) for name, values in self._attrs.items()}

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and bool(self._attrs.get(name.lower()))

    def __getitem__(self, name: str) -> list[str]:
        return self._attrs[name.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._attrs)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Entry) and self.dn == other.dn and self._attrs == other._attrs

    __hash__ = None  # type: ignore[assignment]  # mutable-ish value object

    def __repr__(self) -> str:
        return f"Entry({self.dn!r}, {sorted(self._attrs)})"


def is_account(entry: Entry) -> bool:
    """A person who can log in (user, resource or console-only administrator); not a contact or container.
    Needs `objectClass` and `uid` among the attributes read."""
    return (
        entry.has_object_class("inetOrgPerson")
        and "uid" in entry
        and not entry.has_object_class("mailContact")
    )


@dataclass(frozen=True)
class Page:
    """One page of a paged search. `cookie` is None on the last page.

    The cookie is only valid on the LDAP connection that produced it (slapd ties paged state to the
    connection), i.e. in the same thread and shortly after; views that page across requests use
    `search_window`, which is stateless.
    """

    entries: list[Entry]
    cookie: bytes | None
    total_estimate: int | None = None  # what the server reports (slapd: only when sorting), may be inexact
    sorted: bool = False  # False when the server could not sort (no sssvlv overlay)


@dataclass(frozen=True)
class Window:
    """A slice of a sorted result list by position (VLV, RFC draft-ietf-ldapext-ldapv3-vlv)."""

    entries: list[Entry]
    offset: int  # 0-based position of entries[0]
    total: int  # number of entries matching the filter
    sorted: bool = True


def as_strings(value: AttrValues) -> tuple[str, ...]:
    """Attribute value(s) as LDAP strings. Booleans become LDAP's TRUE/FALSE, integers their decimal form."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, bool):
        return ("TRUE" if value else "FALSE",)
    if isinstance(value, int):
        return (str(value),)
    return tuple(value)
