"""Create Resource (ACC-10): an account with the mailResource class, its kind, and a mailbox that receives
mail like any other; shown with its kind."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

import pytest
from django.test import Client

from mailadmin import imap
from mailadmin.directory import dit
from tests import ldaptool
from tests.accounts import usertool
from tests.conftest import Persona, Personas

pytestmark = pytest.mark.django_db
Login = Callable[[Persona], Client]


def create_url(parent: str) -> str:
    return "/accounts/resources/create/?" + urlencode({"parent": parent})


def test_admin_creates_a_room_that_receives_mail(
    personas: Personas, login: Login, domain: str, unique: Callable[[str], str]
) -> None:
    org = dit.organization_dn(domain, domain)
    uid = unique("room")
    client = login(personas.admin)
    page = client.get(create_url(org)).content.decode()
    for label in ("Create Resource", "Login/User name", "Kind of resource", "Projector", "Set quota"):
        assert label in page, label
    data = {
        "uid": uid,
        "last_name": "Room 2.14",
        "resource_kind": "room",
        "quota_mib": "50",
        "description": "2nd floor",
    }
    response = client.post(create_url(org), data)
    assert response.status_code == 302
    dn = dit.account_dn(org, uid)
    classes = ldaptool.attribute(dn, "objectClass")
    assert {"inetOrgPerson", "mailAccount", "mailResource"} <= set(classes)
    assert ldaptool.attribute(dn, "mailResourceKind") == ["room"]
    assert ldaptool.attribute(dn, "userPassword")  # a random one: the account is never without a password
    assert imap.mailbox_exists(uid) and imap.quota_get(uid) == imap.Quota(0, 50 * 1024)
    assert usertool.rcpt(f"{uid}@{domain}") == 250
    detail = client.get(response["Location"]).content.decode()
    assert "Resource: Room" in detail and "Room 2.14" in detail and "2nd floor" in detail


def test_a_resource_with_a_password_logs_in_and_its_kind_can_change(
    personas: Personas, login: Login, domain: str, unique: Callable[[str], str]
) -> None:
    org = dit.organization_dn(domain, domain)
    uid = unique("beamer")
    client = login(personas.admin)
    data = {"uid": uid, "last_name": "Beamer", "resource_kind": "projector", "password": "Beamer-pass-1"}
    assert client.post(create_url(org), data).status_code == 302
    assert imap.login_check(uid, "Beamer-pass-1")
    dn = dit.account_dn(org, uid)
    edit = "/accounts/users/edit/?" + urlencode({"dn": dn})
    assert 'name="resource_kind"' in client.get(edit).content.decode()
    response = client.post(edit, {"last_name": "Beamer", "mail": f"{uid}@{domain}", "resource_kind": "car"})
    assert response.status_code == 302 and ldaptool.attribute(dn, "mailResourceKind") == ["car"]


def test_bad_kind_and_hostile_names_write_nothing(
    personas: Personas, login: Login, domain: str, unique: Callable[[str], str]
) -> None:
    org = dit.organization_dn(domain, domain)
    client = login(personas.admin)
    before = ldaptool.dump(dit.base_dn())
    for field, value in (
        ("resource_kind", "spaceship"),
        ("resource_kind", "*)(uid=*"),
        ("uid", "x,ou=admins"),
        ("uid", "a+uid=root"),
        ("last_name", "cr\r\nlf"),
        ("description", "nul\x00"),
        ("mail", "room@elsewhere.test"),
    ):
        data = {"uid": unique("r"), "last_name": "Room", "resource_kind": "room", field: value}
        response = client.post(create_url(org), data)
        assert response.status_code == 200 and 'role="alert"' in response.content.decode(), (field, value)
    assert ldaptool.dump(dit.base_dn()) == before


def test_domain_admin_creates_resources_in_own_domain_only(
    personas: Personas, login: Login, unique: Callable[[str], str]
) -> None:
    from accounts.services.users import user_delete
    from mailadmin.actor import Actor

    client = login(personas.domain_admin_a)
    org_a = dit.organization_dn("a.test", "a.test")
    uid = unique("car")
    assert (
        client.post(create_url(org_a), {"uid": uid, "last_name": "Car", "resource_kind": "car"}).status_code
        == 302
    )
    user_delete(actor=Actor.system("tests"), dn=dit.account_dn(org_a, uid), delete_mailbox=True)
    before = ldaptool.dump(dit.base_dn())
    org_b = dit.organization_dn("b.test", "b.test")
    assert (
        client.post(
            create_url(org_b), {"uid": unique("car"), "last_name": "Car", "resource_kind": "car"}
        ).status_code
        == 404
    )
    assert ldaptool.dump(dit.base_dn()) == before
