"""Fixtures of the Mail Folders tests: accounts made through the account services, IMAP as a user and as
the Cyrus admin (to look at what Cyrus really holds), and the admin's console client."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.test import Client
from imapclient import IMAPClient

from accounts.services.containers import domain_create, group_create
from accounts.services.users import user_create
from mailadmin.actor import Actor
from mailadmin.directory import dit

PASSWORD = "Folders-pass-1"
ACTOR = Actor.system("tests")


@contextmanager
def imap_as(uid: str, password: str = PASSWORD) -> Iterator[IMAPClient]:
    client = IMAPClient(
        settings.IMAP_HOST, port=int(settings.IMAP_PORT), ssl=bool(settings.IMAP_SSL), timeout=10
    )
    try:
        client.login(uid, password)
        yield client
    finally:
        with contextlib.suppress(Exception):
            client.logout()


def cyrus() -> contextlib.AbstractContextManager[IMAPClient]:
    return imap_as(str(settings.CYRUS_ADMIN), str(settings.CYRUS_ADMIN_PASSWORD))


def listed(uid: str) -> set[str]:
    """Every folder name LIST "" "*" shows to `uid`."""
    with imap_as(uid) as client:
        return {str(name) for _flags, _sep, name in client.list_folders("", "*")}


def can_select(uid: str, folder: str) -> bool:
    with imap_as(uid) as client:
        try:
            client.select_folder(folder, readonly=True)
        except Exception:
            return False
        return True


def acl_of(folder: str) -> dict[str, str]:
    with cyrus() as client:
        return {
            (w.decode() if isinstance(w, bytes) else str(w)): (r.decode() if isinstance(r, bytes) else str(r))
            for w, r in client.getacl(folder)
        }


def all_public() -> set[str]:
    with cyrus() as client:
        return {str(n) for _f, _s, n in client.list_folders("", "*") if not str(n).startswith("user/")}


@dataclass(frozen=True)
class Company:
    """A private hosted domain with its organization."""

    domain: str
    domain_dn: str
    org_dn: str


@pytest.fixture
def company(stack: object, db: None) -> Callable[[], Company]:
    def make() -> Company:
        name = f"f{uuid.uuid4().hex[:10]}.test"
        domain_create(actor=ACTOR, name=name, private=True)
        return Company(name, dit.domain_dn(name), dit.organization_dn(name, name))

    return make


@pytest.fixture
def account(stack: object, db: None) -> Callable[..., str]:
    """A new account (with a mailbox unless told otherwise) in a container; returns the login name."""

    def make(container_dn: str, *, mailbox: bool = True) -> str:
        uid = f"u{uuid.uuid4().hex[:8]}"
        user_create(
            actor=ACTOR,
            container_dn=container_dn,
            uid=uid,
            password=PASSWORD,
            last_name="Tester",
            create_mailbox=mailbox,
        )
        return uid

    return make


@pytest.fixture
def group(stack: object, db: None) -> Callable[[str], str]:
    def make(parent_dn: str) -> str:
        return group_create(actor=ACTOR, parent_dn=parent_dn, name=f"g{uuid.uuid4().hex[:6]}")

    return make


@pytest.fixture
def admin_client(personas: object, login: Callable[[object], Client]) -> Client:
    return login(personas.admin)  # type: ignore[attr-defined]


def folder_name(prefix: str = "F") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"
