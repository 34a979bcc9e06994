"""Reading the audit log: which rows a person may see, and what of each row they may read.

- Administrators: every row, whole.
- Domain administrators: rows that belong to one of their domains. A row may still name objects elsewhere
  (deleting a user also takes their address out of another domain's alias, and the row says which): every
  address of another hosted domain and every DN outside their domains (another domain's entries, system
  aliases, console accounts) is shown as "(elsewhere)". Addresses outside the server (an alias's external
  member) are not the directory's objects and stay readable.
- Group administrators: rows about objects inside their own groups (the target is the group or below it),
  with the same blanking for anything outside their groups.
- Anyone else: nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from mailadmin import directory
from mailadmin.actor import Actor
from mailadmin.audit.models import AuditEntry
from mailadmin.directory import dit

# An address, or a run of RDNs (type=value pairs joined by commas) as the services write DNs in texts. A
# value may hold inner spaces ("ou=Sales Team"), so a DN at the end of a sentence takes the words after it
# along; `_blank_text` then keeps only a prefix that is a DN the reader may see.
_ADDRESS = re.compile(r"[A-Za-z0-9._%+=-]+@([A-Za-z0-9.-]+\.[A-Za-z0-9-]+)")
_VALUE = r"(?:\\.|[^,\\\s])(?:(?:\\.|[^,\\])*(?:\\.|[^,\\\s]))?"
_PAIR = rf"[A-Za-z][A-Za-z0-9-]*={_VALUE}"
_DN = re.compile(rf"{_PAIR}(?:,{_PAIR})+")


@dataclass(frozen=True)
class AuditScope:
    """What a reader may see: `everything`, or the domain names whose addresses and the DNs (bases) whose
    subtrees may be named. `hosted`: the other domains of this server met on the page (their addresses are
    blanked); None means "treat every other domain as hosted"."""

    everything: bool
    domains: frozenset[str] = frozenset()
    bases: tuple[str, ...] = ()
    hosted: frozenset[str] | None = None

    def may_name_address(self, domain: str) -> bool:
        domain = domain.lower()
        if self.everything or domain in self.domains:
            return True
        return self.hosted is not None and domain not in self.hosted

    def may_name_dn(self, dn: str) -> bool:
        return self.everything or any(dit.is_inside(dn, base) for base in self.bases)


def audit_scope(actor: Actor) -> AuditScope:
    roles = actor.roles
    if roles.administrator:
        return AuditScope(everything=True)
    if roles.domains:
        names = frozenset(n for d in roles.domains if (n := dit.domain_name(d)))
        return AuditScope(everything=False, domains=names, bases=tuple(sorted(roles.domains)))
    if roles.groups:
        names = frozenset(n for g in roles.groups if (n := dit.domain_name(g)))
        return AuditScope(everything=False, domains=names, bases=tuple(sorted(roles.groups)))
    return AuditScope(everything=False)


def visible_entries(actor: Actor) -> QuerySet[AuditEntry]:
    """The rows the actor may see (not yet blanked: see `readable`)."""
    entries = AuditEntry.objects.all()
    roles = actor.roles
    if roles.administrator:
        return entries
    scope = Q(pk__in=[])
    if roles.domains:
        for dn in roles.domains:
            if name := dit.domain_name(dn):
                scope |= Q(domains__contains=f",{name},")
        return entries.filter(scope)
    for group in roles.groups:
        key = dit.normalize_dn(group)
        scope |= Q(target_key=key) | Q(target_key__endswith="," + key)
    return entries.filter(scope)


def _blank_text(text: str, scope: AuditScope) -> str:
    elsewhere = _("(elsewhere)")

    def dn(match: re.Match[str]) -> str:
        text = match.group(0)
        cut = len(text)
        while cut > 0:
            head = text[:cut]
            if dit.valid_dn(head) and scope.may_name_dn(head):
                return head + _blank_text(text[cut:], scope)
            cut = text.rfind(" ", 0, cut)
        return elsewhere  # no part of it is a DN the reader may see

    def address(match: re.Match[str]) -> str:
        return match.group(0) if scope.may_name_address(match.group(1)) else elsewhere

    return _ADDRESS.sub(address, _DN.sub(dn, text))


def _blank(value: Any, scope: AuditScope) -> Any:
    if isinstance(value, str):
        return _blank_text(value, scope)
    if isinstance(value, list):
        return [_blank(v, scope) for v in value]
    if isinstance(value, dict):
        return {k: _blank(v, scope) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class AuditRow:
    """One row as the reader may read it."""

    when: datetime
    actor: str
    actor_dn: str
    source_ip: str | None
    action: str
    target: str
    before: Any
    after: Any
    ok: bool
    detail: str


def _address_domains(value: Any, found: set[str]) -> None:
    if isinstance(value, str):
        found.update(m.group(1).lower() for m in _ADDRESS.finditer(value))
    elif isinstance(value, list):
        for v in value:
            _address_domains(v, found)
    elif isinstance(value, dict):
        for v in value.values():
            _address_domains(v, found)


def page_rows(actor: Actor, entries: Iterable[AuditEntry]) -> list[AuditRow]:
    """A page of rows as the actor may read them. Which of the foreign domains named on the page are hosted
    here is asked of the directory in one search."""
    scope = audit_scope(actor)
    entries = list(entries)
    if not scope.everything:
        named: set[str] = set()
        for e in entries:
            _address_domains([e.target, e.detail, e.actor_dn, e.before, e.after], named)
        scope = replace(scope, hosted=directory.hosted_domains(named - scope.domains))
    return [readable(e, scope) for e in entries]


def readable(entry: AuditEntry, scope: AuditScope) -> AuditRow:
    """The row with every name the reader may not see blanked out."""
    if scope.everything:
        return AuditRow(
            entry.when,
            entry.actor,
            entry.actor_dn,
            entry.source_ip,
            entry.action,
            entry.target,
            entry.before,
            entry.after,
            entry.ok,
            entry.detail,
        )
    return AuditRow(
        entry.when,
        entry.actor,
        _blank_text(entry.actor_dn, scope),
        entry.source_ip,
        entry.action,
        _blank_text(entry.target, scope),
        _blank(entry.before, scope),
        _blank(entry.after, scope),
        entry.ok,
        _blank_text(entry.detail, scope),
    )
