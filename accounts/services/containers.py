"""Domains (ACC-02), organizations (ACC-05), groups (ACC-06): create, change, delete; moving entries (ACC-04).

Containers are deleted only when empty: the refusal names what is inside. Moves are slapd renames with a
new superior; refint rewrites every reference (memberships, administrator roles, alias owners), and
mailboxes are named after the login (`user/<uid>`), so a moved user keeps its mailbox untouched.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from accounts.selectors import (
    MOVABLE_KINDS,
    ContainerNotEmpty,
    container_contents,
    default_organization_dn,
    get_container,
    get_kind,
    is_default_organization,
    may_move,
    move_target_refusal,
)
from accounts.services.common import Undo, get_mail_container
from accounts.services.privacy import (
    container_set_private,
    private_containers_prepare_move,
    private_containers_sync,
)
from mailadmin import directory
from mailadmin.actor import Actor
from mailadmin.audit.services import audited
from mailadmin.directory import (
    DirectoryConflict,
    DirectoryNotFound,
    InvalidName,
    check_container_name,
    check_domain,
    check_value,
    dit,
    escape_dn,
)
from mailadmin.permissions import Kind, Verb, can

MAX_DESCRIPTION = 512
MAX_POSTAL_LINES = 6  # X.520 postalAddress: at most six lines
MAX_POSTAL_LINE = 128
# telephoneNumber has PrintableString syntax; this is the part of it phone numbers use.
_PHONE_RE = re.compile(r"\+?[0-9][0-9 ()./-]{0,31}")
_RDN_ATTR = {Kind.USER: "uid", Kind.RESOURCE: "uid", Kind.CONTACT: "cn", Kind.GROUP: "ou"}


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


def _with_private(dn: str, actor: Actor, private: bool) -> None:
    # Through the privacy service, so its audit row and (ACC-03) its slapd ACLs follow the flag.
    if private:
        container_set_private(actor=actor, dn=dn, private=True)


# --- domains ---------------------------------------------------------------------------------------------


def domain_create(*, actor: Actor, name: str, description: str = "", private: bool = False) -> str:
    """A mail domain: its entry, its organization of the same name, and its ou=aliases. Returns the DN.

    All or nothing: a failed step removes the entries made before it."""
    domain = check_domain(name)
    text = check_description(description)
    domain_dn = dit.domain_dn(domain)
    org_dn = dit.organization_dn(domain, domain)
    aliases_dn = dit.aliases_dn(domain)
    undo = Undo("domain_create", domain_dn)
    attrs: dict[str, Any] = {"objectClass": ["domain", "mailDomain"], "dc": domain}
    if text:
        attrs["description"] = text

    def work() -> None:
        try:
            directory.add(domain_dn, attrs)
            undo.push("domain entry", lambda: directory.delete(domain_dn))
            directory.add(org_dn, {"objectClass": ["organization", "mailContainer"], "o": domain})
            undo.push("organization", lambda: directory.delete(org_dn))
            directory.add(aliases_dn, {"objectClass": ["organizationalUnit"], "ou": "aliases"})
            undo.push("ou=aliases", lambda: directory.delete(aliases_dn))
            _with_private(domain_dn, actor, private)
        except Exception:
            undo.run()
            raise

    audited(actor, "domain_create", domain_dn, {"name": domain, "private": private}, work)
    return domain_dn


def _update(
    actor: Actor, action: str, dn: str, kind: Kind, attrs: dict[str, str], private: bool | None
) -> None:
    entry, found = get_container(dn, ["mailPrivate", *attrs])
    if found is not kind:
        raise DirectoryNotFound(f"There is no {kind.value} {dn}.")
    before = {name: entry.get(name) for name in attrs}
    changes = [directory.replace(name, _optional(value)) for name, value in attrs.items()]
    was_private = entry.get("mailPrivate") == "TRUE"

    def work() -> None:
        directory.modify(dn, changes)
        if private is not None and private != was_private:
            try:
                container_set_private(actor=actor, dn=dn, private=private)
            except Exception:
                directory.modify(dn, [directory.replace(n, v) for n, v in before.items()])
                raise

    audited(actor, action, dn, {**attrs, "private": private, "before": before}, work)


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
    undo = Undo(action, dn)

    def work() -> None:
        try:
            directory.add(dn, entry)
            undo.push("entry", lambda: directory.delete(dn))
            _with_private(dn, actor, private)
        except Exception:
            undo.run()
            raise

    audited(actor, action, dn, {"name": name, **attrs, "private": private}, work)
    return dn


def container_rename(*, actor: Actor, dn: str, new_name: str) -> str:
    """Rename an organization or a group in place (ACC-05, ACC-06). Returns the new DN.

    Domains keep their name (it is every address's domain), and so does the organization made with a
    domain. Everything inside is renamed with the container by slapd (a subtree rename); refint rewrites
    memberships, administrator roles and alias owners, and mailboxes are named after the login, so nobody's
    mail moves. The actor needs the change right on the container and the right to create one like it in the
    same parent; a group also needs the rank check of a move (everyone inside gets a new DN). A refusal is
    DirectoryNotFound, as for a container that is not there."""
    if not dit.valid_dn(dn):
        raise InvalidName("This is not a valid directory name (DN).", "dn")
    check_container_name(new_name, "name")
    _entry, kind = get_container(dn)
    if kind not in (Kind.ORGANIZATION, Kind.GROUP):
        raise InvalidName("Only organizations and groups can be renamed.", "dn")
    if kind is Kind.ORGANIZATION and is_default_organization(dn):
        raise InvalidName("The organization made with the domain carries the domain's name.", "name")
    parent = dit.parent_dn(dn)
    if not (
        can(actor, Verb.VIEW, dn)
        and can(actor, Verb.CHANGE, dn, kind=kind)
        and can(actor, Verb.CREATE, parent, kind=kind)
        and (kind is not Kind.GROUP or may_move(actor, dn, kind))
    ):
        raise DirectoryNotFound(f"There is no {kind.value} {dn} that you may rename.")
    naming = "o" if kind is Kind.ORGANIZATION else "ou"
    if new_name == dit.rdn_value(dn):
        return dn
    rdn = f"{naming}={escape_dn(new_name)}"
    new_dn = f"{rdn},{parent}"
    if kind is Kind.ORGANIZATION and is_default_organization(new_dn):
        raise DirectoryConflict("That name belongs to the organization made with the domain.")
    if directory.exists(new_dn) and not dit.same_dn(new_dn, dn):  # case-only renames are allowed
        raise DirectoryConflict(f"There is already an entry named {new_name} here.")
    renamed: list[str] = []

    def work() -> None:
        # Private containers at or below stay hidden at their new DN from the first moment (as for a move).
        private_containers_prepare_move(dn=dn, new_dn=new_dn)
        try:
            renamed.append(directory.rename(dn, rdn))
        finally:
            private_containers_sync(actor=actor)

    audited(actor, "container_rename", dn, {"kind": kind.value, "name": new_name, "to": new_dn}, work)
    return renamed[0]


# --- deleting ----------------------------------------------------------------------------------------------


def container_delete(*, actor: Actor, dn: str) -> None:
    """Delete an empty domain, organization or group; ContainerNotEmpty names what is inside otherwise.

    A domain goes with its own organization and its ou=aliases (leaf first; re-made if a later step fails,
    e.g. because something was created inside meanwhile). The organization made with a domain is deleted
    only with the domain."""
    entry, kind = get_container(dn, ["*"])
    if kind is Kind.ORGANIZATION and is_default_organization(dn):
        raise InvalidName(
            "The organization made with the domain is deleted together with the domain, not on its own.", "dn"
        )
    contents = container_contents(dn)
    if not contents.empty:
        raise ContainerNotEmpty(contents)
    parts = [dn]
    if kind is Kind.DOMAIN:
        domain = dit.domain_of(dn) or ""
        default_org = default_organization_dn(dn)
        parts = [dit.aliases_dn(domain), *([default_org] if default_org else []), dn]
    undo = Undo("container_delete", dn)
    private: list[str] = []

    def work() -> None:
        try:
            for part in parts:
                saved = directory.get_entry(part, ["*"]) if part != dn else entry
                if saved is None:
                    continue  # the domain had lost it already; nothing to delete or re-make
                directory.delete(part)
                undo.push(part, _readd(saved))
                if saved.get("mailPrivate") == "TRUE":
                    private.append(part)
        except Exception:
            undo.run()
            raise

    audited(actor, "container_delete", dn, {"kind": kind.value, "deleted": parts}, work)
    if private:
        # slapd's rules name private containers by DN: drop the gone ones, or a container made later under
        # the same name would be born private.
        private_containers_sync(actor=actor)


def _readd(saved: directory.Entry) -> Callable[[], None]:
    return lambda: directory.add(saved.dn, saved.attrs)


# --- moving ------------------------------------------------------------------------------------------------


def entry_move(*, actor: Actor, dn: str, new_parent_dn: str) -> str:
    """Move a user, resource, contact or group into another organization or group. Returns the new DN.

    The actor needs the move right on the entry and the create right on the target (domain administrators
    therefore move only within their own domains); a refusal is DirectoryNotFound, as for an entry that is
    not there, so bulk jobs that call this report it without learning more. A group never goes into itself.
    The login name, the mailbox and every reference (refint) stay right."""
    if not dit.valid_dn(dn) or not dit.valid_dn(new_parent_dn):
        raise InvalidName("This is not a valid directory name (DN).", "dn")
    entry, kind = get_kind(dn)
    if kind not in MOVABLE_KINDS:
        raise InvalidName("Only users, resources, contacts and groups can be moved.", "dn")
    if not (
        can(actor, Verb.VIEW, dn)
        and may_move(actor, dn, kind)
        and can(actor, Verb.VIEW, new_parent_dn)
        and can(actor, Verb.CREATE, new_parent_dn, kind=kind)
    ):
        raise DirectoryNotFound(f"There is no entry {dn} that you may move there.")
    get_mail_container(new_parent_dn)
    refusal = move_target_refusal(dn, new_parent_dn)
    if refusal:
        raise InvalidName(refusal, "new_parent_dn")
    rdn = f"{_RDN_ATTR[kind]}={escape_dn(dit.rdn_value(dn))}"
    if directory.exists(f"{rdn},{new_parent_dn}"):  # a friendly message for slapd's "already exists"
        raise DirectoryConflict(f"The target already holds an entry named {dit.rdn_value(dn)}.")
    moved: list[str] = []
    new_dn = f"{rdn},{new_parent_dn}"

    def work() -> None:
        if kind is not Kind.GROUP:
            moved.append(directory.rename(dn, rdn, new_parent_dn))
            return
        # A private group (or one inside it) must stay hidden at its new DN from the first moment: rules for
        # the new place first, then the move, then the rules of the old place go (privacy service, ACC-03).
        private_containers_prepare_move(dn=dn, new_dn=new_dn)
        try:
            moved.append(directory.rename(dn, rdn, new_parent_dn))
        finally:
            private_containers_sync(actor=actor)

    audited(actor, "entry_move", dn, {"kind": kind.value, "to": new_dn}, work)
    return moved[0]
