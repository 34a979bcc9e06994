"""Who may import where: every import view tried by the personas that must be refused (404, nothing stored,
nothing changed), and a delegated administrator's file that names someone else's container."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from mailadmin.directory import dit
from migration.models import ImportRun
from tests import ldaptool
from tests.conftest import Persona, Personas
from tests.migration.importtool import checked, confirm, ldif, person, upload, verdicts

pytestmark = pytest.mark.django_db
Login = Callable[[Persona], Client]


def _stored() -> set[Path]:
    root = Path(settings.IMPORT_DIR)
    return set(root.iterdir()) if root.is_dir() else set()


def _views(run: ImportRun) -> list[tuple[str, str]]:
    base = f"/tools/import/{run.pk}/"
    return [
        ("get", base),
        ("get", f"{base}report.csv"),
        ("post", f"{base}confirm/"),
        ("post", f"{base}discard/"),
        ("post", f"{base}cancel/"),
    ]


def test_a_plain_user_has_no_import_pages(personas: Personas, login: Login) -> None:
    client = login(personas.user)
    before = _stored()
    assert client.get("/tools/import/").status_code == 404
    assert client.get("/tools/import/new/ldif/").status_code == 404
    org = dit.organization_dn("a.test", "a.test")
    assert upload(client, ldif(person("sneaky", org)), org).status_code == 404
    assert _stored() == before
    assert "/tools/import/" not in client.get("/").content.decode()
    assert "/tools/import/" in login(personas.domain_admin_a).get("/").content.decode()


def test_a_foreign_run_is_404_for_every_view_and_stays_as_it_was(
    personas: Personas, login: Login, unique: Callable[[str], str]
) -> None:
    org_a = dit.organization_dn("a.test", "a.test")
    dana_a = login(personas.domain_admin_a)
    run = checked(dana_a, ldif(person(unique("fa"), org_a)), org_a)
    assert run.status == ImportRun.Status.READY
    for persona in (personas.domain_admin_b, personas.group_admin, personas.user):
        client = login(persona)
        for method, url in _views(run):
            assert getattr(client, method)(url).status_code == 404, (persona.key, url)
        assert str(run.pk) not in client.get("/tools/import/").content.decode()
    again = ImportRun.objects.get(pk=run.pk)
    assert (again.status, again.create_job_id) == (ImportRun.Status.READY, None)
    # The administrator sees it; the owner discards it.
    assert login(personas.admin).get(f"/tools/import/{run.pk}/").status_code == 200
    assert dana_a.post(f"/tools/import/{run.pk}/discard/").status_code == 302


def test_a_group_administrator_sees_the_runs_of_their_group_only(
    personas: Personas, login: Login, unique: Callable[[str], str]
) -> None:
    dana_a, gary = login(personas.domain_admin_a), login(personas.group_admin)
    in_group = checked(dana_a, ldif(person(unique("g"), personas.group_dn)), personas.group_dn)
    assert gary.get(f"/tools/import/{in_group.pk}/").status_code == 200
    assert str(in_group.pk) in gary.get("/tools/import/").content.decode()
    form = gary.get("/tools/import/new/ldif/").content.decode()
    assert f'value="{personas.group_dn}"' in form
    assert 'value="o=a.test,' not in form and 'value="o=b.test,' not in form
    dana_a.post(f"/tools/import/{in_group.pk}/discard/")


@pytest.mark.parametrize("who", ["domain_admin_b", "group_admin"])
def test_uploading_into_someone_elses_container_is_refused(
    personas: Personas, login: Login, unique: Callable[[str], str], who: str
) -> None:
    org_a = dit.organization_dn("a.test", "a.test")
    client = login(getattr(personas, who))
    before, runs = _stored(), ImportRun.objects.count()
    response = upload(client, ldif(person(unique("x"), org_a)), org_a)
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert _stored() == before and ImportRun.objects.count() == runs


def test_entries_naming_another_domain_are_refused_for_a_domain_administrator(
    personas: Personas, login: Login, unique: Callable[[str], str]
) -> None:
    org_a = dit.organization_dn("a.test", "a.test")
    org_b = dit.organization_dn("b.test", "b.test")
    mine, theirs, theirs_too = unique("mine"), unique("theirs"), unique("theirs")
    dana_a = login(personas.domain_admin_a)
    data = ldif(
        person(mine, org_a, mail=f"{mine}@a.test"),
        person(theirs, org_b, mail=f"{theirs}@b.test"),
        # a DN of b.test that spells its way into a.test's subtree is still b.test's
        person(theirs_too, "o=a.test\\,dc=a.test,dc=b.test,ou=domains,dc=mailadmin"),
    )
    before_b = ldaptool.dump(dit.domain_dn("b.test"))
    run = checked(dana_a, data, org_a)
    found = verdicts(run)
    assert found[mine][0] == "accepted"
    assert found[theirs][0] == "refused" and "outside the chosen container" in found[theirs][1]
    assert found[theirs_too][0] == "refused"
    run = confirm(dana_a, run)
    assert (run.status, run.created) == (ImportRun.Status.DONE, 1)
    assert ldaptool.dump(dit.domain_dn("b.test")) == before_b
    assert f"uid={mine}," in ldaptool.dump(org_a)


def test_the_job_checks_the_rights_again_when_a_role_is_gone(
    personas: Personas, login: Login, unique: Callable[[str], str]
) -> None:
    """A run confirmed in the name of someone who may no longer create there creates nothing."""
    from accounts import services
    from mailadmin.actor import Actor
    from tests.migration.importtool import settle

    org_a = dit.organization_dn("a.test", "a.test")
    dana_a = login(personas.domain_admin_a)
    uid = unique("late")
    run = checked(dana_a, ldif(person(uid, org_a)), org_a)
    assert dana_a.post(f"/tools/import/{run.pk}/confirm/").status_code == 302
    system = Actor.system("tests")
    services.domain_admin_remove(actor=system, domain="a.test", account_dn=personas.domain_admin_a.dn)
    try:
        run = settle(ImportRun.objects.get(pk=run.pk))
    finally:
        services.domain_admin_add(actor=system, domain="a.test", account_dn=personas.domain_admin_a.dn)
    assert (run.status, run.created, run.failed) == (ImportRun.Status.FAILED, 0, 0)
    assert "may no longer create users" in run.error
    assert verdicts(run)[uid] == ("accepted", "not created: the import stopped")
    assert f"uid={uid}," not in ldaptool.dump(org_a)
