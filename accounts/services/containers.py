"""Domains (ACC-02), organizations (ACC-05), groups (ACC-06): create and change; renaming, deleting and
moving entries (ACC-04) are in moves.py (re-exported here).

A domain is three entries (the domain, its organization, its ou=aliases) and, when private, slapd access
rules; a change of a container may change its privacy too. Each of these runs journaled
(accounts/services/journal.py): a failed step undoes the done ones, and the drift check finishes or undoes
what a crashed process left.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import partial
from typing import Any

from accounts.selectors import get_container
from accounts.services import ensure
from accounts.services.common import get_mail_container
from accounts.services.journal import Data, Journal, JournalKind, Step, journal_kind
from accounts.services.moves import container_delete, container_rename, entry_move
from accounts.services.privacy import container_set_private, private_containers_sync
from configuration.services import hosted_domains_changed
from mailadmin import directory
from mailadmin.actor import Actor
from mailadmin.audit.services import audited
from mailadmin.directory import (
    DirectoryNotFound,
    InvalidName,
    check_container_name,
    check_domain,
    check_value,
    dit,
)
from mailadmin.permissions import Kind

__all__ = [
    "check_description",
    "check_phone",
    "container_delete",
    "container_rename",
    "domain_create",
    "domain_update",
    "entry_move",
    "group_create",
    "group_update",
    "organization_create",
    "organization_update",
    "postal_address_text",
    "postal_address_value",
]

MAX_DESCRIPTION = 512
MAX_POSTAL_LINES = 6  # X.520 postalAddress: at most six lines
MAX_POSTAL_LINE = 128
# telephoneNumber has PrintableString syntax; this is the part of it phone numbers use.
_PHONE_RE = re.compile(r"\+?[0-9][0-9 ()./-]{0,31}")


# --- checks of what is written -----------------------------------------------------------------------------


def check_description(value: str, field: str = "description") -> str:
    return check_value(value, field, max_length=MAX_DESCRIPTION).strip()


def check_phone(value: str, field: str = "phone") -> str:
    """A telephone number: digits with an optional leading +, spaces, ( ) . / -; empty means none."""
    value = value.strip() if isinstance(value, str) else value
    if value == "":
        return ""
    if not isinstance(value, str) or not _PHONE_RE.fullmatch(value):
        raise InvalidName(
            "A phone number is up to 32 digits, spaces and ( ) . / -, with an optional leading +.", field
        )
    return value


def postal_address_value(text: str, field: str = "postal_address") -> str:
    """Lines typed in a text area as one postalAddress value (RFC 4517: lines joined by `$`, with `\\` and `$`
    escaped as \\5C and \\24). Each line is checked like any other value; empty lines are dropped."""
    if not isinstance(text, str):
        raise InvalidName("The postal address must be text.", field)
    lines = [line.strip() for line in text.replace("\r\n", "\n").split("\n")]
    lines = [check_value(line, field, max_length=MAX_POSTAL_LINE) for line in lines if line]
    if len(lines) > MAX_POSTAL_LINES:
        raise InvalidName(f"A postal address has at most {MAX_POSTAL_LINES} lines.", field)
    return "$".join(line.replace("\\", "\\5C").replace("$", "\\24") for line in lines)


def postal_address_text(value: str) -> str:
    """The lines of a stored postalAddress, for a text area."""
    lines = value.split("$") if value else []
    return "\n".join(line.replace("\\24", "$").replace("\\5C", "\\").replace("\\5c", "\\") for line in lines)


def _optional(value: str) -> str | None:
    return value or None


# --- how each step is finished or undone after a crash (accounts/services/journal.py) --------------------
# Entries to make are kept in the row as data["entries"][step] = {"dn": ..., "attrs": ...}.


def _entry_step(step: str) -> Step:
    def redo(data: Data, _actor: Actor) -> None:
        ensure.added(data["entries"][step]["dn"], data["entries"][step]["attrs"])

    def undo(data: Data, _actor: Actor) -> None:
        ensure.deleted(data["entries"][step]["dn"])

    return Step(redo=redo, undo=undo)


def _put_private(dn: str, private: bool, actor: Actor) -> None:
    # Through the privacy service, so its audit row and (ACC-03) its slapd ACLs follow the flag; an entry
    # gone already (undoing its creation) only needs the rules rewritten.
    if directory.exists(dn):
        container_set_private(actor=actor, dn=dn, private=private)
    else:
        private_containers_sync(actor=actor)


# data["private"] is the flag wanted, data["was_private"] the one before.
_PRIVATE = Step(
    redo=lambda data, actor: _put_private(data["dn"], bool(data["private"]), actor),
    undo=lambda data, actor: _put_private(data["dn"], bool(data["was_private"]), actor),
)


DOMAIN_CREATE = journal_kind(
    "domain_create",
    {
        "domain": _entry_step("domain"),
        "organization": _entry_step("organization"),
        "aliases": _entry_step("aliases"),
        "private": _PRIVATE,
    },
    remakes=True,
)
_CREATE = {
    action: journal_kind(action, {"entry": _entry_step("entry"), "private": _PRIVATE}, remakes=True)
    for action in ("organization_create", "group_create")
}
_UPDATE = {
    action: journal_kind(
        action,
        {
            "attributes": Step(redo=ensure.attributes_after, undo=ensure.attributes_before),
            "private": _PRIVATE,
        },
        rerun_completes=True,
    )
    for action in ("domain_update", "organization_update", "group_update")
}


def _run_create(
    actor: Actor, kind: JournalKind, dn: str, entries: Mapping[str, dict[str, Any]], private: bool
) -> None:
    """Add the entries in order, then make the first one private if asked; journaled, undone on failure."""
    steps = [*entries, *(["private"] if private else [])]
    data = {"dn": dn, "entries": dict(entries), "private": private, "was_private": False}
    with Journal.begin(actor, kind, dn, steps, data) as journal:
        for step, entry in entries.items():
            journal.step(step, partial(directory.add, entry["dn"], entry["attrs"]))
        if private:
            journal.step("private", lambda: container_set_private(actor=actor, dn=dn, private=True))


# --- domains ---------------------------------------------------------------------------------------------


def domain_create(*, actor: Actor, name: str, description: str = "", private: bool = False) -> str:
    """A mail domain: its entry, its organization of the same name, and its ou=aliases. Returns the DN.

    All or nothing: a failed step removes the entries made before it."""
    domain = check_domain(name)
    text = check_description(description)
    domain_dn = dit.domain_dn(domain)
    attrs: dict[str, Any] = {"objectClass": ["domain", "mailDomain"], "dc": domain}
    if text:
        attrs["description"] = text
    entries = {
        "domain": {"dn": domain_dn, "attrs": attrs},
        "organization": {
            "dn": dit.organization_dn(domain, domain),
            "attrs": {"objectClass": ["organization", "mailContainer"], "o": domain},
        },
        "aliases": {
            "dn": dit.aliases_dn(domain),
            "attrs": {"objectClass": ["organizationalUnit"], "ou": "aliases"},
        },
    }

    def work() -> None:
        _run_create(actor, DOMAIN_CREATE, domain_dn, entries, private)

    audited(actor, "domain_create", domain_dn, {"name": domain, "private": private}, work)
    hosted_domains_changed()
    return domain_dn


def _update(
    actor: Actor, action: str, dn: str, kind: Kind, attrs: dict[str, str], private: bool | None
) -> None:
    entry, found = get_container(dn, ["mailPrivate", *attrs])
    if found is not kind:
        raise DirectoryNotFound(f"There is no {kind.value} {dn}.")
    before = {name: entry.get(name) for name in attrs}
    values = {name: _optional(value) for name, value in attrs.items()}
    was_private = entry.get("mailPrivate") == "TRUE"
    privacy = private is not None and private != was_private
    data = {"dn": dn, "after": values, "before": before, "private": private, "was_private": was_private}

    def work() -> None:
        steps = ["attributes", *(["private"] if privacy else [])]
        with Journal.begin(actor, _UPDATE[action], dn, steps, data) as journal:
            journal.step(
                "attributes",
                lambda: directory.modify(dn, [directory.replace(n, v) for n, v in values.items()]),
            )
            if privacy:
                journal.step(
                    "private", lambda: container_set_private(actor=actor, dn=dn, private=bool(private))
                )

    audited(actor, action, dn, {**attrs, "private": private}, work, before={**before, "private": was_private})


def domain_update(*, actor: Actor, dn: str, description: str, private: bool | None = None) -> None:
    """Change a domain's description and "Make private from rest of directory" (None: leave it)."""
    _update(actor, "domain_update", dn, Kind.DOMAIN, {"description": check_description(description)}, private)


