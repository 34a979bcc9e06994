"""What an alias may hold, checked against the directory before anything is written: members (local ones
must exist), no loops, owners (users of the alias's own domain), flags, description, a free address."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.conf import settings

from aliases.names import ALIAS_FILTER, MAX_DESCRIPTION, MAX_MEMBERS, MAX_NESTING_LOOKUPS, MAX_OWNERS
from aliases.services.addresses import is_hosted
from mailadmin import directory
from mailadmin.directory import (
    DirectoryConflict,
    InvalidName,
    check_address,
    check_login,
    check_value,
    dit,
    escape_dn,
    filter_and,
    filter_eq,
    filter_or,
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
        if is_hosted(domain) and not _exists_locally(address):
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
