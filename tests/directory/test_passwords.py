"""Passwords: only ever by Password Modify, hashed by slapd, judged by ppolicy; binds as the proof."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest

from mailadmin import directory
from mailadmin.directory import DirectoryRefused, dit
from tests.directory.conftest import PASSWORD
from tests.ldaptool import attribute, bind_ok

pytestmark = pytest.mark.django_db


def test_password_modify_stores_an_ssha_hash(make_account: Callable[..., str]) -> None:
    dn = make_account(password=None)
    directory.password_modify(dn, "First-secret-1")
    stored = attribute(dn, "userPassword")  # read back as the rootDN, with ldapsearch
    assert len(stored) == 1
    value = stored[0]  # `attribute` decodes ldapsearch's base64 (`userPassword:: ...`)
    assert value.startswith("{SSHA}") and "First-secret-1" not in value


def test_bind_works_with_the_new_password_and_not_the_old(make_account: Callable[..., str]) -> None:
    dn = make_account()
    directory.password_modify(dn, "Second-secret-2")
    assert bind_ok(dn, "Second-secret-2")
    assert not bind_ok(dn, PASSWORD)
    directory.bind_as(dn, "Second-secret-2")
    with pytest.raises(DirectoryRefused, match="Wrong login name or password"):
        directory.bind_as(dn, PASSWORD)


def test_empty_password_never_binds(make_account: Callable[..., str]) -> None:
    # An empty simple-bind password is an anonymous bind that *succeeds* (RFC 4513): it must not get through.
    dn = make_account()
    with pytest.raises(DirectoryRefused, match="Wrong login name or password"):
        directory.bind_as(dn, "")
    with pytest.raises(DirectoryRefused):
        directory.bind_as("garbage", "x")


def test_user_changes_own_password(make_account: Callable[..., str]) -> None:
    dn = make_account()
    with pytest.raises(DirectoryRefused, match="Wrong login name or password"):
        directory.password_modify_as_user(dn, "not-the-password", "Third-secret-3")
    directory.password_modify_as_user(dn, PASSWORD, "Third-secret-3")
    assert bind_ok(dn, "Third-secret-3") and not bind_ok(dn, PASSWORD)


def test_must_change_flag_is_cleared_by_the_users_own_change(make_account: Callable[..., str]) -> None:
    dn = make_account()
    assert not directory.password_must_change(dn)
    directory.password_reset_required(dn)
    assert directory.password_must_change(dn)
    directory.password_modify_as_user(dn, PASSWORD, "Fourth-secret-4")
    assert not directory.password_must_change(dn)


@pytest.fixture
def strict_policy(stack: object) -> Iterator[str]:
    """A policy of our own (the default one is the stack's business): quality checked, 3 failures lock."""
    dn = f"cn=strict-{uuid.uuid4().hex[:8]},{dit.policies_dn()}"
    directory.add(
        dn,
        {
            "objectClass": ["device", "pwdPolicy"],
            "cn": dit.rdn_value(dn),
            "pwdAttribute": "userPassword",
            "pwdMinLength": 10,
            "pwdCheckQuality": 2,
            "pwdInHistory": 2,
            "pwdMaxFailure": 3,
            "pwdLockout": True,
            "pwdLockoutDuration": 0,
        },
    )
    yield dn
    directory.delete(dn)


@pytest.fixture
def strict_account(make_account: Callable[..., str], strict_policy: str) -> str:
    dn = make_account()
    directory.modify(dn, [directory.replace("pwdPolicySubentry", strict_policy)])
    return dn


def test_ppolicy_refusals_are_sentences(strict_account: str) -> None:
    dn = strict_account
    with pytest.raises(DirectoryRefused, match="does not meet the password policy"):
        directory.password_modify_as_user(dn, PASSWORD, "short")
    with pytest.raises(DirectoryRefused, match="must differ from the current one"):
        directory.password_modify_as_user(dn, PASSWORD, PASSWORD)
    directory.password_modify_as_user(dn, PASSWORD, "Long-enough-pass-1")
    with pytest.raises(DirectoryRefused, match="used before"):
        directory.password_modify_as_user(dn, "Long-enough-pass-1", PASSWORD)


def test_lockout_and_unlock(strict_account: str) -> None:
    uid = dit.rdn_value(strict_account)
    assert not directory.account_locked(uid)
    for _ in range(3):
        with pytest.raises(DirectoryRefused):
            directory.bind_as(strict_account, "wrong-password")
    assert directory.account_locked(uid)
    with pytest.raises(DirectoryRefused, match="locked"):
        directory.bind_as(strict_account, PASSWORD)  # the right password does not help now
    directory.account_unlock(strict_account)
    assert not directory.account_locked(uid)
    directory.bind_as(strict_account, PASSWORD)


def test_account_locked_of_unknown_or_hostile_names() -> None:
    assert directory.account_locked("nobody-here") is False
    assert directory.account_locked("*)(uid=*") is False


def test_password_min_length_of_the_default_policy(stack: object) -> None:
    policy = directory.get_entry(f"cn=default,{dit.policies_dn()}", ["pwdMinLength"])
    expected = int(policy.first("pwdMinLength") or 0) if policy is not None else 0
    assert directory.password_min_length() == expected


def test_the_default_policy_refuses_a_short_password_chosen_by_the_account(
    make_account: Callable[..., str],
) -> None:
    """slapd itself (pwdCheckQuality 1) holds the minimum length, not only the console's form."""
    dn = make_account()
    with pytest.raises(DirectoryRefused, match="does not meet the password policy"):
        directory.password_modify_as_user(dn, PASSWORD, "short")
    assert bind_ok(dn, PASSWORD)
