"""Aliases of a domain (ALI-03, ALI-04): create, change, delete, members and owners — every write audited.

An alias is `cn=<name>,ou=aliases,dc=<domain>,ou=domains,$BASE` (nisMailAlias + mailAliasEntry) with
`mail: <name>@<domain>`. Members (rfc822MailMember) are addresses: of users, of external contacts, of other
aliases, or external addresses. Postfix expands them (mailadmin/stack/domain_aliases.py); the rules kept here
are the ones Postfix cannot keep:

- a member in a domain of this server must exist (an account's mail/mailAlias, another alias, a system
  alias); a member elsewhere is external and taken as it is;
- no loops: the alias must not reach itself through nested aliases;
- the alias address is unique server-wide (no account's mail/mailAlias, no other alias; slapd's unique
  overlay guards mail against mail and mailAlias too, the check here gives the friendly message);
- Open Membership and Restricted are exclusive (docs/decisions/0006-alias-senders.md);
- owners are accounts of the alias's own domain, stored as DNs (refint follows renames and deletes).

Permission checks are the views' business (`mailadmin.permissions.can_alias`); services trust their caller.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings

from mailadmin import directory
from mailadmin.actor import Actor
from mailadmin.audit.services import audited
from mailadmin.directory import (
    DirectoryConflict,
    DirectoryNotFound,
    InvalidName,
    check_address,
    check_domain,
    check_login,
    check_value,
    dit,
    escape_dn,
    filter_and,
    filter_eq,
    filter_or,
)
from mailadmin.directory.entries import AttrValues

ALIAS_CLASSES = ("nisMailAlias", "mailAliasEntry")
ALIAS_FILTER = "(objectClass=mailAliasEntry)"
ALIAS_ATTRS = (
    "objectClass",
    "cn",
    "mail",
    "rfc822MailMember",
    "mailAliasOwner",
    "mailAliasOpen",
    "mailAliasRestricted",
    "description",
)
MAX_MEMBERS = 1000
MAX_OWNERS = 50
MAX_DESCRIPTION = 256
MAX_NESTING_LOOKUPS = 2000  # aliases looked at while searching for a loop; more is refused, not guessed


@dataclass(frozen=True)
class AliasInfo:
    """An alias as the pages show it."""

    dn: str
    domain: str
    name: str
    address: str
    members: tuple[str, ...]
    owners: tuple[str, ...]  # DNs (refint's placeholder, the suffix, left out)
    open_membership: bool
    restricted: bool
    description: str

    @classmethod
    def from_entry(cls, entry: directory.Entry) -> AliasInfo:
        base = dit.base_dn()
        return cls(
            dn=entry.dn,
            domain=dit.domain_of(entry.dn) or "",
            name=entry.first("cn"),
            address=entry.first("mail"),
            members=tuple(entry.values("rfc822MailMember")),
            owners=tuple(o for o in entry.values("mailAliasOwner") if not dit.same_dn(o, base)),
            open_membership=entry.first("mailAliasOpen").upper() == "TRUE",
            restricted=entry.first("mailAliasRestricted").upper() == "TRUE",
            description=entry.first("description"),
        )


# --- reads -------------------------------------------------------------------------------------------------


def alias_dn(domain: str, name: str) -> str:
    address = check_alias_address(name, domain)
    return f"cn={escape_dn(address.partition('@')[0])},{dit.aliases_dn(domain)}"


def is_alias_dn(dn: str) -> bool:
    """Shape only: `cn=...,ou=aliases,dc=<domain>,ou=domains,$BASE`."""
    domain = dit.domain_of(dn)
    if not domain or not dit.valid_dn(dn):
        return False
    parent = dit.parent_dn(dn)
    return dit.same_dn(parent, dit.aliases_dn(domain)) and dn.lower().startswith("cn=")


def get_alias(dn: str) -> AliasInfo:
    entry = directory.get_entry(dn, ALIAS_ATTRS) if is_alias_dn(dn) else None
    if entry is None or not entry.has_object_class("mailAliasEntry"):
        raise DirectoryNotFound(f"There is no alias {dn}.")
    return AliasInfo.from_entry(entry)


def find_alias(address: str) -> AliasInfo | None:
    """The alias of the domain with this address, or None."""
    checked = check_address(address, "name")
    local, _, domain = checked.partition("@")
    try:
        return get_alias(alias_dn(domain, local))
    except (DirectoryNotFound, InvalidName):
        return None


# --- checks ------------------------------------------------------------------------------------------------


def check_alias_address(name: str, domain: str) -> str:
    """`name@domain`, lower-case; the name is a conservative local part (no `*`, quotes, `@`, spaces)."""
    domain = check_domain(domain)
    if not isinstance(name, str) or not name or "@" in name:
        raise InvalidName(
            "An alias name is the part before the @: letters, digits, '.', '_', '+' and '-'.", "name"
        )
    try:
        return check_address(f"{name}@{domain}", "name")
    except InvalidName as exc:
        raise InvalidName(
            "An alias name is the part before the @: letters, digits, '.', '_', '+' and '-' "
            "(no leading, trailing or double dots).",
            "name",
        ) from exc


def _hosted(domain: str) -> bool:
    if domain == str(settings.MAILBOX_DOMAIN).lower():
        return True
    return bool(
        directory.search(
            dit.domains_dn(),
            filter_and(
                "(objectClass=mailDomain)",
                filter_or(filter_eq("dc", domain), filter_eq("mailDomainAlias", domain)),
            ),
            directory.NO_ATTRS,
            scope="one",
        )
    )


def _exists_locally(address: str) -> bool:
    """An account's mail/mailAlias, an alias, or a system alias of this name (they apply to every domain)."""
    found = directory.search(
        dit.domains_dn(),
        filter_or(filter_eq("mail", address), filter_eq("mailAlias", address)),
        directory.NO_ATTRS,
        limit=0,
    )
    if found:
        return True
    local = address.partition("@")[0]
    system = f"cn={escape_dn(local)},{dit.system_aliases_dn()}"
    return directory.exists(system)


