"""Fixtures of the Aliases tests (shared by H1's test_aliases_* and H2's test_system_*, test_addresses_*,
test_explain_* modules; append fixtures with small edits)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from accounts.services.users import user_create
from aliases.services import alias_create
from mailadmin.actor import Actor
from mailadmin.directory import dit
from tests.conftest import PASSWORD, Persona


@dataclass(frozen=True)
class AliasOwner:
    """A plain user (no admin role) of `domain` who owns the alias `alias_dn` (and nothing else)."""

    persona: Persona
    domain: str
    alias_dn: str
    alias_address: str


def make_user(domain: str, uid: str, *, mailbox: bool = False) -> Persona:
    """A user of `domain`'s organization with the personas' password (log in with the `login` fixture)."""
    container = dit.organization_dn(domain, domain)
    dn = user_create(
        actor=Actor.system("tests"),
        container_dn=container,
        uid=uid,
        password=PASSWORD,
        last_name=uid.title(),
        create_mailbox=mailbox,
    )
    return Persona(uid, uid, dn)


@pytest.fixture
def alias_owner(domain: str, unique: Callable[[str], str]) -> AliasOwner:
    """The persona "alias owner": may view and change `alias_dn` only."""
    owner = make_user(domain, unique("owner"))
    name = f"owned-{uuid.uuid4().hex[:6]}"
    dn = alias_create(
        actor=Actor.system("tests"),
        domain=domain,
        name=name,
        members=[f"{owner.uid}@{domain}"],
        owners=[owner.uid],
    )
    return AliasOwner(owner, domain, dn, f"{name}@{domain}")
