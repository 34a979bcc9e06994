"""Password policy state kept by slapd's ppolicy overlay: lockout, forced change, minimum length."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mailadmin.directory import dit
from mailadmin.directory.names import InvalidName, check_login
from mailadmin.directory.search import filter_eq, get_entry, search
from mailadmin.directory.skeleton import ADMIN_POLICY
from mailadmin.directory.standing import LOCKED_FOREVER
from mailadmin.directory.write import add, modify, replace


def default_policy_dn() -> str:
    return f"cn=default,{dit.policies_dn()}"


def admin_policy_dn() -> str:
    """The administrators' policy: no lockout (decision 0011)."""
    return f"cn=administrators,{dit.policies_dn()}"


def admin_policy_ensure() -> bool:
    """Add the administrators' policy if the directory has none (made before it existed). True if added."""
    if get_entry(admin_policy_dn(), ["cn"]) is not None:
        return False
    attrs: dict[str, str | list[str]] = {"objectClass": ["device", "pwdPolicy"], "cn": "administrators"}
    attrs.update(ADMIN_POLICY)
    add(admin_policy_dn(), attrs)
    return True


def policy_assign(dn: str, *, administrator: bool) -> None:
    """Put the account under the administrators' policy, or back under the default one (pwdPolicySubentry
    absent). Only an account's administrator role decides: it is set with the role and taken with it."""
    entry = get_entry(dn, ["pwdPolicySubentry"])
    if entry is None:
        return
    current = entry.get("pwdPolicySubentry")
    if administrator and not (current and dit.same_dn(current, admin_policy_dn())):
        modify(dn, [replace("pwdPolicySubentry", admin_policy_dn())])
    elif not administrator and current and dit.same_dn(current, admin_policy_dn()):
        modify(dn, [replace("pwdPolicySubentry", None)])


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


def account_lock_state(username: str) -> str:
    """Why slapd refuses every bind of the account with this login name now: "disabled" (locked by an
    administrator until unlocked), "locked" (too many failed binds, until pwdLockoutDuration passes), or ""
    (not locked; also for an invalid or unknown login name)."""
    try:
        uid = check_login(username)
    except InvalidName:
        return ""
    found = search(
        dit.base_dn(), filter_eq("uid", uid), ["pwdAccountLockedTime", "pwdPolicySubentry"], limit=2
    )
    if len(found) != 1:
        return ""
    entry = found[0]
    locked_at = entry.get("pwdAccountLockedTime")
    if not locked_at:
        return ""
    if locked_at == LOCKED_FOREVER:
        return "disabled"
    when = _generalized_time(locked_at)
    duration = _policy_int(entry.get("pwdPolicySubentry") or default_policy_dn(), "pwdLockoutDuration")
    if when is None or duration <= 0:
        return "locked"  # no automatic unlock configured: locked until an administrator unlocks it
    return "locked" if datetime.now(UTC) < when + timedelta(seconds=duration) else ""


def account_locked(username: str) -> bool:
    """True if slapd refuses the binds of this login name now (see `account_lock_state`)."""
    return bool(account_lock_state(username))


def password_must_change(dn: str) -> bool:
    """pwdReset is TRUE: an administrator set the password and the user must choose their own."""
    entry = get_entry(dn, ["pwdReset"])
    return entry is not None and entry.first("pwdReset").upper() == "TRUE"


def password_reset_required(dn: str) -> None:
    """Make the user choose a new password at the next login (ppolicy clears pwdReset when they do)."""
    modify(dn, [replace("pwdReset", True)])


def account_lock(dn: str) -> None:
    """Lock the account until an administrator unlocks it: slapd refuses every bind (console, IMAP, SMTP
    AUTH). How an account without mailEnabled (a console-only administrator) is disabled."""
    modify(dn, [replace("pwdAccountLockedTime", LOCKED_FOREVER)])


def account_unlock(dn: str) -> None:
    """Clear a ppolicy lockout. Only pwdAccountLockedTime may be written; slapd drops the failure
    counter (pwdFailureTime, not user-modifiable) along with it."""
    entry = get_entry(dn, ["pwdAccountLockedTime"])
    if entry is not None and "pwdAccountLockedTime" in entry:
        modify(dn, [replace("pwdAccountLockedTime", None)])