def check_members(values: Iterable[str], *, alias_address: str = "") -> list[str]:
    """Each member a valid address; local ones must exist. Order kept, duplicates dropped."""
    members: list[str] = []
    for raw in values:
        value = raw.strip() if isinstance(raw, str) else raw
        if not value:
            continue
        try:
            address = check_address(value, "members")
        except InvalidName as exc:
            raise InvalidName(
                "Each member must be one address like name@example.com (letters, digits, '.', '_', '+', '-' "
                "before the @; no quotes, spaces, '*' or a second @).",
                "members",
            ) from exc
        if address == alias_address:
            raise InvalidName("An alias cannot be a member of itself.", "members")
        domain = address.partition("@")[2]
        if domain == str(settings.MAILBOX_DOMAIN).lower():
            raise InvalidName(f"{domain} is the internal delivery domain; use the user's address.", "members")
        if _hosted(domain) and not _exists_locally(address):
            raise InvalidName(
                f"{address} is in a domain of this server but no user, contact or alias has that address.",
                "members",
            )
        if address not in members:
            members.append(address)
    if len(members) > MAX_MEMBERS:
        raise InvalidName(f"An alias may have at most {MAX_MEMBERS} members.", "members")
    return members


def check_no_loop(address: str, members: Sequence[str]) -> None:
    """Refuse members through which mail to `address` would come back to it (A -> B -> ... -> A)."""
    if address in members:
        raise InvalidName("An alias cannot be a member of itself.", "members")
    seen: set[str] = set()
    level = [m for m in members if m not in seen]
    lookups = 0
    while level:
        seen.update(level)
        lookups += len(level)
        if lookups > MAX_NESTING_LOOKUPS:
            raise InvalidName("The aliases nest too deeply to check; flatten some of them.", "members")
        nested: list[str] = []
        # one search per level: the aliases among this level's addresses, with their members
        for i in range(0, len(level), 100):
            chunk = level[i : i + 100]
            found = directory.search(
                dit.domains_dn(),
                filter_and(ALIAS_FILTER, filter_or(*(filter_eq("mail", m) for m in chunk))),
                ["mail", "rfc822MailMember"],
            )
            for entry in found:
                for member in entry.values("rfc822MailMember"):
                    member = member.lower()
                    if member == address:
                        raise InvalidName(
                            f"{entry.first('mail')} already leads back to {address}: this would make a loop.",
                            "members",
                        )
                    if member not in seen:
                        nested.append(member)
        level = list(dict.fromkeys(nested))


