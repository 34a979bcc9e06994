"""Views check the real kind of the entry they act on, and administrators' accounts are the manager's.

Each refusal is a 404 and leaves the directory byte-identical (ldapsearch of the subtree, operational
attributes included).
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

import pytest
from django.test import Client

from accounts.services import roles
from accounts.services.users import user_create
from mailadmin.actor import Actor
from mailadmin.directory import dit
from tests import ldaptool
from tests.accounts.test_users_refusals import mutations
from tests.conftest import Persona, Personas

pytestmark = pytest.mark.django_db
Login = Callable[[Persona], Client]
ACTOR = Actor.system("tests")
PASSWORD = "Kind-pass-123"


def _q(dn: str, key: str = "dn") -> str:
    return "?" + urlencode({key: dn})


@pytest.fixture
def room(personas: Personas, unique: Callable[[str], str]) -> str:
    """A resource inside the group administrator's own group."""
    return user_create(
        actor=ACTOR,
        container_dn=personas.group_dn,
        uid=unique("room"),
        password=PASSWORD,
        last_name="Room",
        resource_kind="room",
    )


def test_group_admin_cannot_reset_a_resources_password(personas: Personas, login: Login, room: str) -> None:
    gary = login(personas.group_admin)
    before = ldaptool.dump(room, scope="base")
    url = "/accounts/password-reset/" + _q(room)
    assert gary.get(url).status_code == 404
    data = {"password": "Taken-over-12", "password2": "Taken-over-12"}
    assert gary.post(url, data).status_code == 404
    assert ldaptool.dump(room, scope="base") == before
    assert ldaptool.bind_ok(room, PASSWORD) and not ldaptool.bind_ok(room, "Taken-over-12")
    # Nor does the generic object page offer it.
    assert "password-reset" not in gary.get("/accounts/object/" + _q(room)).content.decode()


def test_group_admin_cannot_change_a_resource_of_the_group(
    personas: Personas, login: Login, room: str
) -> None:
    gary = login(personas.group_admin)
    before = ldaptool.dump(personas.group_dn)
    for url, data in mutations(room):
        assert gary.post(url, data).status_code == 404, url
    assert ldaptool.dump(personas.group_dn) == before


def test_a_resource_is_never_appointed_administrator(personas: Personas, login: Login, room: str) -> None:
    uid = dit.rdn_value(room)
    assert roles.account_by_login(uid, base=dit.base_dn()) is None
    admin = login(personas.admin)
    before = ldaptool.dump(dit.roles_dn())
    response = admin.post("/accounts/administrators/add/", {"add-login": uid})
    assert (
        response.status_code == 200
        and "There is no account with this login name." in response.content.decode()
    )
    assert ldaptool.dump(dit.roles_dn()) == before


def test_only_the_manager_touches_another_administrators_account(
    personas: Personas, login: Login, unique: Callable[[str], str]
) -> None:
    uid = unique("peer")
    peer = roles.administrator_create(actor=ACTOR, uid=uid, password=PASSWORD, last_name="Peer")
    alladmin = login(personas.admin)  # an administrator, not the manager `admin`
    before = ldaptool.dump(peer, scope="base")
    data = {"password": "Taken-over-12", "password2": "Taken-over-12"}
    assert alladmin.post("/accounts/password-reset/" + _q(peer), data).status_code == 404
    for url, form in mutations(peer):
        assert alladmin.post(url, form).status_code == 404, url
    assert ldaptool.dump(peer, scope="base") == before
    # Nor the manager's account, nor one's own deletion.
    manager = dit.manager_dn()
    assert alladmin.post("/accounts/password-reset/" + _q(manager), data).status_code == 404
    assert alladmin.post("/accounts/users/delete/" + _q(personas.admin.dn), {}).status_code == 404
    assert ldaptool.bind_ok(personas.admin.dn, personas.admin.password)


@pytest.mark.parametrize("who", ["domain_admin_a", "group_admin", "user"])
def test_only_administrators_start_the_system_check(who: str, personas: Personas, login: Login) -> None:
    client = login(getattr(personas, who))
    assert client.post("/tools/check/").status_code == 404


@pytest.mark.parametrize("who", ["domain_admin_b", "group_admin", "user"])
def test_organization_create_refused(who: str, personas: Personas, login: Login) -> None:
    domain_dn = dit.domain_dn("a.test")
    before = ldaptool.dump(domain_dn, scope="one")
    response = login(getattr(personas, who)).post(
        "/accounts/organizations/create/" + _q(domain_dn, "parent"), {"name": "intruders"}
    )
    assert response.status_code == 404
    assert ldaptool.dump(domain_dn, scope="one") == before
