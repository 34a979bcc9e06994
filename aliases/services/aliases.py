"""Aliases of a domain (ALI-03, ALI-04): create, change, delete, members and owners — every write audited.

An alias is `cn=<name>,ou=aliases,dc=<domain>,ou=domains,$BASE` (nisMailAlias + mailAliasEntry) with
`mail: <name>@<domain>`. Members (rfc822MailMember) are addresses: of users, of external contacts, of other
aliases, or external addresses. Postfix expands them (mailadmin/configfiles/contract.py); the rules kept here
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

from collections.abc import Sequence

from aliases.names import ALIAS_CLASSES, MAX_MEMBERS, alias_dn, check_alias_address
from aliases.selectors import get_alias
from aliases.services.checks import (
    _address_free,
    _check_description,
    _check_flags,
    check_members,
    check_no_loop,
    check_owners,
)
from mailadmin import directory
from mailadmin.actor import Actor
from mailadmin.audit.services import audited
from mailadmin.directory import DirectoryNotFound, InvalidName, check_login, dit
from mailadmin.directory.entries import AttrValues


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
    audited(actor, "alias_update", dn, after, lambda: directory.modify(dn, changes), before=before)


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
