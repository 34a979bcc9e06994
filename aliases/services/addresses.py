"""User addresses: extra addresses, forwarding (+ keep copy), a domain's catch-all and its alias domains.

Every write is a service here (`<entity>_<action>`, keyword-only) that checks everything first, writes one
LDAP modify, and records an audit entry. Postfix reads the result through the `addr-*` tables
(mailadmin/configfiles/contract.py); docs/aliases.md says who may call which service.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from accounts.services import ensure
from accounts.services.journal import Journal, Step, journal_kind
from aliases.services import membership
from mailadmin import directory
from mailadmin.actor import Actor
from mailadmin.audit.services import audited
from mailadmin.directory import (
    DirectoryNotFound,
    DirectorySizeLimit,
    InvalidName,
    check_address,
    check_domain,
    dit,
    escape_filter,
    filter_and,
    filter_eq,
    filter_or,
)

MAX_ADDRESSES = 50
MAX_FORWARDS = 20
# How far the loop check follows forwards and aliases (Postfix itself stops at 1000 expansions).
MAX_DEPTH = 20


def split_addresses(text: str) -> list[str]:
    """Addresses typed into one field: separated by commas, spaces or line breaks; empty parts dropped."""
    parts = text.replace(",", " ").replace(";", " ").split()
    return [p for p in parts if p]


def check_addresses(values: Iterable[str], field: str, *, limit: int) -> list[str]:
    """Each value through the address allow-list (refuses `a@b@c`, `"x y"@d`, `@d`, `*@d`); no duplicates."""
    out: list[str] = []
    for value in values:
        address = check_address(value, field)
        if address not in out:
            out.append(address)
    if len(out) > limit:
        raise InvalidName(f"At most {limit} addresses.", field)
    return out


# --- where does an address lead (for the checks; the Explain page asks Postfix itself) --------------------


def hosted_domain(domain: str) -> str | None:
    """The DN of the domain entry that hosts `domain` (directly or as an alias domain), else None."""
    found = directory.search(
        dit.domains_dn(),
        filter_and(
            filter_eq("objectClass", "mailDomain"),
            filter_or(filter_eq("dc", domain), filter_eq("mailDomainAlias", domain)),
        ),
        ["dc"],
        scope="one",
    )
    return found[0].dn if found else None


def is_hosted(domain: str) -> bool:
    return domain == str(settings.MAILBOX_DOMAIN).lower() or hosted_domain(domain) is not None


@dataclass(frozen=True)
class Owner:
    """What answers for a local address: an account, a domain alias or a system alias."""

    kind: str  # "account" | "alias" | "system"
    dn: str
    targets: tuple[str, ...]  # where it leads next (forwards or members); () for a plain mailbox


def owner_of(address: str) -> Owner | None:
    """The entry that receives `address`, looked up the way Postfix's tables do (without catch-all)."""
    local, _, domain = address.partition("@")
    entries = directory.search(
        dit.domains_dn(),
        filter_and(
            filter_or(filter_eq("objectClass", "mailAccount"), filter_eq("objectClass", "nisMailAlias")),
            filter_or(filter_eq("mail", address), filter_eq("mailAlias", address)),
        ),
        ["objectClass", "mailForward", "rfc822MailMember", "mailEnabled"],
        limit=5,
    )
    for entry in entries:
        if entry.has_object_class("mailAccount"):
            return Owner("account", entry.dn, tuple(entry.values("mailForward")))
        return Owner("alias", entry.dn, tuple(entry.values("rfc822MailMember")))
    domain_dn = hosted_domain(domain)
    if domain_dn is None:
        return None
    if dit.domain_name(domain_dn) != domain:  # an alias domain: the same name in the real domain
        return owner_of(f"{local}@{dit.domain_name(domain_dn)}")
    found = directory.search(
        dit.system_aliases_dn(),
        filter_and(filter_eq("objectClass", "nisMailAlias"), filter_eq("cn", local)),
        ["rfc822MailMember"],
        scope="one",
    )
    if found:
        return Owner("system", found[0].dn, tuple(found[0].values("rfc822MailMember")))
    return None


def leads_to(targets: Iterable[str], dn: str) -> bool:
    """Does following `targets` (forwards of accounts, members of aliases) come back to the entry `dn`?"""
    seen: set[str] = set()
    todo = [(t.lower(), 0) for t in targets]
    while todo:
        address, depth = todo.pop()
        if address in seen or depth > MAX_DEPTH or "@" not in address:
            continue
        seen.add(address)
        owner = owner_of(address)
        if owner is None:
            continue
        if dit.same_dn(owner.dn, dn):
            return True
        todo.extend((t.lower(), depth + 1) for t in owner.targets)
    return False


