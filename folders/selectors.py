"""The read layer of the Mail Folders menu (selectors): a level of the public tree, one folder with its type
and permissions, what a delete would remove, a user's folders, and the directory side of the pages (whose
folders a page is about, what a `group:` ACL entry names). No HTTP, no writes.

Every name is checked (mailadmin.imap_names) before Cyrus is asked; the folder reads share the pooled admin
session of the folder pages (`mailadmin.imap.folders_session`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from accounts.selectors import get_kind
from folders.groups import AclRow, acl_rows, container_group
from folders.services import PAGE_SIZE, Owner, _check_user_folder, _mailbox_of
from mailadmin import imap
from mailadmin.directory import DirectoryNotFound
from mailadmin.imap_names import (
    AclEntry,
    FolderPage,
    MailboxNotFound,
    MailboxSummary,
    PublicFolder,
    Quota,
    check_public_path,
)
from mailadmin.permissions import Kind


@dataclass(frozen=True)
class FolderInfo:
    folder: PublicFolder
    folder_type: str | None
    acl: list[AclEntry]


def folder_page(*, parent: str = "", offset: int = 0, limit: int = PAGE_SIZE) -> FolderPage:
    """One level of the public tree: one LIST, and one STATUS per folder on the page."""
    if parent:
        check_public_path(parent)
    with imap.folders_session() as f:
        return f.children(parent, offset=max(0, offset), limit=max(1, min(limit, 500)))


def folder_info(*, folder: str, owner: Owner | None = None) -> FolderInfo | None:
    """A folder with its counts, type and ACL; None if it does not exist."""
    if owner is not None:
        _check_user_folder(folder)
    else:
        check_public_path(folder)
    with imap.folders_session() as f:
        mailbox = _mailbox_of(f, folder, owner)
        row = f.get(mailbox)
        if row is None or not row.selectable:
            return None
        shown = PublicFolder(folder, row.has_children, row.selectable, row.messages, row.size_bytes)
        return FolderInfo(shown, f.get_type(mailbox), f.acl(mailbox))


def folder_summary(*, folder: str) -> MailboxSummary | None:
    """What deleting the public folder would remove (sub-folders, messages, size); None if there is none."""
    check_public_path(folder)
    with imap.folders_session() as f:
        if f.get(folder) is None:
            return None
        return f.summary(folder)


def user_folders(*, owner: Owner) -> tuple[list[PublicFolder], Quota | None]:
    """The user's folders with counts and sizes, and the mailbox's quota use (FLD-05)."""
    with imap.folders_session() as f:
        if not f.admin.exists(owner.uid):
            raise MailboxNotFound(f"There is no mailbox for {owner.uid}.")
        return f.user_rows(owner.uid), f.admin.get_quota(owner.uid)


def folder_owner(*, dn: str) -> Owner | None:
    """The user or resource at `dn` whose folders a page is about; None for anything else."""
    try:
        entry, kind = get_kind(dn, ["uid", "objectClass"])
    except DirectoryNotFound:
        return None
    if kind not in (Kind.USER, Kind.RESOURCE) or not entry.get("uid"):
        return None
    return Owner(uid=str(entry.get("uid")), dn=entry.dn)


def folder_acl_rows(*, acl: Sequence[AclEntry]) -> list[AclRow]:
    """A folder's ACL with every `group:` entry resolved to its container (one LDAP search per 100 groups)."""
    return acl_rows(acl)


def group_identifier(*, dn: str) -> str:
    """The Cyrus group (`group:<entryUUID>`) of the domain, organization or group at `dn`; InvalidName for
    anything else."""
    return container_group(dn)
