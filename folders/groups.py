"""Cyrus groups on the folder pages: a container's `group:<entryUUID>` and back (docs/decisions/0007).

Cyrus names a group by the entryUUID of a domain, organization or group container (ptloader reads it from
slapd), so an ACL entry keeps working when the container is renamed or moved. The pages show people the
container's place in the tree instead: all uuids of a page are resolved with one LDAP search.
The syntax of identifiers (building, checking, parsing) is `mailadmin.imap_names`; this module is the LDAP
side.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from mailadmin import directory
from mailadmin.directory import InvalidName, dit
from mailadmin.imap_names import GROUP_PREFIX, AclEntry, group_identifier, group_uuid, rights_in_words

# Container classes that are Cyrus groups (the same as ptloader's filters, mailadmin/configfiles/cyrus.py).
_GROUP_CLASSES = ("mailDomain", "mailContainer")
# uuids per LDAP search: an OR of 100 indexed equality filters is one cheap request.
_CHUNK = 100


@dataclass(frozen=True)
class Group:
    """What a `group:` ACL identifier names today."""

    who: str  # the identifier as Cyrus holds it
    uuid: str | None  # None: the earlier `group:<DN>` form
    dn: str | None  # the container now; None if no container has this uuid any more (deleted)

    @property
    def deleted(self) -> bool:
        return self.uuid is not None and self.dn is None

    @property
    def legacy(self) -> bool:
        return self.uuid is None

    @property
    def path(self) -> str:
        """The container's place: domain / organization / group …, as the account pages name it."""
        if self.dn is None:
            return ""
        return container_path(self.dn)


@dataclass(frozen=True)
class AclRow:
    """One line of a folder's permissions table."""

    who: str
    rights: str
    group: Group | None

    @property
    def words(self) -> list[str]:
        return rights_in_words(self.rights)


def container_path(dn: str) -> str:
    domain = dit.domain_of(dn)
    if domain is None:
        return dn
    top = dit.domain_dn(domain)
    parts: list[str] = []
    current = dn
    while current and not dit.same_dn(current, top):
        parts.append(dit.rdn_value(current))
        current = dit.parent_dn(current)
    return " / ".join([domain, *reversed(parts)])


def _is_group(entry: directory.Entry) -> bool:
    return any(entry.has_object_class(name) for name in _GROUP_CLASSES)


def _identifier_of(entry: directory.Entry) -> str:
    value = entry.get("entryUUID")
    if not value:  # slapd gives every entry one; a missing value means the bind may not read it
        raise InvalidName("The directory did not report this container's identifier (entryUUID).", "group")
    return group_identifier(value)


def domain_group(domain: str) -> str:
    """The Cyrus group of every account in `domain`: `group:` + the domain entry's entryUUID."""
    entry = directory.get_entry(dit.domain_dn(domain), ["entryUUID"])
    if entry is None:
        raise InvalidName(f"There is no domain {domain}.", "domain")
    return _identifier_of(entry)


def container_group(dn: str) -> str:
    """The Cyrus group of a domain, organization or group container given by DN (for the permissions form)."""
    if not dn or len(dn) > 1024 or not directory.valid_dn(dn) or dit.domain_of(dn) is None:
        raise InvalidName("Give the DN of a domain, organization or group.", "group")
    entry = directory.get_entry(dn, ["objectClass", "entryUUID"])
    if entry is None or not _is_group(entry):
        raise InvalidName("There is no domain, organization or group with that DN.", "group")
    return _identifier_of(entry)


def groups_named(identifiers: Iterable[str]) -> dict[str, Group]:
    """Each `group:` identifier → what it names now; one LDAP search per 100 uuids (not one per entry)."""
    found: dict[str, Group] = {}
    uuids: list[str] = []
    for who in identifiers:
        if not who.startswith(GROUP_PREFIX) or who in found:
            continue
        uuid = group_uuid(who)
        found[who] = Group(who, uuid, None)
        if uuid is not None:
            uuids.append(uuid)
    for start in range(0, len(uuids), _CHUNK):
        chunk = uuids[start : start + _CHUNK]
        entries = directory.search(
            dit.domains_dn(),
            directory.filter_or(*(directory.filter_eq("entryUUID", u) for u in chunk)),
            ["entryUUID", "objectClass"],
        )
        for entry in entries:
            uuid = (entry.get("entryUUID") or "").lower()
            who = GROUP_PREFIX + uuid
            if who in found and _is_group(entry):
                found[who] = Group(who, uuid, entry.dn)
    return found


def acl_rows(acl: Sequence[AclEntry]) -> list[AclRow]:
    """A folder's ACL with every group entry resolved to its container (or marked deleted)."""
    groups = groups_named(entry.who for entry in acl)
    return [AclRow(entry.who, entry.rights, groups.get(entry.who)) for entry in acl]
