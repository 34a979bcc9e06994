"""Accounts: users (ACC-07), their passwords and deletion."""

from __future__ import annotations

import contextlib
from typing import Any

from accounts.services.common import (
    MAX_PERSON_NAME,
    Undo,
    audited,
    check_new_password,
    check_quota,
    get_account,
    get_mail_container,
)
from mailadmin import directory, imap
from mailadmin.actor import Actor
from mailadmin.directory import (
    DirectoryConflict,
    InvalidName,
    check_address,
    check_login,
    check_value,
    dit,
    filter_eq,
    filter_or,
)


def _preflight_unique(uid: str, mail: str | None) -> None:
    # slapd's unique overlay is the guarantee; asking first only gives a precise message.
    wanted = [filter_eq("uid", uid)]
    if mail:
        wanted += [filter_eq("mail", mail), filter_eq("mailAlias", mail)]
    for entry in directory.search(dit.base_dn(), filter_or(*wanted), ["uid", "mail", "mailAlias"], limit=10):
        if entry.first("uid") == uid:
            raise DirectoryConflict(
                f"The login name {uid} is already taken (login names are unique on the server)."
            )
        raise DirectoryConflict(f"The address {mail} is already used by another account or alias.")


def user_create(
    *,
    actor: Actor,
    container_dn: str,
    uid: str,
    password: str,
    last_name: str,
    first_name: str = "",
    mail: str | None = None,
    create_mailbox: bool = True,
    quota_kib: int | None = None,
) -> str:
    """A user in an organization or group (or a console-only account in ou=admins). Returns the DN.

    Steps: the entry, its password (Password Modify, hashed by slapd), its mailbox `user/<uid>` and quota.
    `mail` defaults to `<uid>@<domain>`. Accounts in ou=admins get no mail attributes and no mailbox.
    """
    uid = check_login(uid)
    last = check_value(last_name, "last_name", max_length=MAX_PERSON_NAME, required=True).strip()
    first = check_value(first_name, "first_name", max_length=MAX_PERSON_NAME).strip()
    check_new_password(password)
    quota = check_quota(quota_kib)
    console_only = dit.same_dn(container_dn, dit.admins_dn())
    domain = dit.domain_of(container_dn)
    if console_only:
        if create_mailbox or mail or quota is not None:
            raise InvalidName(
                "Console administrators in ou=admins have no address and no mailbox.", "container"
            )
    else:
        get_mail_container(container_dn)
        mail = check_address(mail if mail else f"{uid}@{domain}")
    dn = dit.account_dn(container_dn, uid)
    _preflight_unique(uid, mail)

    attrs: dict[str, Any] = {
        "objectClass": ["inetOrgPerson"] if console_only else ["inetOrgPerson", "mailAccount"],
        "uid": uid,
        "cn": f"{first} {last}".strip(),
        "sn": last,
    }
    if first:
        attrs["givenName"] = first
    if not console_only:
        attrs.update({"mail": mail, "mailEnabled": True})
        if quota is not None:
            attrs["mailQuota"] = quota
    after = {"uid": uid, "cn": attrs["cn"], "mail": mail, "quota_kib": quota, "mailbox": create_mailbox}
    undo = Undo("user_create", dn)

    def work() -> None:
        try:
            directory.add(dn, attrs)
            undo.push("entry", lambda: directory.delete(dn))
            directory.password_modify(dn, password)
            if create_mailbox:
                imap.mailbox_create(uid, quota)
                undo.push("mailbox", lambda: imap.mailbox_delete(uid))
        except Exception:
            undo.run()
            raise

    audited(actor, "user_create", dn, after, work)
    return dn


def user_set_password(*, actor: Actor, dn: str, password: str, must_change: bool = True) -> None:
    """An administrator sets someone's password; by default they must choose their own at the next login."""
    check_new_password(password)
    get_account(dn)

    def work() -> None:
        directory.password_modify(dn, password)
        # pwdReset is ppolicy's "must change"; slapd clears it when the user sets their own password.
        directory.modify(dn, [directory.replace("pwdReset", True if must_change else None)])

    audited(actor, "user_set_password", dn, {"must_change": must_change}, work)


def user_delete(*, actor: Actor, dn: str, delete_mailbox: bool = False) -> None:
    """Delete an account (refint removes it from roles and groups) and, if asked, its mailbox.

    The entry goes first: from that moment the user can neither log in nor receive mail. A mailbox that is
    kept blocks re-using the login name until it is deleted (a new account must never inherit old mail).
    """
    entry = get_account(dn)
    uid = entry.first("uid")

    def work() -> None:
        directory.delete(dn)
        if delete_mailbox and entry.has_object_class("mailAccount"):
            with contextlib.suppress(imap.MailboxNotFound):  # nothing to delete is what was wanted
                imap.mailbox_delete(uid)

    audited(actor, "user_delete", dn, {"uid": uid, "mailbox_deleted": delete_mailbox}, work)


def _set_flag(actor: Actor, action: str, dn: str, attr: str, value: bool | None) -> None:
    before = get_account(dn, attr).get(attr)

    def work() -> None:
        directory.modify(dn, [directory.replace(attr, value)])

    audited(actor, action, dn, {attr: value, "before": before}, work)


def user_disable(*, actor: Actor, dn: str) -> None:
    """The account can no longer log in (saslauthd, the console) and Postfix refuses its mail (550)."""
    _set_flag(actor, "user_disable", dn, "mailEnabled", False)


def user_enable(*, actor: Actor, dn: str) -> None:
    _set_flag(actor, "user_enable", dn, "mailEnabled", True)


def user_set_web_access(*, actor: Actor, dn: str, allowed: bool) -> None:
    """ "Access WebClient" (WEB-02)."""
    _set_flag(actor, "user_set_web_access", dn, "mailWebAccess", allowed)


def user_set_quota(*, actor: Actor, dn: str, quota_kib: int | None) -> None:
    """Quota in KiB (None: no limit): in LDAP for the record and in Cyrus, which enforces it."""
    quota = check_quota(quota_kib)
    entry = get_account(dn, "mailQuota")
    uid = entry.first("uid")
    before = entry.get("mailQuota")

    def work() -> None:
        directory.modify(dn, [directory.replace("mailQuota", quota)])
        try:
            imap.quota_set(uid, quota)
        except imap.MailboxNotFound:
            pass  # no mailbox (yet): the LDAP value is applied when it is made
        except Exception:
            directory.modify(dn, [directory.replace("mailQuota", int(before) if before else None)])
            raise

    audited(actor, "user_set_quota", dn, {"mailQuota": quota, "before": before}, work)
