"""Each persona sees what its role allows; a foreign object is a 404 and nothing changes in the directory."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

import pytest
from django.test import Client

from accounts import services
from mailadmin.actor import Actor
from mailadmin.directory import dit
from tests import ldaptool
from tests.conftest import Persona, Personas

pytestmark = pytest.mark.django_db

Login = Callable[[Persona], Client]


def detail(dn: str) -> str:
    return "/accounts/object/?" + urlencode({"dn": dn})


def reset(dn: str) -> str:
    return "/accounts/password-reset/?" + urlencode({"dn": dn})


def test_menu_follows_the_role(personas: Personas, login: Login) -> None:
    admin = login(personas.admin).get("/").content.decode()
    assert "Configuration" in admin and "Mail Folders" in admin and "Services" in admin
    dana = login(personas.domain_admin_a).get("/").content.decode()
    assert "Accounts" in dana and "Configuration" not in dana and "Services" not in dana
    user = login(personas.user).get("/").content.decode()
    assert "Change my password" in user and "Accounts" in user
    assert "Account browser" not in user and "Mail Delivery" not in user


def test_admin_pages_are_404_for_delegated_roles(personas: Personas, login: Login) -> None:
    for persona in (personas.domain_admin_a, personas.group_admin, personas.user):
        client = login(persona)
        for url in ("/system/preflight/", "/tools/check/", "/configuration/postfix/"):
            assert client.get(url).status_code == 404, (persona.uid, url)


def test_domain_admin_of_b_gets_404_for_a_user_of_a_and_nothing_changes(
    personas: Personas, login: Login
) -> None:
    client = login(personas.domain_admin_b)
    target = personas.user.dn
    before = ldaptool.dump(target, scope="base")
    assert client.get(detail(target)).status_code == 404
    assert client.get(reset(target)).status_code == 404
    assert client.post(reset(target), {"password": "Hijacked-pass-1"}).status_code == 404
    assert ldaptool.dump(target, scope="base") == before
    assert ldaptool.bind_ok(target, personas.user.password)


def test_a_guessed_dn_that_does_not_exist_is_the_same_404(personas: Personas, login: Login) -> None:
    client = login(personas.domain_admin_b)
    missing = dit.account_dn(dit.organization_dn("a.test", "a.test"), "nobody-here")
    assert client.get(detail(missing)).status_code == 404
    assert client.get(detail("not a dn,,,")).status_code == 404


def test_domain_admin_resets_a_user_of_own_domain(
    personas: Personas, login: Login, unique: Callable[[str], str]
) -> None:
    org = dit.organization_dn("a.test", "a.test")
    uid = unique("r")
    services.user_create(
        actor=Actor.system("tests"), container_dn=org, uid=uid, password="Before-pass-1", last_name="Reset"
    )
    dn = dit.account_dn(org, uid)
    client = login(personas.domain_admin_a)
    assert client.get(detail(dn)).status_code == 200
    response = client.post(reset(dn), {"password": "After-pass-12"})
    assert response.status_code == 302
    assert ldaptool.bind_ok(dn, "After-pass-12") and not ldaptool.bind_ok(dn, "Before-pass-1")
    assert ldaptool.attribute(dn, "pwdReset") == ["TRUE"]


def test_nobody_resets_an_equal_or_higher_rank(personas: Personas, login: Login) -> None:
    # dana-a may not reset the administrator (outside her domain) nor gary's peer rank... nor herself here.
    client = login(personas.domain_admin_a)
    for target in (personas.admin.dn, personas.domain_admin_a.dn, personas.domain_admin_b.dn):
        before = ldaptool.dump(target, scope="base")
        assert client.post(reset(target), {"password": "Hijacked-pass-1"}).status_code == 404
        assert ldaptool.dump(target, scope="base") == before


def test_group_admin_sees_own_group_only(personas: Personas, login: Login) -> None:
    client = login(personas.group_admin)
    assert client.get(detail(personas.user.dn)).status_code == 200
    assert client.get(detail(personas.domain_admin_a.dn)).status_code == 404
    assert client.post(reset(personas.domain_admin_a.dn), {"password": "Hijacked-pass-1"}).status_code == 404


def test_plain_user_sees_only_self(personas: Personas, login: Login) -> None:
    client = login(personas.user)
    assert client.get(detail(personas.user.dn)).status_code == 200
    assert client.get(detail(personas.group_admin.dn)).status_code == 404
    before = ldaptool.dump(personas.user.dn, scope="base")
    assert client.post(reset(personas.user.dn), {"password": "Hijacked-pass-1"}).status_code == 404
    assert ldaptool.dump(personas.user.dn, scope="base") == before


def test_stored_values_are_shown_escaped(
    personas: Personas, login: Login, domain: str, unique: Callable[[str], str]
) -> None:
    org = dit.organization_dn(domain, domain)
    uid = unique("xss")
    services.user_create(
        actor=Actor.system("tests"),
        container_dn=org,
        uid=uid,
        password="Xss-pass-123",
        last_name='"><img src=x onerror=alert(1)>',
    )
    page = login(personas.admin).get(detail(dit.account_dn(org, uid))).content.decode()
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
