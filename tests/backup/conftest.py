"""Fixtures of the backup tests: a private catalogue directory, and a fresh user with mail."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from tests.backup.backuptool import seed_mail
from tests.migration.archivetool import make_user


@pytest.fixture
def backup_dir(tmp_path: Path) -> Iterator[Path]:
    directory = tmp_path / "backups"
    with override_settings(BACKUP_DIR=directory):
        yield directory


@pytest.fixture
def mail_user(domain: str, unique: Any) -> str:
    uid = unique("bk")
    make_user(domain, uid)
    seed_mail(uid)
    return uid
