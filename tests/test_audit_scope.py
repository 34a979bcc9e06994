"""Who reads which audit rows, and what of them (mailadmin/audit/selectors.py).

Group administrators see rows about their own groups only; domain administrators see their domains' rows
with every name from elsewhere blanked; plain users have no audit page.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from django.test import Client

from accounts import services
from accounts.services.containers import domain_create
from aliases.services import alias_create
from mailadmin.actor import Actor
from mailadmin.directory import dit
from tests.conftest import Persona, Personas

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("tests")
Login = Callable[[Persona], Client]


def _page(client: Client, **query: str) -> str:
    response = client.get("/tools/audit/", query)
    assert response.status_code == 200
    return response.content.decode()


def test_group_administrator_sees_rows_about_their_group_only(
    personas: Personas, login: Login, unique: Callable[[str], str]
) -> None:
    inside, outside = unique("ins"), unique("out")
    services.user_create(
        actor=ACTOR, container_dn=personas.group_dn, uid=inside, password="Audit-pass-1", last_name="In"
    )
    org_a = dit.organization_dn("a.test", "a.test")
    services.user_create(
        actor=ACTOR, container_dn=org_a, uid=outside, password="Audit-pass-1", last_name="Out"
    )
    page = _page(login(personas.group_admin), action="user_create")
    assert inside in page
    assert outside not in page
    # The domain administrator of a.test sees both.
    page = _page(login(personas.domain_admin_a), action="user_create")
    assert inside in page and outside in page


def test_domain_administrator_never_reads_names_of_another_domain(
    personas: Personas, login: Login, unique: Callable[[str], str]
) -> None:
    """Deleting a user of a.test takes their address out of an alias of b.test; the a.test row says so
    without naming the alias, and the b.test row does not name the a.test address."""
    uid = unique("leaver")
    org_a = dit.organization_dn("a.test", "a.test")
    dn = services.user_create(
        actor=ACTOR, container_dn=org_a, uid=uid, password="Audit-pass-1", last_name="L"
    )
    alias = f"{unique('team')}"
    alias_create(actor=ACTOR, domain="b.test", name=alias, members=[f"{uid}@a.test", "keep@remote.example"])
    services.user_delete(actor=ACTOR, dn=dn)

    admin = _page(login(personas.admin), target=uid)
    assert f"{alias}@b.test" in admin  # the administrator reads it all

    dana_a = _page(login(personas.domain_admin_a), target=uid)
    assert "user_delete" in dana_a and uid in dana_a
    assert alias not in dana_a and "(elsewhere)" in dana_a

    dana_b = _page(login(personas.domain_admin_b), action="alias_member_remove")
    assert alias in dana_b  # the change to their own alias
    assert f"{uid}@a.test" not in dana_b and uid not in dana_b and "(elsewhere)" in dana_b
    assert "keep@remote.example" in _page(login(personas.domain_admin_b), action="alias_create", target=alias)


def test_rows_of_other_domains_are_not_listed(personas: Personas, login: Login) -> None:
    other = f"t{uuid.uuid4().hex[:10]}.test"
    domain_create(actor=ACTOR, name=other)
    assert other not in _page(login(personas.domain_admin_a), action="domain_create")
    assert other not in _page(login(personas.group_admin), action="domain_create")
    assert other in _page(login(personas.admin), action="domain_create")


def test_plain_users_have_no_audit_page(personas: Personas, login: Login) -> None:
    assert login(personas.user).get("/tools/audit/").status_code == 404
