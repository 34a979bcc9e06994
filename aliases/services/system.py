"""System aliases (ALI-05): `cn=<name>,ou=system-aliases,$BASE` (nisMailAlias, rfc822MailMember targets).

A system alias is valid for every hosted domain: `<name>@<any hosted domain>` reaches its targets, unless
that domain has an account or alias of the same name, which wins (Postfix asks the system-alias table after
the account and alias tables). Remote domains are never matched (mailadmin/configfiles/contract.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from aliases.services.addresses import MAX_FORWARDS, check_addresses, check_local_target, leads_to
from mailadmin import directory
from mailadmin.actor import Actor
from mailadmin.audit.services import audited
from mailadmin.directory import DirectoryConflict, InvalidName, dit, escape_dn, filter_eq

# The local part of an address, as check_address allows it: letters, digits, . _ + - (no dot at the ends).
_NAME_RE = re.compile(r"[a-z0-9_+-]+(?:\.[a-z0-9_+-]+)*")
MAX_NAME = 64


@dataclass(frozen=True)
class SystemAlias:
    name: str
    targets: tuple[str, ...]
    dn: str


def check_name(value: str, field: str = "name") -> str:
    name = value.lower() if isinstance(value, str) else ""
    if not name or len(name) > MAX_NAME or not _NAME_RE.fullmatch(name):
        raise InvalidName(
            f"A system alias name is the part before the @: 1 to {MAX_NAME} letters, digits, '.', '_', '+' "
            "or '-' (no leading, trailing or double dots), like postmaster.",
            field,
        )
    return name


def alias_dn(name: str) -> str:
    return f"cn={escape_dn(check_name(name))},{dit.system_aliases_dn()}"


def system_alias_list() -> list[SystemAlias]:
    entries = directory.search(
        dit.system_aliases_dn(),
        filter_eq("objectClass", "nisMailAlias"),
        ["cn", "rfc822MailMember"],
        scope="one",
        limit=1000,
    )
    found = [SystemAlias(e.first("cn").lower(), tuple(e.values("rfc822MailMember")), e.dn) for e in entries]
    return sorted(found, key=lambda a: a.name)


def _targets(name: str, values: Iterable[str], dn: str) -> list[str]:
    field = f"targets-{name}"
    targets = check_addresses(values, field, limit=MAX_FORWARDS)
    if not targets:
        raise InvalidName(f"The system alias {name} needs at least one address.", field)
    for address in targets:
        check_local_target(address, field)
    if leads_to(targets, dn):
        raise InvalidName(f"The addresses of {name} lead back to it (a loop).", field)
    return targets


def system_aliases_save(
    *,
    actor: Actor,
    update: Mapping[str, Iterable[str]] | None = None,
    delete: Iterable[str] = (),
    new_name: str = "",
    new_targets: Iterable[str] = (),
) -> list[str]:
    """ "Update All": change the targets of existing aliases (`update`: name -> addresses), delete some,
    and create one. Every value is checked before anything is written; returns the names changed."""
    current = {a.name: a for a in system_alias_list()}
    deleting = [check_name(n, "delete") for n in delete]
    for name in deleting:
        if name not in current:
            raise InvalidName(f"There is no system alias {name}.", "delete")
    planned: list[tuple[str, list[str]]] = []
    for raw_name, values in (update or {}).items():
        name = check_name(raw_name)
        if name not in current:
            raise InvalidName(f"There is no system alias {name}.", "name")
        if name in deleting:
            continue
        targets = _targets(name, values, current[name].dn)
        if list(current[name].targets) != targets:
            planned.append((name, targets))
    creating: tuple[str, list[str]] | None = None
    if new_name.strip():
        name = check_name(new_name, "new_name")  # not stripped: a stray space is refused, not guessed
        if name in current and name not in deleting:
            raise DirectoryConflict(f"There is a system alias {name} already.")
        creating = (name, _targets(name, new_targets, alias_dn(name)))
    elif any(v.strip() for v in new_targets):
        raise InvalidName("Give the new alias a name.", "new_name")

    changed: list[str] = []
    for name in deleting:
        dn = current[name].dn
        audited(actor, "system_alias_delete", dn, {"name": name}, partial(directory.delete, dn))
        changed.append(name)
    for name, targets in planned:
        dn = current[name].dn
        after: dict[str, Any] = {"rfc822MailMember": targets}
        before = {"rfc822MailMember": list(current[name].targets)}
        change = directory.replace("rfc822MailMember", targets)
        audited(
            actor, "system_alias_update", dn, after, partial(directory.modify, dn, [change]), before=before
        )
        changed.append(name)
    if creating is not None:
        name, targets = creating
        dn = alias_dn(name)
        attrs: dict[str, Any] = {
            "objectClass": ["top", "nisMailAlias"],
            "cn": name,
            "rfc822MailMember": targets,
        }
        created: dict[str, Any] = {"cn": name, "rfc822MailMember": targets}
        audited(actor, "system_alias_create", dn, created, partial(directory.add, dn, attrs))
        changed.append(name)
    return changed
