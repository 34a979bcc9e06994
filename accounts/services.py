"""Account services (menu Accounts): every write to domains, containers, accounts and roles goes through here.

Keyword-only, named `<entity>_<action>`, each writes an audit row. Permission checks belong to the views
(`mailadmin.permissions`); these functions check only what keeps the tree well-formed (names, placement).
A user is an LDAP entry, a password and a mailbox: no transaction spans slapd and Cyrus, so multi-step
services undo their done steps in reverse order when a later step fails, then re-raise the original error.
Errors: InvalidName (bad input, nothing sent), DirectoryError subclasses, ImapError subclasses.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any

from mailadmin import directory, imap
from mailadmin.actor import Actor
from mailadmin.audit.services import audit_record
from mailadmin.directory import (
    DirectoryConflict,
    DirectoryNotFound,
    InvalidName,
    check_address,
    check_domain,
    check_login,
    check_password,
    check_value,
    dit,
    filter_eq,
    filter_or,
)

log = logging.getLogger(__name__)
MAX_PERSON_NAME = 64


class _Undo:
    """Undo actions of the steps done so far; run newest first, each failure logged, none raised."""

    def __init__(self, action: str, target: str) -> None:
        self.action, self.target = action, target
        self.steps: list[tuple[str, Callable[[], None]]] = []

    def push(self, what: str, undo: Callable[[], None]) -> None:
        self.steps.append((what, undo))

    def run(self) -> None:
        for what, undo in reversed(self.steps):
            try:
                undo()
            except Exception:
                # Left half-made; the reconcile command finds and repairs it. Say exactly what remains.
                log.exception("%s %s: could not undo %s", self.action, self.target, what)


def _audited(actor: Actor, action: str, target: str, after: dict[str, Any], work: Callable[[], None]) -> None:
    """Run `work`; write the audit row for success or (then re-raise) failure."""
    domains = dit.domains_of(target)
    try:
        work()
    except Exception as exc:
        audit_record(
            actor=actor,
            action=action,
            target=target,
            domains=domains,
            after=after,
            ok=False,
            detail=str(exc)[:1000],
        )
        raise
    audit_record(actor=actor, action=action, target=target, domains=domains, after=after)


def _check_new_password(password: str) -> str:
    # slapd skips ppolicy's quality checks for the rootDN the console binds as, so the console applies the
    # policy's minimum length itself when it sets a password for someone.
    check_password(password)
    minimum = directory.password_min_length()
    if len(password) < minimum:
        raise InvalidName(f"The password must be at least {minimum} characters long.", "password")
    return password


def _check_quota(quota_kib: int | None) -> int | None:
    if quota_kib is None:
        return None
    if isinstance(quota_kib, bool) or not isinstance(quota_kib, int) or quota_kib < 0:
        raise InvalidName("A quota is a whole number of KiB, 0 or more.", "quota")
    return quota_kib


def _account(dn: str) -> directory.Entry:
    entry = directory.get_entry(dn, ["objectClass", "uid", "mail"])
    if entry is None or not directory.is_account(entry):
        raise DirectoryNotFound(f"There is no account {dn}.")
    return entry


def _mail_container(dn: str) -> directory.Entry:
    """An organization or group inside a domain (where users and groups may be created)."""
    entry = directory.get_entry(dn, ["objectClass"]) if dit.domain_of(dn) else None
    if entry is None or not entry.has_object_class("mailContainer"):
        raise DirectoryNotFound(f"There is no organization or group {dn}.")
    return entry


def _group(dn: str) -> directory.Entry:
    entry = _mail_container(dn)
    if not entry.has_object_class("organizationalUnit"):
        raise DirectoryNotFound(f"There is no group {dn}.")
    return entry


# --- domains and groups ------------------------------------------------------------------------------------


def domain_create(*, actor: Actor, name: str) -> str:
    """A mail domain: its entry, its organization of the same name, and its ou=aliases. Returns the DN."""
    domain = check_domain(name)
    domain_dn = dit.domain_dn(domain)
    org_dn = dit.organization_dn(domain, domain)
    aliases_dn = dit.aliases_dn(domain)
    undo = _Undo("domain_create", domain_dn)

    def work() -> None:
        try:
            directory.add(domain_dn, {"objectClass": ["domain", "mailDomain"], "dc": domain})
            undo.push("domain entry", lambda: directory.delete(domain_dn))
            directory.add(org_dn, {"objectClass": ["organization", "mailContainer"], "o": domain})
            undo.push("organization", lambda: directory.delete(org_dn))
            directory.add(aliases_dn, {"objectClass": ["organizationalUnit"], "ou": "aliases"})
        except Exception:
            undo.run()
            raise

    _audited(actor, "domain_create", domain_dn, {"name": domain}, work)
    return domain_dn


def group_create(*, actor: Actor, parent_dn: str, name: str) -> str:
    """A group (organizationalUnit + mailContainer) in an organization or another group. Returns the DN."""
    dn = dit.group_dn(parent_dn, name)
    _mail_container(parent_dn)
    _audited(
        actor,
        "group_create",
        dn,
        {"name": name},
        lambda: directory.add(dn, {"objectClass": ["organizationalUnit", "mailContainer"], "ou": name}),
    )
    return dn


# --- accounts ----------------------------------------------------------------------------------------------


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
    _check_new_password(password)
    quota = _check_quota(quota_kib)
    console_only = dit.same_dn(container_dn, dit.admins_dn())
    domain = dit.domain_of(container_dn)
    if console_only:
        if create_mailbox or mail or quota is not None:
            raise InvalidName(
                "Console administrators in ou=admins have no address and no mailbox.", "container"
            )
    else:
        _mail_container(container_dn)
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
    undo = _Undo("user_create", dn)

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

    _audited(actor, "user_create", dn, after, work)
    return dn


def user_set_password(*, actor: Actor, dn: str, password: str, must_change: bool = True) -> None:
    """An administrator sets someone's password; by default they must choose their own at the next login."""
    _check_new_password(password)
    _account(dn)

    def work() -> None:
        directory.password_modify(dn, password)
        # pwdReset is ppolicy's "must change"; slapd clears it when the user sets their own password.
        directory.modify(dn, [directory.replace("pwdReset", True if must_change else None)])

    _audited(actor, "user_set_password", dn, {"must_change": must_change}, work)


