"""Mail Folders: public folders, their types and permissions, and users' folders (FLD-01 … FLD-05, SCX-01).

Cyrus owns folders and ACLs; these services check every name and right (mailadmin.imap_names) before a
session to Cyrus is opened, do the change through `mailadmin.imap`, and write an audit row either way.
Reads are folders.selectors.

Hosted companies (SCX-01): a domain's public folders live below a root folder named after the domain
(`a.test/Projects`). The root grants the domain's Cyrus group (`group:<domain's entryUUID>`, every account of
the domain; docs/decisions/0007-cyrus-groups.md, folders/groups.py) lookup+read+seen and nobody else anything;
sub-folders inherit that at creation. `anyone` is refused on a domain's folders, so users of other domains
never see them. Global top-level folders grant `anyone` lookup+read+seen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from folders.groups import domain_group, groups_named
from mailadmin import imap
from mailadmin.actor import Actor
from mailadmin.audit.services import audit_record
from mailadmin.directory import InvalidName, dit
from mailadmin.imap_names import (
    DEFAULT_PUBLIC_RIGHTS,
    SEPARATOR,
    TYPE_VALUES,
    MailboxSummary,
    check_acl_identifier,
    check_folder_name,
    check_public_path,
    check_rights_word,
    check_segment,
)

PAGE_SIZE = 50


@dataclass(frozen=True)
class Owner:
    """The account whose mailbox a folder belongs to (None for public folders)."""

    uid: str
    dn: str


def folder_domain(path: str) -> str | None:
    """The hosted domain a public folder belongs to, or None for a global one."""
    first = path.split(SEPARATOR, 1)[0]
    return first if "." in first else None


def _mailbox_of(f: imap.Folders, folder: str, owner: Owner | None) -> str:
    return f.user_mailbox(owner.uid, folder) if owner else check_public_path(folder)


def _check_user_folder(folder: str) -> str:
    if folder != "INBOX":
        for part in folder.split(SEPARATOR):
            check_folder_name(part)
    return folder


def audited_change(
    actor: Actor,
    action: str,
    mailbox: str,
    domains: list[str],
    after: dict[str, Any],
    work: Callable[[], Any],
) -> Any:
    """Run `work` and write one audit row for it on the mailbox, failed (with the reason) or done."""
    try:
        result = work()
    except Exception as exc:
        audit_record(
            actor=actor,
            action=action,
            target=f"imap:{mailbox}",
            domains=domains,
            after=after,
            ok=False,
            detail=str(exc)[:1000],
        )
        raise
    audit_record(actor=actor, action=action, target=f"imap:{mailbox}", domains=domains, after=after)
    return result


def _domains(folder: str, owner: Owner | None) -> list[str]:
    if owner is not None:
        return dit.domains_of(owner.dn)
    domain = folder_domain(folder)
    return [domain] if domain else []


# --- writes ---------------------------------------------------------------------------------------------


def folder_create(*, actor: Actor, parent: str, name: str, folder_type: str) -> str:
    """Create a public folder `name` below `parent` ("" = top level; may start with a domain's root).

    A global top-level folder grants anyone lookup+read+seen (FLD-02). Below a domain root that does not
    exist yet, the root is made first, for the domain's group only (SCX-01). Returns the full name.
    """
    check_segment(name)
    if folder_type not in TYPE_VALUES:
        raise InvalidName("Choose one of the folder types.", "folder_type")
    full = f"{parent}{SEPARATOR}{name}" if parent else name
    check_public_path(full)
    domain = folder_domain(full)
    group = domain_group(domain) if domain else None  # before IMAP: an unknown domain is refused here

    def work() -> None:
        with imap.folders_session() as f:
            if domain and group and f.get(domain) is None:
                f.create(domain, folder_type="mail", acl=[("anyone", ""), (group, DEFAULT_PUBLIC_RIGHTS)])
            if parent:
                # A sub-folder starts with its parent's permissions (set explicitly: a typed folder is made
                # elsewhere and renamed into place, so Cyrus's own inheritance does not apply to it).
                if f.get(parent) is None:
                    raise imap.MailboxNotFound(f"There is no folder {parent}.")
                # Entries for deleted groups and for groups in the earlier `group:<DN>` form are not copied:
                # Cyrus would refuse them ("Invalid identifier").
                inherited = [e for e in f.acl(parent) if e.who != str(settings.CYRUS_ADMIN)]
                groups = groups_named(e.who for e in inherited)
                acl = [(e.who, e.rights) for e in inherited if not e.is_group or groups[e.who].dn is not None]
            else:
                acl = [("anyone", DEFAULT_PUBLIC_RIGHTS)]
            f.create(full, folder_type=folder_type, acl=acl)

    audited_change(actor, "folder_create", full, [domain] if domain else [], {"type": folder_type}, work)
    return full


def folder_rename(*, actor: Actor, folder: str, new_name: str) -> str:
    """Give a public folder a new name at the same place; its sub-folders, messages and ACL go with it."""
    check_public_path(folder)
    check_segment(new_name)
    if SEPARATOR not in folder and folder_domain(folder):
        raise InvalidName("A domain's root folder is named after the domain and cannot be renamed.", "name")
    parent = folder.rsplit(SEPARATOR, 1)[0] if SEPARATOR in folder else ""
    target = f"{parent}{SEPARATOR}{new_name}" if parent else new_name
    check_public_path(target)
    if target == folder:
        raise InvalidName("That is the folder's name already.", "name")

    def work() -> None:
        with imap.folders_session() as f:
            f.rename(folder, target)

    audited_change(actor, "folder_rename", folder, _domains(folder, None), {"new_name": target}, work)
    return target


def folder_delete(*, actor: Actor, folder: str) -> MailboxSummary:
    """Delete a public folder, everything below it, and their messages. Returns what went."""
    check_public_path(folder)
    done: dict[str, MailboxSummary] = {}

    def work() -> None:
        with imap.folders_session() as f:
            if f.get(folder) is None:
                raise imap.MailboxNotFound(f"There is no folder {folder}.")
            done["summary"] = f.summary(folder)
            f.delete(folder)

    audited_change(actor, "folder_delete", folder, _domains(folder, None), {}, work)
    return done["summary"]


def _check_who(folder: str, who: str, owner: Owner | None) -> str:
    checked = check_acl_identifier(who)
    if owner is None and checked == "anyone" and folder_domain(folder):
        raise InvalidName(
            "A domain's folders are for the domain's users only: 'anyone' is not allowed here (SCX-01).",
            "who",
        )
    if checked == str(settings.CYRUS_ADMIN):
        raise InvalidName("The console's own access to mailboxes cannot be changed here.", "who")
    return checked


def folder_acl_set(*, actor: Actor, folder: str, who: str, rights: str, owner: Owner | None = None) -> None:
    """Give `who` (a login name, anyone, or `group:<container's entryUUID>`) exactly `rights` (FLD-04)."""
    if owner is not None:
        _check_user_folder(folder)
    else:
        check_public_path(folder)
    checked_who = _check_who(folder, who, owner)
    letters = check_rights_word(rights)
    if not letters:
        raise InvalidName("Choose at least one right, or remove the entry.", "rights")

    def work() -> None:
        with imap.folders_session() as f:
            f.set_acl(_mailbox_of(f, folder, owner), checked_who, letters)

    where = f"user/{owner.uid}:{folder}" if owner else folder
    audited_change(
        actor, "folder_acl_set", where, _domains(folder, owner), {"who": checked_who, "rights": letters}, work
    )


def folder_acl_remove(*, actor: Actor, folder: str, who: str, owner: Owner | None = None) -> None:
    if owner is not None:
        _check_user_folder(folder)
    else:
        check_public_path(folder)
    # A deleted container's entry and one in the earlier `group:<DN>` form can still be removed.
    checked_who = check_acl_identifier(who, allow_dn_group=True)
    if checked_who == str(settings.CYRUS_ADMIN):
        raise InvalidName("The console's own access to mailboxes cannot be changed here.", "who")

    def work() -> None:
        with imap.folders_session() as f:
            f.set_acl(_mailbox_of(f, folder, owner), checked_who, "")

    where = f"user/{owner.uid}:{folder}" if owner else folder
    audited_change(actor, "folder_acl_remove", where, _domains(folder, owner), {"who": checked_who}, work)