def check_local_target(address: str, field: str) -> None:
    """An address in a hosted domain must exist here (a typo would bounce every message)."""
    domain = address.rpartition("@")[2]
    if domain == str(settings.MAILBOX_DOMAIN).lower():
        raise InvalidName(f"{domain} is the internal delivery domain; give the user's address.", field)
    if hosted_domain(domain) is not None and owner_of(address) is None:
        raise InvalidName(f"There is no account or alias {address} on this server.", field)


# --- extra addresses ------------------------------------------------------------------------------------


# The new list, then the aliases that listed a dropped address; journaled like every change that spans
# more than one entry (accounts/services/journal.py), so the drift check can finish or undo it after a crash.
USER_SET_ADDRESSES = journal_kind(
    "user_set_addresses",
    {
        "addresses": Step(redo=ensure.attributes_after, undo=ensure.attributes_before),
        "aliases": Step(redo=membership.journal_apply, undo=membership.journal_restore),
    },
)


def user_set_addresses(*, actor: Actor, dn: str, addresses: Iterable[str]) -> list[str]:
    """Replace the extra addresses (`mailAlias`) of an account; each must be in the account's domain and
    free (not an address of another account or alias). A removed address also leaves every alias's members
    (aliases/services/membership.py). Returns the new list."""
    entry = directory.get_account(dn, "mailAlias")
    if not entry.has_object_class("mailAccount"):
        raise InvalidName("Console administrators in ou=admins have no address.", "addresses")
    domain = dit.domain_of(dn) or ""
    wanted = check_addresses(addresses, "addresses", limit=MAX_ADDRESSES)
    for address in wanted:
        if address.rpartition("@")[2] != domain:
            raise InvalidName(f"Every address must be in the domain {domain}.", "addresses")
        if address == entry.first("mail"):
            raise InvalidName(f"{address} is the primary address already.", "addresses")
    current = [a.lower() for a in entry.values("mailAlias")]
    for address in wanted:
        if address not in current:
            directory.preflight_unique("", address, exclude_dn=dn)
    if wanted == current:
        return wanted
    aliases = membership.plan_remove([a for a in current if a not in wanted], holder_dn=dn)
    after: dict[str, Any] = {"mailAlias": wanted}
    if aliases:
        after["aliases"] = membership.audit_names(aliases)
    data = {
        "dn": dn,
        "after": {"mailAlias": wanted or None},
        "before": {"mailAlias": current or None},
        "aliases": membership.changes_to_json(aliases),
    }

    def work() -> None:
        steps = ["addresses", *(["aliases"] if aliases else [])]
        with Journal.begin(actor, USER_SET_ADDRESSES, dn, steps, data) as j:
            j.step(
                "addresses", lambda: directory.modify(dn, [directory.replace("mailAlias", wanted or None)])
            )
            if aliases:
                j.step(
                    "aliases", lambda: membership.members_apply(actor=actor, changes=aliases, holder_dn=dn)
                )

    audited(actor, "user_set_addresses", dn, after, work, before={"mailAlias": current})
    return wanted


# --- forwarding -----------------------------------------------------------------------------------------


def user_set_forwarding(*, actor: Actor, dn: str, targets: Iterable[str], keep_copy: bool) -> list[str]:
    """Forward the account's mail to `targets` (none: stop forwarding); `keep_copy` also delivers it to the
    own mailbox. Refuses loops (a target leading back here), unknown local targets, and external targets
    for an account that may send only local mail (forwarding would be a way around that)."""
    entry = directory.get_account(dn, "mailAlias", "mailForward", "mailKeepCopy", "mailSendLocalOnly")
    if not entry.has_object_class("mailAccount"):
        raise InvalidName("Console administrators in ou=admins have no mail to forward.", "targets")
    wanted = check_addresses(targets, "targets", limit=MAX_FORWARDS)
    own = {a.lower() for a in (*entry.values("mail"), *entry.values("mailAlias"))}
    local_only = entry.first("mailSendLocalOnly").upper() == "TRUE"
    for address in wanted:
        if address in own:
            raise InvalidName(f"{address} is an address of this account itself.", "targets")
        check_local_target(address, "targets")
        if local_only and not is_hosted(address.rpartition("@")[2]):
            raise InvalidName(
                "This account may send only local mail, so it cannot forward to another server.", "targets"
            )
    if leads_to(wanted, dn):
        raise InvalidName(
            "These targets lead back to this account (a forwarding loop); mail would never arrive.", "targets"
        )
    keep = "TRUE" if (keep_copy and wanted) else None
    before = {"mailForward": list(entry.values("mailForward")), "mailKeepCopy": entry.first("mailKeepCopy")}
    if before["mailForward"] == wanted and (before["mailKeepCopy"] or None) == keep:
        return wanted
    changes = [directory.replace("mailForward", wanted or None), directory.replace("mailKeepCopy", keep)]
    after: dict[str, Any] = {"mailForward": wanted, "mailKeepCopy": keep}
    audited(actor, "user_set_forwarding", dn, after, lambda: directory.modify(dn, changes), before=before)
    return wanted


