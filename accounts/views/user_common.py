"""What the user pages share: the `?dn=` parameter, the account entry, and the user page's context
(which the htmx actions re-render in part)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.urls import reverse
from django.utils.http import urlencode

from accounts.services.journal import incomplete_operation
from accounts.services.person import PERSON_FIELDS, RESOURCE_KINDS
from mailadmin import directory, imap
from mailadmin.actor import Actor
from mailadmin.directory import InvalidName, dit
from mailadmin.permissions import Verb, account_kind, can
from mailadmin.views import params

ACCOUNT_ATTRS = (
    "objectClass",
    "uid",
    "cn",
    "sn",
    "givenName",
    "initials",
    "mail",
    "mailAlias",
    "mailForward",
    "mailKeepCopy",
    "mailEnabled",
    "mailQuota",
    "mailWebAccess",
    "mailSendLocalOnly",
    "mailReceiveLocalOnly",
    "mailResourceKind",
    "pwdAccountLockedTime",
    *(f.attr for f in PERSON_FIELDS),
)


def detail_url(dn: str) -> str:
    return reverse("user_detail") + "?" + urlencode({"dn": dn})


# The user pages' names for the core helpers (mailadmin/views/params.py, mailadmin/permissions.py).
kind_of = account_kind


def account_or_404(dn: str) -> directory.Entry:
    return params.account_or_404(dn, ACCOUNT_ATTRS)


@dataclass
class MailboxState:
    exists: bool | None = None  # None: Cyrus could not be asked
    quota: imap.Quota | None = None
    folders: list[tuple[str, str | None]] | None = None
    error: str = ""

    @property
    def usage_percent(self) -> int | None:
        if self.quota is None or not self.quota.limit_kib:
            return None
        return min(100, round(100 * self.quota.usage_kib / self.quota.limit_kib))


def mailbox_state(uid: str, *, with_folders: bool = True) -> MailboxState:
    """The mailbox as Cyrus reports it, in one admin session; an unreachable Cyrus is a message, not a 500."""
    state = MailboxState()
    try:
        with imap.admin_session() as admin:
            state.exists = admin.exists(uid)
            if state.exists:
                state.quota = admin.get_quota(uid)
                if with_folders:
                    state.folders = list(admin.folder_types(uid).items())
    except (imap.ImapError, InvalidName) as exc:
        state.exists, state.error = None, str(exc)
    return state


def detail_context(actor: Actor, dn: str, entry: directory.Entry) -> dict[str, Any]:
    kind = kind_of(entry)
    roles = directory.roles_for(dn)
    rank = roles.rank
    mail_account = entry.has_object_class("mailAccount")
    person = [(f.label, entry.first(f.attr)) for f in PERSON_FIELDS if entry.first(f.attr)]
    may = {
        "edit": can(actor, Verb.CHANGE, dn, kind=kind, target_rank=rank),
        "quota": mail_account and can(actor, Verb.SET_QUOTA, dn, kind=kind, target_rank=rank),
        "password": can(actor, Verb.SET_PASSWORD, dn, kind=kind, target_rank=rank),
        "delete": can(actor, Verb.DELETE, dn, kind=kind, target_rank=rank),
    }
    return {
        "entry": entry,
        "dn": dn,
        "kind": kind,
        "resource_kind": dict(RESOURCE_KINDS).get(
            entry.first("mailResourceKind"), entry.first("mailResourceKind")
        ),
        "roles": roles,
        "role_domains": sorted(dit.domain_of(d) or d for d in roles.domains),
        "role_groups": sorted(roles.groups),
        "enabled": not directory.entry_disabled(entry),
        "web_access": entry.first("mailWebAccess").upper() == "TRUE",
        "mail_account": mail_account,
        "person": person,
        "may": may,
        "pending": incomplete_operation(dn),
        "mailbox": mailbox_state(entry.first("uid")) if mail_account else None,
    }
