"""Fixtures of the backup tests: a private catalogue directory, and a fresh user with mail."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.backup.backuptool import seed_mail
from tests.configuration.conftest import postfix_restored  # noqa: F401 — the fixture, for the config restore tests
from tests.migration.archivetool import make_user


@pytest.fixture
def backup_dir(stack: Any) -> Path:
    """The catalogue directory the worker uses too (the test stack's var/backups): shared by the tests of a
    session, so a test looks only at the sets it made."""
    from backup import catalogue

    return catalogue.directory()


@pytest.fixture
def mail_user(domain: str, unique: Any) -> str:
    uid = unique("bk")
    make_user(domain, uid)
    seed_mail(uid)
    return uid
