"""Accounts: users (ACC-07) and resources (ACC-10), their passwords, flags and deletion.

Creating one is several steps on two servers with no transaction between them, so `user_create` journals
them (accounts.models.Operation) and runs them in a fixed order: entry → password → mailbox → ACL → quota
→ folders. When a step fails, the done ones are undone newest first and the original error propagates.
After a crash the drift check finishes the mailbox steps (the password is never stored, so a row that
stopped before it can only be undone) or undoes them all. Passwords, flags and quotas: account_settings.py.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from accounts.services import ensure
from accounts.services.account_settings import (
    DisableRefused,
    user_disable,
    user_enable,
    user_set_password,
    user_set_quota,
    user_set_web_access,
)
from accounts.services.common import check_new_password, check_quota, get_mail_container
from accounts.services.folders import check_language, create_standard_folders, ensure_standard_folders
from accounts.services.journal import Data, Journal, Step, covered, journal_kind
from accounts.services.person import check_names, check_person, check_resource_kind, common_name
from aliases.services import membership
from mailadmin import directory, imap
from mailadmin.actor import Actor
from mailadmin.audit.services import audited
from mailadmin.directory import (
    InvalidName,
    check_address,
    check_login,
    dit,
)

__all__ = [
    "DisableRefused",
    "check_mail_in_domain",
    "user_create",
    "user_delete",
    "user_disable",
    "user_enable",
    "user_set_password",
    "user_set_quota",
    "user_set_web_access",
]


# --- how each step is finished or undone after a crash (accounts/services/journal.py) --------------------


def _entry_gone(data: Data, _actor: Actor) -> None:
    ensure.deleted(data["dn"])


def _mailbox_there(data: Data, _actor: Actor) -> None:
    with imap.admin_session() as admin:
        if not admin.exists(data["uid"]):
            admin.create_bare(data["uid"])


def _mailbox_gone(data: Data, _actor: Actor) -> None:
    with contextlib.suppress(imap.MailboxNotFound):  # nothing to delete is what was wanted
        imap.mailbox_delete(data["uid"])


def _acl_there(data: Data, _actor: Actor) -> None:
    with imap.admin_session() as admin:
        admin.grant_admin(data["uid"])


def _quota_there(data: Data, _actor: Actor) -> None:
    imap.quota_set(data["uid"], data["quota"])


def _folders_there(data: Data, _actor: Actor) -> None:
    with imap.admin_session() as admin:
        ensure_standard_folders(admin, data["uid"], data["folder_language"])


USER_CREATE = journal_kind(
    "user_create",
    {
        # The password is never stored: a row that stopped before it was set can only be undone.
        "entry": Step(redo=None, undo=_entry_gone),
        "password": Step(redo=None, undo=covered),
        "mailbox": Step(redo=_mailbox_there, undo=_mailbox_gone),
        "acl": Step(redo=_acl_there, undo=covered),
        "quota": Step(redo=_quota_there, undo=covered),
        "folders": Step(redo=_folders_there, undo=covered),
    },
    remakes=True,
)
USER_DELETE = journal_kind(
    "user_delete",
    {
        "aliases": Step(redo=membership.journal_apply, undo=membership.journal_restore),
        "entry": Step(redo=_entry_gone, undo=None),
        "mailbox": Step(redo=_mailbox_gone, undo=None),
    },
    remakes=True,
)


def check_mail_in_domain(mail: str, domain: str | None) -> str:
    address = check_address(mail)
    if domain and address.rpartition("@")[2] != domain:
        raise InvalidName(f"The primary address must be in the domain {domain}.", "mail")
    return address


@dataclass(frozen=True)
class _Plan:
    dn: str
    uid: str
    password: str
    password_hash: str
    attrs: dict[str, Any]
    console_only: bool
    create_mailbox: bool
    quota: int | None
    folder_language: str | None  # None: no groupware folders

    @property
    def steps(self) -> list[str]:
        steps = ["entry", "password"] if self.password or self.password_hash else ["entry"]
        if self.create_mailbox:
            steps += ["mailbox", "acl"]
            steps += ["quota"] if self.quota is not None else []
            steps += ["folders"] if self.folder_language else []
        return steps


def user_create(
    *,
    actor: Actor,
    container_dn: str,
    uid: str,
    password: str = "",
    last_name: str,
    first_name: str = "",
    mail: str | None = None,
    create_mailbox: bool = True,
    quota_kib: int | None = None,
    initials: str = "",
    person: Mapping[str, str] | None = None,
    groupware_folders: bool = False,
    folder_language: str = "en",
    web_access: bool = False,
    send_local_only: bool = False,
    receive_local_only: bool = False,
    resource_kind: str | None = None,
    password_hash: str = "",
    disabled: bool = False,
) -> str:
    """A user (or, with `resource_kind`, a resource) in an organization or group, or a console-only account
    in ou=admins. Returns the DN. `mail` defaults to `<uid>@<domain>` and must be in that domain.

    The password: either `password` (clear text, set through Password Modify so slapd hashes it) or
    `password_hash` (an import's `{SCHEME}...` value, stored as it is if slapd can verify the scheme, see
    mailadmin/directory/hashes.py). Neither only with `disabled`: an import that has no usable password (an
    empty or locked shadow entry) makes an account that cannot log in until someone sets one and enables it.
    `disabled` creates a mail account with mailEnabled FALSE in the same add operation.

    Everything is checked before anything is written; then the steps run journaled (see the module doc).
    """
    plan = _plan(
        container_dn=container_dn,
        uid=uid,
        password=password,
        password_hash=password_hash,
        disabled=disabled,
        names=check_names(last_name, first_name, initials),
        mail=mail,
        create_mailbox=create_mailbox,
        quota_kib=quota_kib,
        person=check_person(person),
        folder_language=check_language(folder_language) if groupware_folders else None,
        flags={
            "mailWebAccess": web_access,
            "mailSendLocalOnly": send_local_only,
            "mailReceiveLocalOnly": receive_local_only,
        },
        resource_kind=resource_kind,
    )
    after = {
        "uid": plan.uid,
        "cn": plan.attrs["cn"],
        "mail": plan.attrs.get("mail"),
        "quota_kib": plan.quota,
        "mailbox": plan.create_mailbox,
        "folders": plan.folder_language,
        "resource_kind": resource_kind,
        "steps": plan.steps,
    }
    # How the password was given, never the password or the hash itself.
    if plan.password_hash:
        after["credential"] = f"{{{directory.scheme_of(plan.password_hash)}}} hash"
    elif not plan.password:
        after["credential"] = "none"
    if disabled:
        after["disabled"] = True
    audited(actor, "user_create", plan.dn, after, lambda: _run(actor, plan))
    return plan.dn


def _plan(
    *,
    container_dn: str,
    uid: str,
    password: str,
    password_hash: str,
    disabled: bool,
    names: tuple[str, str, str],
    mail: str | None,
    create_mailbox: bool,
    quota_kib: int | None,
    person: dict[str, str],
    folder_language: str | None,
    flags: dict[str, bool],
    resource_kind: str | None,
) -> _Plan:
    uid = check_login(uid)
    last, first, initials = names
    _check_password_given(password, password_hash, disabled)
    quota = check_quota(quota_kib)
    console_only = dit.same_dn(container_dn, dit.admins_dn())
    if console_only:
        if create_mailbox or mail or quota is not None or resource_kind or any(flags.values()):
            raise InvalidName(
                "Console administrators in ou=admins have no address and no mailbox.", "container"
            )
        if disabled:
            raise InvalidName(
                "A console administrator is disabled after it is made, not created so.", "disabled"
            )
    else:
        get_mail_container(container_dn)
        domain = dit.domain_of(container_dn)
        mail = check_mail_in_domain(mail if mail else f"{uid}@{domain}", domain)
    if folder_language and not create_mailbox:
        raise InvalidName(
            "Groupware folders need a mailbox: tick \u201cCreate mailbox\u201d too.", "groupware_folders"
        )
    attrs: dict[str, Any] = {
        "objectClass": ["inetOrgPerson"] if console_only else ["inetOrgPerson", "mailAccount"],
        "uid": uid,
        "cn": common_name(first, last),
        "sn": last,
    }
    for attr, value in (("givenName", first), ("initials", initials), *person.items()):
        if value:
            attrs[attr] = value
    if not console_only:
        attrs.update({"mail": mail, "mailEnabled": not disabled})
        if quota is not None:
            attrs["mailQuota"] = quota
        # Absent means FALSE: entries stay lean and Postfix's filters test for TRUE.
        attrs.update({attr: True for attr, on in flags.items() if on})
    if resource_kind is not None:
        attrs["objectClass"] = [*attrs["objectClass"], "mailResource"]
        attrs["mailResourceKind"] = check_resource_kind(resource_kind)
    return _Plan(
        dn=dit.account_dn(container_dn, uid),
        uid=uid,
        password=password,
        password_hash=password_hash,
        attrs=attrs,
        console_only=console_only,
        create_mailbox=create_mailbox,
        quota=quota,
        folder_language=folder_language,
    )


def _check_password_given(password: str, password_hash: str, disabled: bool) -> None:
    if password and password_hash:
        raise InvalidName("Give either a password or a password hash, not both.", "password")
    if password_hash:
        directory.check_password_hash(password_hash)
    elif password or not disabled:
        check_new_password(password)  # also refuses an empty one: "no password" is only for disabled accounts


def _begin(actor: Actor, plan: _Plan) -> Journal:
    data = {"dn": plan.dn, "uid": plan.uid, "quota": plan.quota, "folder_language": plan.folder_language}
    return Journal.begin(actor, USER_CREATE, plan.dn, plan.steps, data)


def _run(actor: Actor, plan: _Plan) -> None:
    directory.preflight_unique(plan.uid, plan.attrs.get("mail"))
    if plan.console_only:
        with _begin(actor, plan) as journal:
            _entry_steps(journal, plan)
        return
    # One admin session for the whole operation; undos open their own (this one may be what broke).
    with imap.admin_session() as admin:
        if admin.exists(plan.uid):
            # A kept mailbox blocks its login name: a new account must never inherit someone's old mail.
            raise imap.MailboxExists(
                f"A mailbox for {plan.uid} already exists (left by a deleted account?). Delete it first "
                "or choose another login name."
            )
        with _begin(actor, plan) as journal:
            _entry_steps(journal, plan)
            if plan.create_mailbox:
                _mailbox_steps(journal, admin, plan)


def _entry_steps(journal: Journal, plan: _Plan) -> None:
    journal.step("entry", lambda: directory.add(plan.dn, plan.attrs))
    if plan.password_hash:
        journal.step("password", lambda: directory.password_hash_set(plan.dn, plan.password_hash))
    elif plan.password:
        journal.step("password", lambda: directory.password_modify(plan.dn, plan.password))


def _mailbox_steps(journal: Journal, admin: imap.CyrusAdmin, plan: _Plan) -> None:
    # One admin session for the live steps; the undos (USER_CREATE) open their own, as this one may be what
    # broke. The folders go with the mailbox.
    uid = plan.uid
    journal.step("mailbox", lambda: admin.create_bare(uid))
    journal.step("acl", lambda: admin.grant_admin(uid))
    if plan.quota is not None:
        quota = plan.quota
        journal.step("quota", lambda: admin.set_quota(uid, quota))
    if plan.folder_language:
        language = plan.folder_language
        journal.step("folders", lambda: create_standard_folders(admin, uid, language, created=_ignore))


def _ignore(_name: str) -> None:
    """create_standard_folders reports each folder made; the journal undoes them with the mailbox."""


def user_delete(*, actor: Actor, dn: str, delete_mailbox: bool = False) -> list[membership.MemberChange]:
    """Delete an account (refint removes it from roles and groups) and, if asked, its mailbox. Its addresses
    leave every alias's members (aliases/services/membership.py); returns the aliases changed.

    The aliases change first (undone if the entry cannot be deleted), then the entry goes: from that moment
    the user can neither log in nor receive mail. A mailbox that is kept blocks re-using the login name
    until it is deleted (a new account must never inherit old mail). Neither of these two can be undone,
    so a failure of the mailbox step leaves the journal row failed, naming it.
    """
    entry = directory.get_account(dn, "mailAlias")
    uid = entry.first("uid")
    mailbox = delete_mailbox and entry.has_object_class("mailAccount")
    addresses = [*entry.values("mail"), *entry.values("mailAlias")]
    aliases = membership.plan_remove(addresses, holder_dn=dn) if entry.has_object_class("mailAccount") else []
    steps = ["aliases"] if aliases else []
    steps += ["entry", "mailbox"] if mailbox else ["entry"]

    data = {"dn": dn, "uid": uid, "aliases": membership.changes_to_json(aliases)}

    def work() -> None:
        with Journal.begin(actor, USER_DELETE, dn, steps, data) as j:
            if aliases:
                j.step(
                    "aliases", lambda: membership.members_apply(actor=actor, changes=aliases, holder_dn=dn)
                )
            j.step("entry", lambda: directory.delete(dn))
            if mailbox:
                j.step("mailbox", lambda: _mailbox_gone(data, actor))

    after: dict[str, Any] = {"uid": uid, "mailbox_deleted": delete_mailbox}
    if aliases:
        after["aliases"] = membership.audit_names(aliases)
    audited(actor, "user_delete", dn, after, work)
    return aliases
