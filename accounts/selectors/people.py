"""Accounts and roles as the pages read them (selectors): one entry by DN, who holds which role, and the
mailbox Cyrus keeps for an account. Each function is the one request the page made before it moved here;
a missing or foreign entry is None, and the view decides that it is a 404.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from mailadmin import directory, imap
from mailadmin.actor import Roles
from mailadmin.directory import InvalidName, dit
from mailadmin.imap_names import ImapError, MailboxNotFound, MailboxSummary, Quota


def entry_get(*, dn: str, attrs: Sequence[str]) -> directory.Entry | None:
    """Any entry at `dn` with `attrs`; None if there is none."""
    return directory.get_entry(dn, list(attrs))


def account_get(*, dn: str, attrs: Iterable[str]) -> directory.Entry | None:
    """The account (user, resource, console-only administrator) at `dn` with `attrs` (objectClass and uid
    always); None for anything else (a contact, a container, nothing)."""
    entry = directory.get_entry(dn, list({"objectClass", "uid", *attrs}))
    return entry if entry is not None and directory.is_account(entry) else None


def mail_container_get(*, dn: str) -> directory.Entry | None:
    """The organization or group inside a domain at `dn` (an entry with mailContainer) that accounts are
    created in."""
    entry = directory.get_entry(dn, ["objectClass"]) if dit.domain_of(dn) else None
    return entry if entry is not None and entry.has_object_class("mailContainer") else None


def group_get(*, dn: str) -> directory.Entry | None:
    """The group (organizationalUnit + mailContainer) at `dn`, with its objectClass only."""
    entry = mail_container_get(dn=dn)
    return entry if entry is not None and entry.has_object_class("organizationalUnit") else None


def domain_exists(*, name: str) -> bool:
    return directory.exists(dit.domain_dn(name))


def account_roles(*, dn: str) -> Roles:
    """The roles the account `dn` holds (two indexed searches)."""
    return directory.roles_for(dn)


def account_rank(*, dn: str) -> int:
    """3 administrator, 2 domain administrator, 1 group administrator, 0 otherwise."""
    return directory.roles_for(dn).rank


def administrator_list() -> list[str]:
    """DNs of the administrators."""
    return directory.administrators()


def domain_admin_list(*, domain: str) -> list[str]:
    """DNs of the domain administrators of `domain`."""
    return directory.domain_admins(domain)


def group_admin_list(*, group_dn: str) -> list[str]:
    """DNs of the group administrators of the group `group_dn`."""
    return directory.group_admins(group_dn)


def role_holder_entries(*, dns: Iterable[str]) -> list[tuple[str, directory.Entry | None]]:
    """Each role holder's DN with its uid and cn (None: the entry is gone). One read each: a role list has a
    handful of names."""
    return [(dn, directory.get_entry(dn, ["uid", "cn"])) for dn in dns]


@dataclass
class MailboxState:
    exists: bool | None = None  # None: Cyrus could not be asked
    quota: Quota | None = None
    folders: list[tuple[str, str | None]] | None = None
    error: str = ""

    @property
    def usage_percent(self) -> int | None:
        if self.quota is None or not self.quota.limit_kib:
            return None
        return min(100, round(100 * self.quota.usage_kib / self.quota.limit_kib))


def mailbox_state(*, uid: str, with_folders: bool = True) -> MailboxState:
    """The mailbox as Cyrus reports it, in one admin session; an unreachable Cyrus is a message, not a 500."""
    state = MailboxState()
    try:
        with imap.admin_session() as admin:
            state.exists = admin.exists(uid)
            if state.exists:
                state.quota = admin.get_quota(uid)
                if with_folders:
                    state.folders = list(admin.folder_types(uid).items())
    except (ImapError, InvalidName) as exc:
        state.exists, state.error = None, str(exc)
    return state


def mailbox_summary(*, uid: str) -> MailboxSummary | None:
    """What the mailbox of `uid` holds (folders, messages, size); None if there is no mailbox. Other IMAP
    failures raise ImapError."""
    try:
        return imap.mailbox_summary(uid)
    except MailboxNotFound:
        return None
