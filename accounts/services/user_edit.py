"""Editing a user or resource (ACC-08): names, person fields, primary address, local-only flags, kind.

One LDAP modify carries every change of the entry; when the primary address changes, the aliases that list
the old one follow (aliases/services/membership.py). The two run journaled (accounts/services/journal.py):
a failure of the aliases puts the entry back, and a crash between them leaves a row the drift check finishes
or undoes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from accounts.services import ensure
from accounts.services.journal import Journal, Step, journal_kind
from accounts.services.person import (
    PERSON_ATTRS,
    check_names,
    check_person,
    check_resource_kind,
    common_name,
)
from accounts.services.users import check_mail_in_domain
from aliases.services import membership
from mailadmin import directory
from mailadmin.actor import Actor
from mailadmin.audit.services import audited
from mailadmin.directory import InvalidName, dit

USER_UPDATE = journal_kind(
    "user_update",
    {
        "attributes": Step(redo=ensure.attributes_after, undo=ensure.attributes_before),
        "aliases": Step(redo=membership.journal_apply, undo=membership.journal_restore),
    },
)

_READ = (
    "cn",
    "sn",
    "givenName",
    "initials",
    "mailResourceKind",
    "mailSendLocalOnly",
    "mailReceiveLocalOnly",
    *PERSON_ATTRS,
)


def user_update(
    *,
    actor: Actor,
    dn: str,
    last_name: str,
    first_name: str = "",
    initials: str = "",
    person: Mapping[str, str] | None = None,
    mail: str | None = None,
    send_local_only: bool | None = None,
    receive_local_only: bool | None = None,
    resource_kind: str | None = None,
) -> list[str]:
    """Change what differs; returns the names of the changed attributes. `None` leaves a value as it is;
    an empty person field removes the attribute."""
    entry = directory.get_account(dn, *_READ)
    last, first, init = check_names(last_name, first_name, initials)
    wanted: dict[str, str] = {
        "sn": last,
        "givenName": first,
        "initials": init,
        "cn": common_name(first, last),
    }
    wanted.update(check_person(person))
    mail_account = entry.has_object_class("mailAccount")
    if mail is not None:
        if not mail_account:
            raise InvalidName("Console administrators in ou=admins have no address.", "mail")
        address = check_mail_in_domain(mail, dit.domain_of(dn))
        if address != entry.first("mail"):
            directory.preflight_unique("", address, exclude_dn=dn)
        wanted["mail"] = address
    for attr, flag in (("mailSendLocalOnly", send_local_only), ("mailReceiveLocalOnly", receive_local_only)):
        if flag is not None and mail_account:
            wanted[attr] = "TRUE" if flag else ""
    if resource_kind is not None:
        if not entry.has_object_class("mailResource"):
            raise InvalidName("Only resources have a kind.", "resource_kind")
        wanted["mailResourceKind"] = check_resource_kind(resource_kind)

    changed = [attr for attr, value in wanted.items() if entry.first(attr) != value]
    if not changed:
        return []
    before: dict[str, Any] = {attr: entry.get(attr) for attr in changed}
    values: dict[str, Any] = {attr: wanted[attr] or None for attr in changed}
    # Aliases listing the old primary address list the new one instead (aliases/services/membership.py).
    aliases: list[membership.MemberChange] = []
    if "mail" in changed:
        aliases = membership.plan_rename(entry.first("mail"), wanted["mail"], holder_dn=dn)
    after = dict(values)
    if aliases:
        after["aliases"] = membership.audit_names(aliases)
    data = {"dn": dn, "after": values, "before": before, "aliases": membership.changes_to_json(aliases)}

    def work() -> None:
        with Journal.begin(
            actor, USER_UPDATE, dn, ["attributes", *(["aliases"] if aliases else [])], data
        ) as j:
            j.step(
                "attributes",
                lambda: directory.modify(dn, [directory.replace(a, v) for a, v in values.items()]),
            )
            if aliases:
                j.step(
                    "aliases", lambda: membership.members_apply(actor=actor, changes=aliases, holder_dn=dn)
                )

    audited(actor, "user_update", dn, after, work, before=before)
    return changed