# --- organizations and groups ------------------------------------------------------------------------------


def organization_create(
    *,
    actor: Actor,
    domain_dn: str,
    name: str,
    description: str = "",
    postal_address: str = "",
    phone: str = "",
    private: bool = False,
) -> str:
    """An organization (organization + mailContainer) inside a domain. Returns the DN."""
    check_container_name(name, "name")
    attrs = {
        "description": check_description(description),
        "postalAddress": postal_address_value(postal_address),
        "telephoneNumber": check_phone(phone),
    }
    domain = dit.domain_of(domain_dn)
    _entry, kind = get_container(domain_dn)
    if kind is not Kind.DOMAIN or domain is None:
        raise DirectoryNotFound(f"There is no domain {domain_dn}.")
    dn = dit.organization_dn(domain, name)
    return _create_container(
        actor, "organization_create", dn, ["organization", "mailContainer"], "o", name, attrs, private
    )


def organization_update(
    *,
    actor: Actor,
    dn: str,
    description: str,
    postal_address: str,
    phone: str,
    private: bool | None = None,
) -> None:
    attrs = {
        "description": check_description(description),
        "postalAddress": postal_address_value(postal_address),
        "telephoneNumber": check_phone(phone),
    }
    _update(actor, "organization_update", dn, Kind.ORGANIZATION, attrs, private)


def group_create(
    *, actor: Actor, parent_dn: str, name: str, description: str = "", private: bool = False
) -> str:
    """A group (organizationalUnit + mailContainer) in an organization or inside another group (nesting is
    allowed: a group administrator of the outer group administers the inner ones too). Returns the DN."""
    dn = dit.group_dn(parent_dn, name)
    attrs = {"description": check_description(description)}
    get_mail_container(parent_dn)
    return _create_container(
        actor, "group_create", dn, ["organizationalUnit", "mailContainer"], "ou", name, attrs, private
    )


def group_update(*, actor: Actor, dn: str, description: str, private: bool | None = None) -> None:
    _update(actor, "group_update", dn, Kind.GROUP, {"description": check_description(description)}, private)


def _create_container(
    actor: Actor,
    action: str,
    dn: str,
    classes: list[str],
    naming: str,
    name: str,
    attrs: dict[str, str],
    private: bool,
) -> str:
    entry: dict[str, Any] = {"objectClass": classes, naming: name}
    entry.update({attr: value for attr, value in attrs.items() if value})

    def work() -> None:
        _run_create(actor, _CREATE[action], dn, {"entry": {"dn": dn, "attrs": entry}}, private)

    audited(actor, action, dn, {"name": name, **attrs, "private": private}, work)
    return dn
