"""Sorted pages reuse slapd's sorted list (VLV context IDs) — and never show a list older than a write."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest
from django.conf import settings

from mailadmin import directory
from mailadmin.directory import dit, vlv

pytestmark = pytest.mark.django_db

FILTER = "(objectClass=inetOrgPerson)"


def page(org: str, offset: int = 0, count: int = 5) -> list[str]:
    window = directory.search_window(org, FILTER, ["uid"], offset=offset, count=count, sort=("uid",))
    return [e.first("uid") for e in window.entries]


@pytest.fixture
def filled(org: str, make_account: Callable[..., str]) -> list[str]:
    uids = sorted(f"m{n:02d}x{org[3:9]}" for n in range(12))
    for uid in uids:
        make_account(uid, password=None)
    return uids


def contexts() -> int:
    return sum(len(v) for v in vlv._contexts.values())


def test_following_pages_reuse_the_sorted_list(org: str, filled: list[str]) -> None:
    directory.close_all()
    assert page(org) == filled[:5]
    assert contexts() == 1
    assert page(org, 5) == filled[5:10]
    assert page(org, 10) == filled[10:]
    assert contexts() == 1  # one context for the one list, reused


def test_a_write_through_the_gateway_shows_at_once(
    org: str, filled: list[str], make_account: Callable[..., str]
) -> None:
    assert page(org) == filled[:5]
    first = "a" + filled[0]
    make_account(first, password=None)
    assert page(org)[0] == first


def test_a_write_elsewhere_shows_after_the_context_age(
    org: str, filled: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert page(org) == filled[:5]
    first = "a0" + filled[0]
    ldif = (
        f"dn: {dit.account_dn(org, first)}\nobjectClass: inetOrgPerson\nuid: {first}\n"
        f"cn: {first}\nsn: {first}\n"
    )
    subprocess.run(
        [
            "ldapadd",
            "-x",
            "-H",
            settings.LDAP_URI,
            "-D",
            settings.LDAP_ADMIN_DN,
            "-w",
            settings.LDAP_ADMIN_PASSWORD,
        ],
        input=ldif,
        text=True,
        check=True,
        capture_output=True,
    )
    monkeypatch.setattr(vlv, "CONTEXT_SECONDS", 0.0)
    assert page(org)[0] == first


def test_another_process_writing_ends_the_reuse(org: str, filled: list[str]) -> None:
    assert page(org) == filled[:5]
    vlv.invalidate()  # what a write in another gunicorn worker or the Celery worker does via Redis
    before = contexts()
    assert page(org, 5) == filled[5:10]
    assert contexts() == before  # replaced, not added


def test_a_context_slapd_forgot_falls_back_to_a_fresh_sort(org: str, filled: list[str]) -> None:
    assert page(org) == filled[:5]
    for store in vlv._contexts.values():
        for key, (_cid, made, token) in list(store.items()):
            store[key] = ("\x00\x00\x7f\x7f", made, token)
    assert page(org, 5) == filled[5:10]
