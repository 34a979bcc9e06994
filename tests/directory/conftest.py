"""Helpers for the directory tests: entries made through the gateway itself, in the test's own domain."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from mailadmin import directory
from mailadmin.directory import dit

PASSWORD = "Gateway-pass-1"


@pytest.fixture
def org(domain: str) -> str:
    """The organization of the test's fresh domain."""
    return dit.organization_dn(domain, domain)


@pytest.fixture
def make_account(org: str) -> Callable[..., str]:
    """Add a bare account (no mailbox) with a password; returns its DN."""

    def make(uid: str | None = None, *, container: str | None = None, password: str | None = PASSWORD) -> str:
        uid = uid or f"u{uuid.uuid4().hex[:10]}"
        dn = dit.account_dn(container or org, uid)
        directory.add(dn, {"objectClass": ["inetOrgPerson", "mailAccount"], "uid": uid, "cn": uid, "sn": uid})
        if password:
            directory.password_modify(dn, password)
        return dn

    return make
