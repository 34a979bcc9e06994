"""Changes through services land in the audit log; domain administrators see their domains only."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from accounts import services
from mailadmin.actor import Actor
from mailadmin.audit.models import AuditEntry
from mailadmin.directory import dit
from tests.conftest import Persona, Personas

pytestmark = pytest.mark.django_db


def test_user_create_is_audited_without_the_password(domain: str, unique: Callable[[str], str]) -> None:
    uid = unique("au")
    actor = Actor("tester", "uid=tester,ou=admins,dc=mailadmin", Actor.system().roles, ip="192.0.2.7")
    services.user_create(
        actor=actor,
        container_dn=dit.organization_dn(domain, domain),
        uid=uid,
        password="Secret-pass-9",
        last_name="Audit",
    )
    entry = AuditEntry.objects.filter(action="user_create", target__icontains=uid).get()
    assert entry.actor == "tester" and entry.source_ip == "192.0.2.7"
    assert domain in entry.domain_list
    assert "Secret-pass-9" not in str(entry.after) and "Secret-pass-9" not in str(entry.before)


def test_domain_admins_see_only_their_domains(
    personas: Personas, login: Callable[[Persona], Client], unique: Callable[[str], str]
) -> None:
    services.user_create(
        actor=Actor.system("tests"),
        container_dn=dit.organization_dn("a.test", "a.test"),
        uid=unique("ina"),
        password="Secret-pass-9",
        last_name="InA",
    )
    services.user_create(
        actor=Actor.system("tests"),
        container_dn=dit.organization_dn("b.test", "b.test"),
        uid=unique("inb"),
        password="Secret-pass-9",
        last_name="InB",
    )
    page_a = login(personas.domain_admin_a).get("/tools/audit/?action=user_create").content.decode()
    page_b = login(personas.domain_admin_b).get("/tools/audit/?action=user_create").content.decode()
    assert "o=a.test" in page_a and "o=b.test" not in page_a
    assert "o=b.test" in page_b and "o=a.test" not in page_b
    everything = login(personas.admin).get("/tools/audit/?action=user_create").content.decode()
    assert "o=a.test" in everything and "o=b.test" in everything


def test_plain_users_have_no_audit_page(personas: Personas, login: Callable[[Persona], Client]) -> None:
    assert login(personas.user).get("/tools/audit/").status_code == 404
