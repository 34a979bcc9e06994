"""What the user pages share: the `?dn=` parameter, the account entry, and the user page's context
(which the htmx actions re-render in part)."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from django.urls import reverse
from django.utils.http import urlencode

from accounts.selectors import account_get, account_roles, mailbox_state
from accounts.services.journal import incomplete_operation
from accounts.services.person import PERSON_FIELDS, RESOURCE_KINDS
from mailadmin import directory
from mailadmin.actor import Actor
from mailadmin.directory import dit
from mailadmin.permissions import Verb, account_kind, can

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
    """The account at `dn` with what the user pages show; 404 for anything else."""
    entry = account_get(dn=dn, attrs=ACCOUNT_ATTRS)
    if entry is None:
        raise Http404("No such account.")
    return entry


def detail_context(actor: Actor, dn: str, entry: directory.Entry) -> dict[str, Any]:
    kind = kind_of(entry)
    roles = account_roles(dn=dn)
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
        "mailbox": mailbox_state(uid=entry.first("uid")) if mail_account else None,
    }
