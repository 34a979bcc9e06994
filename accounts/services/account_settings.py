"""An account's password, login flags and quota (ACC-08, WEB-02): the changes after it exists.

Setting a password is a password change, then "must change" (pwdReset), then the end of open sessions;
setting a quota writes the directory's record, then Cyrus, which enforces it; enabling an account may set
mailEnabled and lift a lock. Each of those runs journaled (accounts/services/journal.py), so a process that
dies between two writes leaves a row the drift check finishes or undoes. A password is never stored: its
step cannot be redone or undone, only the ones after it finished.
"""

from __future__ import annotations

import contextlib

from accounts.services import ensure
from accounts.services.common import check_new_password, check_quota
from accounts.services.journal import Data, Journal, Step, journal_kind
from mailadmin import directory, imap
from mailadmin.actor import Actor
from mailadmin.audit.services import audited
from mailadmin.directory import InvalidName, dit
from mailadmin.sessions import sessions_end


def _must_change_set(data: Data, _actor: Actor) -> None:
    # pwdReset is ppolicy's "must change"; slapd clears it when the user sets their own password.
    ensure.replaced(data["dn"], {"pwdReset": True if data["must_change"] else None})


def _sessions_ended(data: Data, _actor: Actor) -> None:
    sessions_end(dn=data["dn"])


def _quota_recorded(data: Data, _actor: Actor) -> None:
    ensure.replaced(data["dn"], {"mailQuota": data["quota"]})


def _quota_record_restored(data: Data, _actor: Actor) -> None:
    ensure.replaced(data["dn"], {"mailQuota": data["before"]})


def _cyrus_quota(uid: str, quota: int | None) -> None:
    # No mailbox (yet): the LDAP value is applied when it is made.
    with contextlib.suppress(imap.MailboxNotFound):
        imap.quota_set(uid, quota)


def _quota_enforced(data: Data, _actor: Actor) -> None:
    _cyrus_quota(data["uid"], data["quota"])


def _quota_enforced_before(data: Data, _actor: Actor) -> None:
    _cyrus_quota(data["uid"], data["before"])


def _mail_enabled(data: Data, _actor: Actor) -> None:
    ensure.replaced(data["dn"], {"mailEnabled": True})


def _mail_enabled_before(data: Data, _actor: Actor) -> None:
    ensure.replaced(data["dn"], {"mailEnabled": data["mail_enabled_before"]})


def _unlocked(data: Data, _actor: Actor) -> None:
    if directory.get_account(data["dn"], "pwdAccountLockedTime").get("pwdAccountLockedTime"):
        directory.account_unlock(data["dn"])


def _locked_again(data: Data, _actor: Actor) -> None:
    directory.account_lock(data["dn"])


USER_SET_PASSWORD = journal_kind(
    "user_set_password",
    {
        "password": Step(redo=None, undo=None),  # the old password is gone, the new one never stored
        "must_change": Step(redo=_must_change_set, undo=None),
        "sessions": Step(redo=_sessions_ended, undo=None),
    },
    rerun_completes=True,
)
USER_SET_QUOTA = journal_kind(
    "user_set_quota",
    {
        "directory": Step(redo=_quota_recorded, undo=_quota_record_restored),
        "mailbox": Step(redo=_quota_enforced, undo=_quota_enforced_before),
    },
    rerun_completes=True,
)
USER_ENABLE = journal_kind(
    "user_enable",
    {
        "mail": Step(redo=_mail_enabled, undo=_mail_enabled_before),
        "unlock": Step(redo=_unlocked, undo=_locked_again),
    },
    rerun_completes=True,
)


def user_set_password(*, actor: Actor, dn: str, password: str, must_change: bool = True) -> None:
    """An administrator sets someone's password; by default they must choose their own at the next login."""
    check_new_password(password)
    entry = directory.get_account(dn)
    data = {"dn": entry.dn, "must_change": must_change}

    def work() -> None:
        with Journal.begin(actor, USER_SET_PASSWORD, dn, ["password", "must_change", "sessions"], data) as j:
            j.step("password", lambda: directory.password_modify(dn, password))
            j.step("must_change", lambda: _must_change_set(data, actor))
            # Open console sessions of the account end at their next request: pwdChangedTime changed, and (for
            # a directory without ppolicy) so does the session epoch.
            j.step("sessions", lambda: _sessions_ended(data, actor))

    audited(actor, "user_set_password", dn, {"must_change": must_change}, work)


