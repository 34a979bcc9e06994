"""The read layer of the Aliases menu (selectors): one alias as the pages show it, View / Find aliases
(ALI-01, ALI-02): which base, filter and sort; and what the address pages read (a user's forwarding, a
domain's catch-all and alias domains, the domains an administrator may ask Explain about). No HTTP, no writes.

The scope is where the actor's rights are enforced, in the query slapd runs (never by filtering afterwards):
  - "all": every domain (administrators only);
  - a domain name: the aliases of that domain (administrators, and its domain administrators);
  - "owned": the aliases whose mailAliasOwner is the actor (everyone with an account).
Every value passes an allow-list, then `escape_filter`; pages are VLV windows sorted by slapd.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from aliases.names import ALIAS_ATTRS, ALIAS_FILTER, alias_dn, is_alias_dn
from mailadmin import directory
from mailadmin.actor import Actor
from mailadmin.directory import (
    DirectoryNotFound,
    InvalidName,
    check_address,
    check_domain,
    check_login,
    check_value,
    dit,
    escape_filter,
    filter_and,
    filter_eq,
    filter_or,
)

PAGE_SIZE = 50
RESULT_ATTRS = ("cn", "mail", "rfc822MailMember", "mailAliasOwner", "mailAliasOpen", "mailAliasRestricted")
ALL, OWNED = "all", "owned"
MATCHES: dict[str, str | Promise] = {"starts": _("starts with"), "contains": _("contains")}
FLAGS: dict[str, tuple[str | Promise, str]] = {
    "any": (_("Any"), ""),
    "open": (_("Open Membership"), "(mailAliasOpen=TRUE)"),
    "restricted": (_("Restricted"), "(mailAliasRestricted=TRUE)"),
    "closed": (
        _("Neither (senders of this server's domains)"),
        "(&(!(mailAliasOpen=TRUE))(!(mailAliasRestricted=TRUE)))",
    ),
}
SORTS: dict[str, str | Promise] = {"mail": _("Address"), "-mail": _("Address, descending")}


def scopes(actor: Actor) -> list[tuple[str, str]]:
    """(value, label) of the places this actor may list."""
    found: list[tuple[str, str]] = []
    if actor.roles.administrator:
        found.append((ALL, str(_("All domains"))))
    for dn in sorted(actor.roles.domains):
        name = dit.domain_of(dn)
        if name:
            found.append((name, name))
    if actor.dn:
        found.append((OWNED, str(_("Aliases I own"))))
    return found


def scope_allowed(actor: Actor, scope: str) -> bool:
    if scope == ALL:
        return actor.roles.administrator
    if scope == OWNED:
        return bool(actor.dn)
    try:
        name = check_domain(scope, "scope")
    except InvalidName:
        return False
    if actor.roles.administrator:
        return True
    return any(dit.domain_of(dn) == name for dn in actor.roles.domains)


def default_scope(actor: Actor) -> str:
    options = scopes(actor)
    return options[0][0] if options else OWNED


@dataclass(frozen=True)
class AliasQuery:
    """One list or search. Empty criteria list everything in the scope ("Show all")."""

    scope: str
    text: str = ""
    match: str = "starts"
    member: str = ""
    owner: str = ""
    flag: str = "any"
    sort: str = "mail"

    @classmethod
    def build(cls, data: Mapping[str, Any], actor: Actor) -> AliasQuery:
        """Check every part (InvalidName with the field for the first bad one). A scope the actor may not
        use is InvalidName too: the caller turns it into a 404."""
        scope = str(data.get("scope") or default_scope(actor))
        if not scope_allowed(actor, scope):
            raise InvalidName("Choose where to look.", "scope")
        if scope not in (ALL, OWNED):
            scope = check_domain(scope, "scope")
        text = check_value(str(data.get("text") or ""), "text", max_length=254).strip().lower()
        if text and not all(c.isalnum() or c in "._+-@" for c in text):
            raise InvalidName(
                "Look for letters, digits and '.', '_', '+', '-' or '@' (part of an alias address).", "text"
            )
        match = str(data.get("match") or "starts")
        if match not in MATCHES:
            raise InvalidName("Choose how the name must match.", "match")
        member = str(data.get("member") or "").strip()
        if member:
            member = check_address(member, "member")
        owner = str(data.get("owner") or "").strip().lower()
        if owner:
            owner = check_login(owner, "owner")
        flag = str(data.get("flag") or "any")
        if flag not in FLAGS:
            raise InvalidName("Choose a flag from the list.", "flag")
        sort = str(data.get("sort") or "mail")
        if sort not in SORTS:
            raise InvalidName("Choose a sort order from the list.", "sort")
        return cls(scope=scope, text=text, match=match, member=member, owner=owner, flag=flag, sort=sort)

    def base(self) -> str:
        if self.scope in (ALL, OWNED):
            return dit.domains_dn()
        return dit.domain_dn(self.scope)

    def filter(self, actor: Actor) -> str:
        parts = [ALIAS_FILTER]
        if self.scope == OWNED:
            parts.append(filter_eq("mailAliasOwner", actor.dn))
        if self.text:
            value = escape_filter(self.text)
            pattern = f"{value}*" if self.match == "starts" else f"*{value}*"
            # `cn` is the name, `mail` the whole address: "sales" and "sales@a.test" both find it. One
            # attribute per search: each substring term costs a pass over its index candidates.
            parts.append(f"(mail={pattern})" if "@" in self.text else f"(cn={pattern})")
        if self.member:
            parts.append(filter_eq("rfc822MailMember", self.member))
        if self.owner:
            parts.append(self._owner_filter())
        if FLAGS[self.flag][1]:
            parts.append(FLAGS[self.flag][1])
        return filter_and(*parts)

    def _owner_filter(self) -> str:
        """Owners are stored as DNs; the form asks for a login name (unique on the server)."""
        found = directory.search(
            dit.domains_dn(),
            filter_and("(objectClass=mailAccount)", filter_eq("uid", self.owner)),
            directory.NO_ATTRS,
            limit=0,
        )
        if not found:
            return "(!(objectClass=*))"  # nobody of that name owns anything
        return filter_or(*(filter_eq("mailAliasOwner", e.dn) for e in found))

    def to_params(self) -> dict[str, str]:
        return {key: str(value) for key, value in asdict(self).items()}


def alias_page(*, query: AliasQuery, actor: Actor, page: int) -> directory.Window:
    """Page `page` (1-based) of the list or search, sorted and cut by slapd (VLV)."""
    return directory.search_window(
        query.base(),
        query.filter(actor),
        list(RESULT_ATTRS),
        offset=(max(page, 1) - 1) * PAGE_SIZE,
        count=PAGE_SIZE,
        sort=(query.sort,),
    )


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


# --- what the address pages read ------------------------------------------------------------------------


def forwarding_entry(*, dn: str) -> directory.Entry | None:
    """The account's forwarding as stored (uid, mail, mailForward, mailKeepCopy); None if there is none."""
    return directory.get_entry(dn, ["uid", "mail", "mailForward", "mailKeepCopy"])


def domain_address_entry(*, domain: str) -> directory.Entry | None:
    """The domain entry with its catch-all and alias domains; None if there is no such mail domain."""
    entry = directory.get_entry(
        dit.domain_dn(domain), ["objectClass", "dc", "mailCatchAll", "mailDomainAlias"]
    )
    return entry if entry is not None and entry.has_object_class("mailDomain") else None


def administered_domain_names(*, actor: Actor) -> set[str]:
    """The names of the domains `actor` administers and of their alias domains (lower-case); one read per
    domain held."""
    names: set[str] = set()
    for dn in actor.roles.domains:
        entry = directory.get_entry(dn, ["dc", "mailDomainAlias"])
        if entry is not None:
            names.add(entry.first("dc").lower())
            names.update(v.lower() for v in entry.values("mailDomainAlias"))
    return names