def check_owners(domain: str, logins: Iterable[str]) -> list[str]:
    """Login names of accounts in `domain` -> their DNs."""
    owners: list[str] = []
    domain_dn = dit.domain_dn(domain)
    for raw in logins:
        login = raw.strip() if isinstance(raw, str) else raw
        if not login:
            continue
        try:
            uid = check_login(login, "owners")
        except InvalidName as exc:
            raise InvalidName("Owners are login names of users, separated by commas.", "owners") from exc
        found = directory.search(
            domain_dn,
            filter_and("(objectClass=mailAccount)", "(!(objectClass=mailResource))", filter_eq("uid", uid)),
            ["uid"],
            limit=0,
        )
        if not found:
            raise InvalidName(
                f"There is no user {uid} in {domain} (owners must be users of the alias's domain).", "owners"
            )
        if not any(dit.same_dn(found[0].dn, o) for o in owners):
            owners.append(found[0].dn)
    if len(owners) > MAX_OWNERS:
        raise InvalidName(f"An alias may have at most {MAX_OWNERS} owners.", "owners")
    return owners


def owner_logins(owner_dns: Iterable[str]) -> list[str]:
    """The login names of owner DNs, for forms (the uid is the RDN value of an account)."""
    return [dit.rdn_value(dn) for dn in owner_dns if dn.lower().startswith("uid=")]


def _check_flags(open_membership: bool, restricted: bool) -> None:
    if open_membership and restricted:
        raise InvalidName(
            "Choose Open Membership (anyone may write) or Restricted (only senders of this domain), "
            "not both.",
            "restricted",
        )


def _check_description(value: str) -> str:
    return check_value(value, "description", max_length=MAX_DESCRIPTION).strip()


def _address_free(address: str, *, exclude_dn: str | None = None) -> None:
    for entry in directory.search(
        dit.base_dn(),
        filter_or(filter_eq("mail", address), filter_eq("mailAlias", address)),
        directory.NO_ATTRS,
        limit=0,
    ):
        if exclude_dn and dit.same_dn(entry.dn, exclude_dn):
            continue
        raise DirectoryConflict(f"The address {address} is already used by an account or another alias.")


# --- writes ------------------------------------------------------------------------------------------------


def alias_create(
    *,
    actor: Actor,
    domain: str,
    name: str,
    members: Sequence[str] = (),
    owners: Sequence[str] = (),
    open_membership: bool = False,
    restricted: bool = False,
    description: str = "",
) -> str:
    """A new alias `name@domain`. `owners` are login names of the domain's users. Returns the DN."""
    address = check_alias_address(name, domain)
    domain = address.partition("@")[2]
    checked_members = check_members(members, alias_address=address)
    _check_flags(open_membership, restricted)
    text = _check_description(description)
    owner_dns = check_owners(domain, owners)
    domain_entry = directory.get_entry(dit.domain_dn(domain), ["objectClass"])
    if domain_entry is None or not domain_entry.has_object_class("mailDomain"):
        raise DirectoryNotFound(f"There is no domain {domain}.")
    container = dit.aliases_dn(domain)
    make_container = not directory.exists(container)  # a domain made by hand or an older import: make it now
    check_no_loop(address, checked_members)
    _address_free(address)
    dn = alias_dn(domain, address.partition("@")[0])
    attrs: dict[str, AttrValues] = {
        "objectClass": list(ALIAS_CLASSES),
        "cn": address.partition("@")[0],
        "mail": address,
    }
    if checked_members:
        attrs["rfc822MailMember"] = checked_members
    if owner_dns:
        attrs["mailAliasOwner"] = owner_dns
    if open_membership:
        attrs["mailAliasOpen"] = True
    if restricted:
        attrs["mailAliasRestricted"] = True
    if text:
        attrs["description"] = text
    after = {
        "mail": address,
        "members": checked_members,
        "owners": owner_dns,
        "open": open_membership,
        "restricted": restricted,
    }

    def work() -> None:
        if make_container:
            directory.add(container, {"objectClass": ["organizationalUnit"], "ou": "aliases"})
        directory.add(dn, attrs)

    audited(actor, "alias_create", dn, after, work)
    return dn


