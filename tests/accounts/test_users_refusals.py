"""Every mutating user/resource view, tried by each persona who must be refused: 404, and the directory is
byte-identical afterwards (ldapsearch of the whole tree, operational attributes included)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from urllib.parse import urlencode

import pytest
from django.test import Client

from accounts.services.roles import (
    administrator_add,
    administrator_remove,
    domain_admin_add,
    domain_admin_remove,
)
from accounts.services.users import user_create, user_delete
from mailadmin.actor import Actor
from mailadmin.directory import dit
from tests import ldaptool
from tests.conftest import Persona, Personas

pytestmark = pytest.mark.django_db
Login = Callable[[Persona], Client]
ACTOR = Actor.system("tests")
PASSWORD = "Refusal-pass-12"
ORG_A = "o=a.test,dc=a.test,ou=domains,dc=mailadmin"


def _q(dn: str, key: str = "dn") -> str:
    return "?" + urlencode({key: dn})


def mutations(dn: str) -> list[tuple[str, dict[str, str]]]:
    """(URL, POST data) of every view that changes the account `dn`."""
    return [
        ("/accounts/users/edit/" + _q(dn), {"last_name": "Hijacked", "mail": "hijack@a.test"}),
        ("/accounts/users/disable/" + _q(dn), {}),
        ("/accounts/users/enable/" + _q(dn), {}),
        ("/accounts/users/web-access/" + _q(dn), {"allowed": "1"}),
        ("/accounts/users/quota/" + _q(dn), {"quota_mib": "1"}),
        ("/accounts/users/delete/" + _q(dn), {"delete_mailbox": "on"}),
    ]


def creations(parent: str) -> list[tuple[str, dict[str, str]]]:
    user = {
        "uid": "intruder",
        "password": PASSWORD,
        "password2": PASSWORD,
        "last_name": "X",
        "create_mailbox": "on",
    }
    resource = {"uid": "intruder-room", "last_name": "Room", "resource_kind": "room"}
    return [
        ("/accounts/users/create/" + _q(parent, "parent"), user),
        ("/accounts/resources/create/" + _q(parent, "parent"), resource),
    ]


def assert_refused(client: Client, attempts: list[tuple[str, dict[str, str]]]) -> None:
    before = ldaptool.dump(dit.base_dn())
    for url, data in attempts:
        if "/disable/" not in url and "/enable/" not in url and "/web-access/" not in url:
            assert client.get(url).status_code == 404, url
        assert client.post(url, data).status_code == 404, url
    assert ldaptool.dump(dit.base_dn()) == before


@pytest.fixture
def a_user(personas: Personas, unique: Callable[[str], str]) -> Iterator[str]:
    """A plain user of a.test outside sales, with a mailbox."""
    dn = user_create(actor=ACTOR, container_dn=ORG_A, uid=unique("target"), password=PASSWORD, last_name="T")
    yield dn
    user_delete(actor=ACTOR, dn=dn, delete_mailbox=True)


def test_domain_admin_of_b_is_refused_on_a_test(personas: Personas, login: Login, a_user: str) -> None:
    client = login(personas.domain_admin_b)
    assert_refused(client, mutations(a_user) + mutations(personas.user.dn) + creations(ORG_A))
    assert_refused(client, creations(personas.group_dn))
    assert client.get("/accounts/users/" + _q(a_user)).status_code == 404


def test_group_admin_is_refused_outside_sales_and_for_resources_and_quotas(
    personas: Personas, login: Login, a_user: str
) -> None:
    client = login(personas.group_admin)
    assert_refused(client, mutations(a_user) + mutations(personas.domain_admin_a.dn) + creations(ORG_A))
    # Inside sales: no resources, no quotas (the manual gives group admins users only), not himself.
    resource = creations(personas.group_dn)[1:]
    quota = [m for m in mutations(personas.user.dn) if "/quota/" in m[0]]
    assert_refused(client, resource + quota + mutations(personas.group_admin.dn))
    # Nor groups (the Create Group page belongs to the containers pages; refused the same way).
    group = [("/accounts/groups/create/" + _q(personas.group_dn, "parent"), {"name": "shadow"})]
    assert_refused(client, group)


def test_plain_user_is_refused_everywhere(personas: Personas, login: Login, a_user: str) -> None:
    client = login(personas.user)
    assert_refused(
        client,
        mutations(a_user) + mutations(personas.user.dn) + creations(ORG_A) + creations(personas.group_dn),
    )


def test_domain_admin_may_not_touch_another_domain_admin_or_an_administrator(
    personas: Personas, login: Login, unique: Callable[[str], str]
) -> None:
    peer = user_create(
        actor=ACTOR, container_dn=ORG_A, uid=unique("peer"), password=PASSWORD, last_name="Peer"
    )
    boss = user_create(
        actor=ACTOR, container_dn=ORG_A, uid=unique("boss"), password=PASSWORD, last_name="Boss"
    )
    domain_admin_add(actor=ACTOR, domain="a.test", account_dn=peer)
    administrator_add(actor=ACTOR, account_dn=boss)
    try:
        client = login(personas.domain_admin_a)
        assert_refused(
            client,
            mutations(peer)
            + mutations(boss)
            + mutations(personas.domain_admin_a.dn)
            + mutations(personas.admin.dn),
        )
    finally:
        domain_admin_remove(actor=ACTOR, domain="a.test", account_dn=peer)
        administrator_remove(actor=ACTOR, account_dn=boss)
        for dn in (peer, boss):
            user_delete(actor=ACTOR, dn=dn, delete_mailbox=True)


def test_the_allowed_personas_do_get_through(
    personas: Personas, login: Login, a_user: str, unique: Callable[[str], str]
) -> None:
    """The refusals above are not an artefact of broken URLs: the same requests work for the right roles."""
    dana = login(personas.domain_admin_a)
    assert dana.post("/accounts/users/quota/" + _q(a_user), {"quota_mib": "3"}).status_code == 302
    assert ldaptool.attribute(a_user, "mailQuota") == ["3072"]
    assert dana.post("/accounts/users/disable/" + _q(a_user)).status_code == 302
    assert dana.post("/accounts/users/enable/" + _q(a_user)).status_code == 302
    gary = login(personas.group_admin)
    uid = unique("gary-made")
    data = {"uid": uid, "password": PASSWORD, "password2": PASSWORD, "last_name": "G", "create_mailbox": "on"}
    assert gary.post("/accounts/users/create/" + _q(personas.group_dn, "parent"), data).status_code == 302
    made = dit.account_dn(personas.group_dn, uid)
    assert gary.post("/accounts/users/delete/" + _q(made), {"delete_mailbox": "on"}).status_code == 302
    assert ldaptool.dump(made, scope="base") == "\n"