def user_delete(*, actor: Actor, dn: str, delete_mailbox: bool = False) -> None:
    """Delete an account (refint removes it from roles and groups) and, if asked, its mailbox.

    The entry goes first: from that moment the user can neither log in nor receive mail. A mailbox that is
    kept blocks re-using the login name until it is deleted (a new account must never inherit old mail).
    """
    entry = _account(dn)
    uid = entry.first("uid")

    def work() -> None:
        directory.delete(dn)
        if delete_mailbox and entry.has_object_class("mailAccount"):
            with contextlib.suppress(imap.MailboxNotFound):  # nothing to delete is what was wanted
                imap.mailbox_delete(uid)

    _audited(actor, "user_delete", dn, {"uid": uid, "mailbox_deleted": delete_mailbox}, work)


# --- roles -------------------------------------------------------------------------------------------------


def _add_dn_value(actor: Actor, action: str, target: str, attr: str, account_dn: str) -> None:
    _account(account_dn)
    _audited(
        actor,
        action,
        target,
        {attr: account_dn},
        lambda: directory.modify(target, [directory.add_values(attr, account_dn)]),
    )


def _remove_dn_value(actor: Actor, action: str, target: str, attr: str, account_dn: str) -> None:
    if not dit.valid_dn(account_dn):
        raise InvalidName("This is not a valid directory name (DN).", "account_dn")
    _audited(
        actor,
        action,
        target,
        {attr: account_dn},
        lambda: directory.modify(target, [directory.delete_values(attr, account_dn)]),
    )


def domain_admin_add(*, actor: Actor, domain: str, account_dn: str) -> None:
    """Make an account a domain administrator (mailAdministrator on the domain entry)."""
    _add_dn_value(actor, "domain_admin_add", dit.domain_dn(domain), "mailAdministrator", account_dn)


def domain_admin_remove(*, actor: Actor, domain: str, account_dn: str) -> None:
    _remove_dn_value(actor, "domain_admin_remove", dit.domain_dn(domain), "mailAdministrator", account_dn)


def group_admin_add(*, actor: Actor, group_dn: str, account_dn: str) -> None:
    """Make an account a group administrator (mailAdministrator on the group entry)."""
    _group(group_dn)
    _add_dn_value(actor, "group_admin_add", group_dn, "mailAdministrator", account_dn)


def group_admin_remove(*, actor: Actor, group_dn: str, account_dn: str) -> None:
    _group(group_dn)
    _remove_dn_value(actor, "group_admin_remove", group_dn, "mailAdministrator", account_dn)


def administrator_add(*, actor: Actor, account_dn: str) -> None:
    """Make an account an administrator (member of cn=administrators,ou=roles)."""
    _add_dn_value(actor, "administrator_add", dit.administrators_group_dn(), "member", account_dn)


def administrator_remove(*, actor: Actor, account_dn: str) -> None:
    _remove_dn_value(actor, "administrator_remove", dit.administrators_group_dn(), "member", account_dn)
