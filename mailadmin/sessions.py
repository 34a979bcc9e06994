"""What the console keeps in a login session, in one place, and how sessions end.

A session holds the account's DN, the session epoch of its AccountState row and the password-change time
slapd reported at login (ppolicy's pwdChangedTime). Every request checks the account again in the directory
(`mailadmin.middleware`): a session ends at its next request once the account is gone or disabled, or once its
password changed (by the person in another session, by an administrator, or by any other LDAP tool).
"""

from __future__ import annotations

from django.db.models import F

from mailadmin.models import AccountState

SESSION_DN = "mailadmin.dn"
SESSION_EPOCH = "mailadmin.epoch"
SESSION_PASSWORD_CHANGED = "mailadmin.password_changed"  # noqa: S105 — a session key
MUST_CHANGE_PASSWORD = "must_change_password"  # noqa: S105 — a session key


def sessions_end(*, dn: str) -> int:
    """End every open console session of the account `dn` at its next request (the epoch check), whatever
    the directory keeps. Returns how many accounts' epochs went up (0 when it never logged in)."""
    return AccountState.objects.filter(dn=dn).update(session_epoch=F("session_epoch") + 1)
