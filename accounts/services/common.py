"""Shared helpers of the account services: checks of what is written, containers to write into."""

from __future__ import annotations

from accounts.selectors.people import group_get, mail_container_get
from mailadmin import directory
from mailadmin.directory import (
    DirectoryNotFound,
    InvalidName,
    check_password,
)

MAX_PERSON_NAME = 64


def check_new_password(password: str) -> str:
    # slapd skips ppolicy's quality checks for the rootDN the console binds as, so the console applies the
    # policy's minimum length itself when it sets a password for someone.
    check_password(password)
    minimum = directory.password_min_length()
    if len(password) < minimum:
        raise InvalidName(f"The password must be at least {minimum} characters long.", "password")
    return password


def check_quota(quota_kib: int | None) -> int | None:
    if quota_kib is None:
        return None
    if isinstance(quota_kib, bool) or not isinstance(quota_kib, int) or quota_kib < 0:
        raise InvalidName("A quota is a whole number of KiB, 0 or more.", "quota")
    return quota_kib


def get_mail_container(dn: str) -> directory.Entry:
    """An organization or group inside a domain (where users and groups may be created)."""
    entry = mail_container_get(dn=dn)
    if entry is None:
        raise DirectoryNotFound(f"There is no organization or group {dn}.")
    return entry


def get_group(dn: str) -> directory.Entry:
    entry = group_get(dn=dn)
    if entry is None:
        raise DirectoryNotFound(f"There is no group {dn}.")
    return entry
