"""Account search (ACC-09): which filter, which base, which sort; no HTTP, no writes, no directory request
(the search runs in `accounts.selectors.account_search_page` / `account_search_count`).

The view and the bulk job both build their query here, so "all matching this search" in a job means exactly
what the page showed. The base is where the actor's scope is enforced: it must be inside one of the
containers the actor administers, and slapd returns only what lies below it (never filter after fetching).
Every value goes through `check_value` and then `escape_filter`; attribute names come from an allow-list.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from mailadmin.actor import Actor
from mailadmin.directory import InvalidName, check_value, dit, escape_filter, filter_and, filter_or

PAGE_SIZE = 50
MAX_TEXT = 256
RESULT_ATTRS = ("uid", "cn", "mail", "objectClass", "mailEnabled", "mailQuota", "mailWebAccess")
SIMPLE_ATTRS = ("cn", "sn", "givenName", "uid", "mail", "mailAlias")

TEXT, FLAG, NUMBER = "text", "flag", "number"
# attribute -> (label, value type). Text attributes allow every match; flags and numbers only equals/present
# (their schema has no substring rule).
ATTRIBUTES: dict[str, tuple[str | Promise, str]] = {
    "uid": (_("Login/User name"), TEXT),
    "cn": (_("Name"), TEXT),
    "sn": (_("Last name"), TEXT),
    "givenName": (_("First name"), TEXT),
    "mail": (_("Address"), TEXT),
    "mailAlias": (_("Alias address"), TEXT),
    "telephoneNumber": (_("Telephone"), TEXT),
    "title": (_("Title"), TEXT),
    "mailEnabled": (_("Enabled"), FLAG),
    "mailWebAccess": (_("Access WebClient"), FLAG),
    "mailQuota": (_("Quota (KiB)"), NUMBER),
}
MATCHES: dict[str, str | Promise] = {
    "equals": _("equals"),
    "starts": _("starts with"),
    "contains": _("contains"),
    "present": _("is present"),
}
KINDS: dict[str, tuple[str | Promise, str]] = {
    "all": (_("Users, resources and contacts"), "(objectClass=inetOrgPerson)"),
    "user": (_("Users"), "(&(objectClass=mailAccount)(!(objectClass=mailResource)))"),
    "resource": (_("Resources"), "(&(objectClass=mailAccount)(objectClass=mailResource))"),
    "contact": (_("Contacts"), "(objectClass=mailContact)"),
}
SORTS: dict[str, str | Promise] = {
    "cn": _("Name"),
    "-cn": _("Name, descending"),
    "uid": _("Login/User name"),
    "-uid": _("Login/User name, descending"),
    "mail": _("Address"),
    "-mail": _("Address, descending"),
}


def search_bases(actor: Actor) -> list[tuple[str, str]]:
    """Where this actor may search, as (DN, label): the whole tree for administrators, otherwise the
    domains and groups they administer."""
    bases: list[tuple[str, str]] = []
    if actor.roles.administrator:
        bases.append((dit.domains_dn(), str(_("All domains"))))
    for dn in sorted(actor.roles.domains):
        bases.append((dn, dit.domain_of(dn) or dn))
    for dn in sorted(actor.roles.groups):
        bases.append((dn, f"{dit.rdn_value(dn)} ({dit.domain_of(dn) or '?'})"))
    return bases


def base_allowed(actor: Actor, base: str) -> bool:
    """May `actor` search below `base`? Administrators anywhere in ou=domains; others inside their own."""
    if not base or len(base) > 1024 or not dit.valid_dn(base):
        return False
    if actor.roles.administrator:
        return dit.is_inside(base, dit.domains_dn())
    return any(dit.is_inside(base, own) for own in actor.roles.domains | actor.roles.groups)


def _substring(value: str, match: str) -> str:
    escaped = escape_filter(value)
    if match == "starts":
        return f"{escaped}*"
    if match == "contains":
        return f"*{escaped}*"
    return escaped


@dataclass(frozen=True)
class AccountQuery:
    """One search. `mode` "simple" looks for `text` in names, login and addresses; "attribute" matches
    one attribute of the allow-list."""

    base: str
    mode: str = "simple"
    text: str = ""
    match: str = "starts"
    attribute: str = "uid"
    kind: str = "all"
    sort: str = "cn"

    @classmethod
    def build(cls, data: Mapping[str, Any]) -> AccountQuery:
        """Check every part; InvalidName (with the field) for the first bad one. The base is checked for
        form only: the caller checks it against the actor with `base_allowed`."""
        mode = str(data.get("mode") or "simple")
        if mode not in ("simple", "attribute"):
            raise InvalidName("Choose a simple search or a search by attribute.", "mode")
        text = check_value(str(data.get("text") or ""), "text", max_length=MAX_TEXT).strip()
        match = str(data.get("match") or "starts")
        if match not in MATCHES or (mode == "simple" and match not in ("starts", "contains")):
            raise InvalidName("Choose how the value must match.", "match")
        attribute = str(data.get("attribute") or "uid")
        if attribute not in ATTRIBUTES:
            raise InvalidName("Choose an attribute from the list.", "attribute")
        kind = str(data.get("kind") or "all")
        if kind not in KINDS:
            raise InvalidName("Choose what to look for.", "kind")
        sort = str(data.get("sort") or "cn")
        if sort not in SORTS:
            raise InvalidName("Choose a sort order from the list.", "sort")
        base = str(data.get("base") or "")
        if not base or len(base) > 1024 or not dit.valid_dn(base):
            raise InvalidName("Choose where to search.", "base")
        if mode == "attribute":
            text = _checked_attribute_value(attribute, match, text)
        return cls(base=base, mode=mode, text=text, match=match, attribute=attribute, kind=kind, sort=sort)

    def filter(self) -> str:
        kind = KINDS[self.kind][1]
        if self.mode == "simple":
            if not self.text:
                return kind
            value = _substring(self.text, self.match)
            return filter_and(kind, filter_or(*(f"({a}={value})" for a in SIMPLE_ATTRS)))
        if self.match == "present":
            return filter_and(kind, f"({self.attribute}=*)")
        return filter_and(kind, f"({self.attribute}={_substring(self.text, self.match)})")

    @property
    def sort_keys(self) -> tuple[str, ...]:
        # A second key keeps the order stable among equal names.
        primary = self.sort.lstrip("-")
        second = "uid" if primary != "uid" else "cn"
        return (self.sort, ("-" if self.sort.startswith("-") else "") + second)

    def to_params(self) -> dict[str, str]:
        return {key: str(value) for key, value in asdict(self).items()}


def _checked_attribute_value(attribute: str, match: str, text: str) -> str:
    kind = ATTRIBUTES[attribute][1]
    if match == "present":
        return ""
    if not text:
        raise InvalidName("Enter a value to look for.", "text")
    if kind != TEXT and match != "equals":
        raise InvalidName(
            "This attribute can only be compared whole (equals) or tested for presence.", "match"
        )
    if kind == FLAG:
        upper = text.upper()
        if upper in ("TRUE", "YES", "1"):
            return "TRUE"
        if upper in ("FALSE", "NO", "0"):
            return "FALSE"
        raise InvalidName("Enter TRUE or FALSE.", "text")
    if kind == NUMBER and not (text.isascii() and text.isdigit() and len(text) <= 18):
        raise InvalidName("Enter a whole number.", "text")
    return text
