"""Renaming organizations and groups (ACC-05, ACC-06): slapd renames the subtree, refint keeps references,
logins and mailboxes stay, private containers stay hidden; refusals are 404 and change nothing."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

import pytest
from django.test import Client

from accounts import services
from accounts.services.containers import group_create, organization_create
from mailadmin import directory
from mailadmin.actor import Actor
from mailadmin.directory import dit
from tests import ldaptool
from tests.accounts.test_containers import HOSTILE, _readable, messages_of
from tests.conftest import Persona, Personas

pytestmark = pytest.mark.django_db
Login = Callable[[Persona], Client]
SYSTEM = Actor.system("tests")


def rename(dn: str) -> str:
    return "/accounts/containers/rename/?" + urlencode({"dn": dn})


def tree() -> str:
    return ldaptool.dump(dit.domains_dn())


def test_renaming_a_group_keeps_logins_references_and_privacy(
    personas: Personas, login: Login, domain: str, unique: Callable[[str], str]
) -> None:
    org = dit.organization_dn(domain, domain)
    group = group_create(actor=SYSTEM, parent_dn=org, name="sales", private=True)
    inner = group_create(actor=SYSTEM, parent_dn=group, name="east")
    uid, password = unique("ren"), "Rename-pass-12"
    dn = services.user_create(
        actor=SYSTEM, container_dn=inner, uid=uid, password=password, last_name="Ren", create_mailbox=False
    )
    outsider = services.user_create(
        actor=SYSTEM, container_dn=org, uid=unique("out"), password=password, last_name="Out",
        create_mailbox=False,
    )  # fmt: skip
    services.group_admin_add(actor=SYSTEM, group_dn=inner, account_dn=dn)

    client = login(personas.admin)
    page = client.get("/accounts/browser/?" + urlencode({"dn": group})).content.decode()
    assert rename(group) in page  # the container page offers "Rename"
    response = client.post(rename(group), {"name": "Vertrieb Nord"}, follow=True)
    assert "sales renamed to Vertrieb Nord." in messages_of(response)

    new_group = dit.group_dn(org, "Vertrieb Nord")
    new_dn = dit.account_dn(dit.group_dn(new_group, "east"), uid)
    assert not directory.exists(group) and ldaptool.attribute(new_group, "ou") == ["Vertrieb Nord"]
    assert ldaptool.bind_ok(new_dn, password)  # the login works at the new DN
    assert ldaptool.attribute(dit.group_dn(new_group, "east"), "mailAdministrator") == [new_dn]  # refint
    assert not _readable(outsider, password, new_dn)  # still private at the new name
    assert directory.access_state().in_sync


def test_an_organization_is_renamed_but_not_the_one_made_with_the_domain(
    personas: Personas, login: Login, domain: str
) -> None:
    client = login(personas.admin)
    default = dit.organization_dn(domain, domain)
    assert client.get(rename(default)).status_code == 404
    org = organization_create(actor=SYSTEM, domain_dn=dit.domain_dn(domain), name="Branch")
    before = tree()
    for taken in (domain, "Branch\\"):  # the default organization's name; an invalid one
        response = client.post(rename(org), {"name": taken})
        assert response.status_code == 200 and 'class="error"' in response.content.decode(), taken
    assert tree() == before
    assert client.post(rename(org), {"name": "Filiale"}).status_code == 302
    assert directory.exists(dit.organization_dn(domain, "Filiale")) and not directory.exists(org)


@pytest.mark.parametrize("bad", HOSTILE)
def test_rename_refuses_hostile_names_and_writes_nothing(
    personas: Personas, login: Login, domain: str, bad: str
) -> None:
    group = group_create(actor=SYSTEM, parent_dn=dit.organization_dn(domain, domain), name="g1")
    before = tree()
    response = login(personas.admin).post(rename(group), {"name": bad})
    assert response.status_code == 200 and 'class="error"' in response.content.decode()
    assert "<img src=x" not in response.content.decode()
    assert tree() == before


def test_rename_refusals_are_404_and_change_nothing(personas: Personas, login: Login) -> None:
    org_a = dit.organization_dn("a.test", "a.test")
    other = group_create(actor=SYSTEM, parent_dn=org_a, name="rename-target-x")
    org_b = organization_create(actor=SYSTEM, domain_dn=dit.domain_dn("b.test"), name="rename-org-b")
    try:
        before = tree()
        refusals = [
            (personas.domain_admin_b, other),  # another domain's group
            (personas.domain_admin_a, org_b),
            # editing a container's own entry is the administrators' business (ACC-13: "nothing else")
            (personas.domain_admin_a, other),
            (personas.group_admin, other),  # not their group
            (personas.group_admin, personas.group_dn),  # their own group: renaming it is not theirs
            (personas.user, other),
        ]
        for persona, dn in refusals:
            client = login(persona)
            assert client.get(rename(dn)).status_code == 404, (persona.uid, dn)
            assert client.post(rename(dn), {"name": "taken-over"}).status_code == 404, (persona.uid, dn)
        assert tree() == before
        assert login(personas.admin).post(rename(other), {"name": "renamed-x"}).status_code == 302
    finally:
        for dn in (dit.group_dn(org_a, "renamed-x"), other, org_b):
            if directory.exists(dn):
                directory.delete(dn)
