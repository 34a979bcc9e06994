"""Password policy state kept by slapd's ppolicy overlay: lockout, forced change, minimum length."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mailadmin.directory import dit
from mailadmin.directory.names import InvalidName, check_login
from mailadmin.directory.search import filter_eq, get_entry, search
from mailadmin.directory.write import modify, replace

# ppolicy's value for "locked by an administrator until unlocked" (draft-behera-ldap-password-policy 5.3.3).
_LOCKED_FOREVER = "000001010000Z"


def default_policy_dn() -> str:
    return f"cn=default,{dit.policies_dn()}"


def _policy_int(policy_dn: str, attr: str) -> int:
    policy = get_entry(policy_dn, [attr])
    try:
        return int(policy.first(attr)) if policy is not None and attr in policy else 0
    except ValueError:
        return 0


def password_min_length() -> int:
    """pwdMinLength of the default policy (0 if none): forms check it before slapd does."""
    return _policy_int(default_policy_dn(), "pwdMinLength")


def _generalized_time(value: str) -> datetime | None:
    # ppolicy writes e.g. 20261123063012Z or 20261123063012.123456Z (always UTC).
    stamp = value.rstrip("Z").split(".")[0]
    try:
        return datetime.strptime(stamp, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return None


def account_locked(username: str) -> bool:
    """True if the account with this login name is locked by ppolicy now (too many failed binds, or by an
    administrator). An invalid or unknown login name is simply not locked."""
    try:
        uid = check_login(username)
    except InvalidName:
        return False
    found = search(
        dit.base_dn(), filter_eq("uid", uid), ["pwdAccountLockedTime", "pwdPolicySubentry"], limit=2
    )
    if len(found) != 1:
        return False
    entry = found[0]
    locked_at = entry.get("pwdAccountLockedTime")
    if not locked_at:
        return False
    if locked_at == _LOCKED_FOREVER:
        return True
    when = _generalized_time(locked_at)
    duration = _policy_int(entry.get("pwdPolicySubentry") or default_policy_dn(), "pwdLockoutDuration")
    if when is None or duration <= 0:
        return True  # no automatic unlock configured: locked until an administrator unlocks it
    return datetime.now(UTC) < when + timedelta(seconds=duration)


def password_must_change(dn: str) -> bool:
    """pwdReset is TRUE: an administrator set the password and the user must choose their own."""
    entry = get_entry(dn, ["pwdReset"])
    return entry is not None and entry.first("pwdReset").upper() == "TRUE"


def password_reset_required(dn: str) -> None:
    """Make the user choose a new password at the next login (ppolicy clears pwdReset when they do)."""
    modify(dn, [replace("pwdReset", True)])


def account_unlock(dn: str) -> None:
    """Clear a ppolicy lockout. Only pwdAccountLockedTime may be written; slapd drops the failure
    counter (pwdFailureTime, not user-modifiable) along with it."""
    entry = get_entry(dn, ["pwdAccountLockedTime"])
    if entry is not None and "pwdAccountLockedTime" in entry:
        modify(dn, [replace("pwdAccountLockedTime", None)])