# --- catch-all and alias domains ------------------------------------------------------------------------


def _domain_entry(domain: str) -> directory.Entry:
    name = check_domain(domain)
    entry = directory.get_entry(dit.domain_dn(name), ["objectClass", "dc", "mailCatchAll", "mailDomainAlias"])
    if entry is None or not entry.has_object_class("mailDomain"):
        raise DirectoryNotFound(f"There is no domain {name}.")
    return entry


def domain_set_catch_all(*, actor: Actor, domain: str, target: str) -> str:
    """Mail to unknown addresses of `domain` goes to `target` (empty: no catch-all, unknown ones get 550)."""
    entry = _domain_entry(domain)
    address = check_address(target.strip(), "catch_all") if target.strip() else ""
    if address:
        # inside the domain it must be a real address, or the catch-all would answer for itself
        inside = address.rpartition("@")[2] in {entry.first("dc"), *entry.values("mailDomainAlias")}
        if inside and owner_of(address) is None:
            raise InvalidName(f"There is no account or alias {address} in this domain.", "catch_all")
        check_local_target(address, "catch_all")
    before = entry.first("mailCatchAll")
    if before == address:
        return address
    change = directory.replace("mailCatchAll", address or None)
    after: dict[str, Any] = {"mailCatchAll": address or None}
    audited(
        actor,
        "domain_set_catch_all",
        entry.dn,
        after,
        lambda: directory.modify(entry.dn, [change]),
        before={"mailCatchAll": before or None},
    )
    return address


def _has_addresses_in(domain: str) -> bool:
    at = f"@{escape_filter(domain)}"
    try:
        found = directory.search(
            dit.domains_dn(), f"(|(mail=*{at})(mailAlias=*{at}))", directory.NO_ATTRS, limit=1
        )
    except DirectorySizeLimit:
        return True
    return bool(found)


def domain_add_alias(*, actor: Actor, domain: str, alias: str) -> str:
    """All mail to `alias` (another domain name, not hosted here) is delivered as `domain`."""
    entry = _domain_entry(domain)
    name = check_domain(alias, "alias_domain")
    if name == str(settings.MAILBOX_DOMAIN).lower() or name == entry.first("dc"):
        raise InvalidName(f"{name} cannot be an alias domain of {entry.first('dc')}.", "alias_domain")
    if hosted_domain(name) is not None:
        raise InvalidName(
            f"{name} is a domain of this server already (a domain or another domain's alias).", "alias_domain"
        )
    # e.g. external contacts there: their mail would be rewritten into this domain and bounce
    if _has_addresses_in(name):
        raise InvalidName(
            f"Accounts, contacts or aliases here have addresses in {name}; mail to them would be rewritten "
            f"into {entry.first('dc')} and bounce.",
            "alias_domain",
        )
    after: dict[str, Any] = {"mailDomainAlias": name}
    change = directory.add_values("mailDomainAlias", name)
    audited(actor, "domain_add_alias", entry.dn, after, lambda: directory.modify(entry.dn, [change]))
    return name


def domain_remove_alias(*, actor: Actor, domain: str, alias: str) -> None:
    entry = _domain_entry(domain)
    name = check_domain(alias, "alias_domain")
    if name not in [v.lower() for v in entry.values("mailDomainAlias")]:
        raise DirectoryNotFound(f"{name} is not an alias domain of {entry.first('dc')}.")
    after: dict[str, Any] = {"removed": name}
    change = directory.delete_values("mailDomainAlias", name)
    audited(actor, "domain_remove_alias", entry.dn, after, lambda: directory.modify(entry.dn, [change]))