def _set_flag(actor: Actor, action: str, dn: str, attr: str, value: bool | None) -> None:
    before = directory.get_account(dn, attr).get(attr)

    def work() -> None:
        directory.modify(dn, [directory.replace(attr, value)])

    audited(actor, action, dn, {attr: value}, work, before={attr: before})


class DisableRefused(InvalidName):
    """Disabling this account would lock out the console's last way in (oneself, the manager account)."""


def user_disable(*, actor: Actor, dn: str) -> None:
    """The account can no longer log in anywhere: not to the console (its open sessions end at their next
    request), not over IMAP or SMTP AUTH (saslauthd's filter), and Postfix refuses its mail (550).

    A mail account gets mailEnabled FALSE; an account without it (a console-only administrator in ou=admins)
    is locked in ppolicy until enabled again, so slapd refuses its binds."""
    entry = directory.get_account(dn, "mailEnabled", "pwdAccountLockedTime")
    if actor.dn and dit.same_dn(entry.dn, actor.dn):
        raise DisableRefused("You cannot disable your own account.", "dn")
    if dit.same_dn(entry.dn, dit.manager_dn()):
        raise DisableRefused("The manager account admin cannot be disabled: it is the way back in.", "dn")
    if entry.has_object_class("mailAccount"):
        _set_flag(actor, "user_disable", dn, "mailEnabled", False)
        return
    before = {"pwdAccountLockedTime": entry.get("pwdAccountLockedTime")}
    audited(
        actor,
        "user_disable",
        dn,
        {"pwdAccountLockedTime": directory.LOCKED_FOREVER},
        lambda: directory.account_lock(dn),
        before=before,
    )


def user_enable(*, actor: Actor, dn: str) -> None:
    entry = directory.get_account(dn, "mailEnabled", "pwdAccountLockedTime")
    mail = entry.has_object_class("mailAccount")
    locked = entry.get("pwdAccountLockedTime") == directory.LOCKED_FOREVER
    steps = [*(["mail"] if mail else []), *(["unlock"] if locked else [])]
    if not steps:
        return
    data = {"dn": entry.dn, "mail_enabled_before": entry.get("mailEnabled")}
    with Journal.begin(actor, USER_ENABLE, dn, steps, data) as j:
        if mail:
            j.step("mail", lambda: _set_flag(actor, "user_enable", dn, "mailEnabled", True))
        if locked:
            j.step(
                "unlock",
                lambda: audited(
                    actor,
                    "user_enable",
                    dn,
                    {"pwdAccountLockedTime": None},
                    lambda: directory.account_unlock(dn),
                    before={"pwdAccountLockedTime": entry.get("pwdAccountLockedTime")},
                ),
            )


def user_set_web_access(*, actor: Actor, dn: str, allowed: bool) -> None:
    """ "Access WebClient" (WEB-02)."""
    _set_flag(actor, "user_set_web_access", dn, "mailWebAccess", allowed)


def user_set_quota(*, actor: Actor, dn: str, quota_kib: int | None) -> None:
    """Quota in KiB (None: no limit): in LDAP for the record and in Cyrus, which enforces it."""
    quota = check_quota(quota_kib)
    entry = directory.get_account(dn, "mailQuota")
    raw = entry.get("mailQuota")
    before = int(raw) if raw and raw.isdigit() else None
    uid = entry.first("uid")
    data = {"dn": entry.dn, "uid": uid, "quota": quota, "before": before}

    def work() -> None:
        with Journal.begin(actor, USER_SET_QUOTA, dn, ["directory", "mailbox"], data) as j:
            j.step("directory", lambda: directory.modify(dn, [directory.replace("mailQuota", quota)]))
            j.step("mailbox", lambda: _cyrus_quota(uid, quota))

    audited(actor, "user_set_quota", dn, {"mailQuota": quota}, work, before={"mailQuota": before})