def alias_update(
    *,
    actor: Actor,
    dn: str,
    members: Sequence[str],
    open_membership: bool,
    restricted: bool,
    description: str = "",
    owners: Sequence[str] | None = None,
) -> None:
    """Replace members, flags and description; `owners` (login names) only when given (owners themselves
    may not change who owns the alias: the view passes None for them)."""
    alias = get_alias(dn)
    checked_members = check_members(members, alias_address=alias.address)
    _check_flags(open_membership, restricted)
    text = _check_description(description)
    owner_dns = check_owners(alias.domain, owners) if owners is not None else None
    check_no_loop(alias.address, checked_members)
    changes = [
        directory.replace("rfc822MailMember", checked_members or None),
        directory.replace("mailAliasOpen", True if open_membership else None),
        directory.replace("mailAliasRestricted", True if restricted else None),
        directory.replace("description", text or None),
    ]
    after: dict[str, object] = {
        "members": checked_members,
        "open": open_membership,
        "restricted": restricted,
        "description": text,
    }
    if owner_dns is not None:
        changes.append(directory.replace("mailAliasOwner", owner_dns or None))
        after["owners"] = owner_dns
    before = {
        "members": list(alias.members),
        "owners": list(alias.owners),
        "open": alias.open_membership,
        "restricted": alias.restricted,
        "description": alias.description,
    }
    audited(actor, "alias_update", dn, {**after, "before": before}, lambda: directory.modify(dn, changes))


def alias_delete(*, actor: Actor, dn: str) -> None:
    alias = get_alias(dn)
    after = {"mail": alias.address, "members": list(alias.members)}
    audited(actor, "alias_delete", dn, after, lambda: directory.delete(dn))


def alias_member_add(*, actor: Actor, dn: str, member: str) -> None:
    alias = get_alias(dn)
    (address,) = check_members([member], alias_address=alias.address) or [""]
    if not address:
        raise InvalidName("Enter the member's address.", "members")
    if address in alias.members:
        return
    if len(alias.members) >= MAX_MEMBERS:
        raise InvalidName(f"An alias may have at most {MAX_MEMBERS} members.", "members")
    check_no_loop(alias.address, [address])
    change = directory.add_values("rfc822MailMember", address)
    audited(actor, "alias_member_add", dn, {"member": address}, lambda: directory.modify(dn, [change]))


def alias_member_remove(*, actor: Actor, dn: str, member: str) -> None:
    alias = get_alias(dn)
    address = member.strip().lower() if isinstance(member, str) else ""
    if address not in alias.members:
        raise InvalidName("This address is not a member of the alias.", "members")
    change = directory.delete_values("rfc822MailMember", address)
    audited(actor, "alias_member_remove", dn, {"member": address}, lambda: directory.modify(dn, [change]))


def alias_owner_add(*, actor: Actor, dn: str, owner: str) -> None:
    alias = get_alias(dn)
    (owner_dn,) = check_owners(alias.domain, [owner]) or [""]
    if not owner_dn:
        raise InvalidName("Enter the owner's login name.", "owners")
    if any(dit.same_dn(owner_dn, o) for o in alias.owners):
        return
    change = directory.add_values("mailAliasOwner", owner_dn)
    audited(actor, "alias_owner_add", dn, {"owner": owner_dn}, lambda: directory.modify(dn, [change]))


def alias_owner_remove(*, actor: Actor, dn: str, owner: str) -> None:
    alias = get_alias(dn)
    uid = check_login(owner.strip() if isinstance(owner, str) else "", "owners")
    matches = [o for o in alias.owners if dit.rdn_value(o) == uid]
    if not matches:
        raise InvalidName("This user is not an owner of the alias.", "owners")
    change = directory.delete_values("mailAliasOwner", *matches)
    audited(actor, "alias_owner_remove", dn, {"owner": matches}, lambda: directory.modify(dn, [change]))
