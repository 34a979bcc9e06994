"""Renaming (ACC-05, ACC-06), deleting and moving (ACC-04) entries of the tree.

Containers are deleted only when empty: the refusal names what is inside. Moves are slapd renames with a
new superior; refint rewrites every reference (memberships, administrator roles, alias owners), and
mailboxes are named after the login (`user/<uid>`), so a moved user keeps its mailbox untouched.

A container's access rules follow it (privacy.py): rules for the new place before the rename, the old
ones dropped after it. Renames, moves and deletes run journaled (accounts/services/journal.py): a failed
step undoes the done ones, a crash leaves a row the drift check finishes or undoes; a deleted container is
kept in the row, so undoing its deletion puts it back.
"""

from __future__ import annotations

from functools import partial
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
from accounts.services import ensure
from accounts.services.common import get_mail_container
from accounts.services.journal import Data, Journal, Step, covered, journal_kind
from accounts.services.privacy import private_containers_prepare_move, private_containers_sync
from configuration.services import hosted_domains_changed
from mailadmin import directory
from mailadmin.actor import Actor
from mailadmin.audit.services import audited
from mailadmin.directory import (
    DirectoryConflict,
    DirectoryNotFound,
    InvalidName,
    check_container_name,
    dit,
    escape_dn,
)
from mailadmin.permissions import Kind, Verb, can

_RDN_ATTR = {Kind.USER: "uid", Kind.RESOURCE: "uid", Kind.CONTACT: "cn", Kind.GROUP: "ou"}


# --- how each step is finished or undone after a crash (accounts/services/journal.py) --------------------
# A rename or move keeps {dn, new_dn, rdn, old_rdn, parent, new_parent} in the row.


def _rules_prepared(data: Data, _actor: Actor) -> None:
    private_containers_prepare_move(dn=data["dn"], new_dn=data["new_dn"])


def _rules_synced(_data: Data, actor: Actor) -> None:
    private_containers_sync(actor=actor)


def _new_parent(data: Data) -> str | None:
    return None if dit.same_dn(data["new_parent"], data["parent"]) else str(data["new_parent"])


def _at_new_place(data: Data, _actor: Actor) -> None:
    ensure.renamed(data["dn"], data["new_dn"], data["rdn"], _new_parent(data))


def _at_old_place(data: Data, actor: Actor) -> None:
    # The same order as forward: rules for the place it goes back to, the rename, then the rules follow.
    if directory.exists(data["new_dn"]) and not dit.same_dn(data["new_dn"], data["dn"]):
        private_containers_prepare_move(dn=data["new_dn"], new_dn=data["dn"])
    back_parent = None if _new_parent(data) is None else str(data["parent"])
    ensure.renamed(data["new_dn"], data["dn"], data["old_rdn"], back_parent)
    private_containers_sync(actor=actor)


_RENAME_STEPS = {
    "prepare": Step(redo=_rules_prepared, undo=_rules_synced),
    "rename": Step(redo=_at_new_place, undo=_at_old_place),
    "sync": Step(redo=_rules_synced, undo=covered),
}
CONTAINER_RENAME = journal_kind("container_rename", _RENAME_STEPS)
ENTRY_MOVE = journal_kind("entry_move", _RENAME_STEPS)


def _part_step(step: str) -> Step:
    """A deleted part of a container, kept in data["parts"][step] as {"dn": ..., "attrs": ...}."""

    def redo(data: Data, _actor: Actor) -> None:
        ensure.deleted(data["parts"][step]["dn"])

    def undo(data: Data, _actor: Actor) -> None:
        ensure.readded(data["parts"][step])

    return Step(redo=redo, undo=undo)


CONTAINER_DELETE = journal_kind(
    "container_delete",
    {
        **{step: _part_step(step) for step in ("aliases", "organization", "domain", "entry")},
        # Re-added private containers get their rules back first (ensure.readded).
        "rules": Step(redo=_rules_synced, undo=covered),
    },
    remakes=True,
)


def _run_rename(actor: Actor, kind: Any, data: dict[str, Any], container: bool) -> str:
    """Rename or move data["dn"] to data["new_dn"], journaled; returns the DN as the server spells it. A
    container's rules are prepared before and synced after (docs/decisions/0004)."""
    dn = data["dn"]
    steps = ["prepare", "rename", "sync"] if container else ["rename"]
    with Journal.begin(actor, kind, dn, steps, data) as journal:
        if container:
            journal.step("prepare", lambda: private_containers_prepare_move(dn=dn, new_dn=data["new_dn"]))
        new_dn = journal.step("rename", lambda: directory.rename(dn, data["rdn"], _new_parent(data)))
        if container:
            journal.step("sync", lambda: private_containers_sync(actor=actor))
    return new_dn


def _rename_data(dn: str, naming: str, new_rdn: str, new_parent: str) -> dict[str, Any]:
    return {
        "dn": dn,
        "new_dn": f"{new_rdn},{new_parent}",
        "rdn": new_rdn,
        "old_rdn": f"{naming}={escape_dn(dit.rdn_value(dn))}",
        "parent": dit.parent_dn(dn),
        "new_parent": new_parent,
    }


# --- renaming ----------------------------------------------------------------------------------------------


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
    data = _rename_data(dn, naming, rdn, parent)

    def work() -> None:
        # Private containers at or below stay hidden at their new DN from the first moment (as for a move).
        renamed.append(_run_rename(actor, CONTAINER_RENAME, data, container=True))

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
    # (journal step, DN) of every part, leaf first.
    parts = [("entry", dn)]
    if kind is Kind.DOMAIN:
        domain = dit.domain_of(dn) or ""
        default_org = default_organization_dn(dn)
        parts = [("aliases", dit.aliases_dn(domain))]
        parts += [("organization", default_org)] if default_org else []
        parts += [("domain", dn)]
    saved: dict[str, dict[str, Any]] = {}
    for step, part in parts:
        found = directory.get_entry(part, ["*"]) if part != dn else entry
        if found is not None:  # else the domain had lost it already; nothing to delete or re-make
            saved[step] = {"dn": found.dn, "attrs": found.attrs}
    # slapd's rules name private containers by DN: drop the gone ones, or a container made later under the
    # same name would be born private.
    private = any(s["attrs"].get("mailprivate") == ["TRUE"] for s in saved.values())
    steps = [*saved, *(["rules"] if private else [])]

    def work() -> None:
        with Journal.begin(actor, CONTAINER_DELETE, dn, steps, {"dn": dn, "parts": saved}) as journal:
            for step, part in saved.items():
                journal.step(step, partial(directory.delete, str(part["dn"])))
            if private:
                journal.step("rules", lambda: private_containers_sync(actor=actor))

    deleted = [part for _step, part in parts]
    audited(actor, "container_delete", dn, {"kind": kind.value, "deleted": deleted}, work)
    if kind is Kind.DOMAIN:
        hosted_domains_changed()


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
    data = _rename_data(dn, _RDN_ATTR[kind], rdn, new_parent_dn)
    new_dn = data["new_dn"]

    def work() -> None:
        # A private group (or one inside it) must stay hidden at its new DN from the first moment: rules for
        # the new place first, then the move, then the rules of the old place go (privacy service, ACC-03).
        moved.append(_run_rename(actor, ENTRY_MOVE, data, container=kind is Kind.GROUP))

    audited(actor, "entry_move", dn, {"kind": kind.value, "to": new_dn}, work, before={"dn": dn})
    return moved[0]
