"""The Cyrus recovery pages: the warning comes first; only administrators see the pages or start anything;
hostile or incomplete input is refused with a clear message and starts no job (and Cyrus keeps running)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from django.test import Client
from pytest_django.fixtures import Settings

from backup.recovery.selectors import KIND, cyrus_service
from mailadmin.actor import Actor
from mailadmin.jobs.models import Job
from mailadmin.jobs.services import job_cancel, job_start
from tests.conftest import Persona, Personas

Login = Callable[[Persona], Client]
URL = "/tools/backup/recovery/"

pytestmark = pytest.mark.django_db


def _jobs() -> int:
    return Job.objects.filter(kind=KIND).count()


def test_the_warning_comes_before_the_form(stack: object, personas: Personas, login: Login) -> None:
    response = login(personas.admin).get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    warning = page.index('id="recovery-warning"')
    assert warning < page.index('<form method="post" novalidate')
    for words in (
        "IMAP, POP and LMTP are unavailable",
        "arrives meanwhile waits in Postfix",
        "Make a backup",
    ):
        assert words in page, words
    assert 'name="confirm"' in page and 'value="users"' in page and 'value="all"' in page


def test_everyone_but_administrators_gets_404_and_starts_nothing(
    stack: object, personas: Personas, login: Login
) -> None:
    waiting = job_start(actor=Actor.system("tests"), kind=KIND, params={"all": True, "users": []})
    before, master = _jobs(), cyrus_service().pid()
    form = {"scope": "all", "users": "", "confirm": "on"}
    for persona in (personas.domain_admin_a, personas.domain_admin_b, personas.group_admin, personas.user):
        client = login(persona)
        assert client.get(URL).status_code == 404, persona.key
        assert client.post(URL, form).status_code == 404, persona.key
        assert client.get(f"{URL}{waiting.pk}/").status_code == 404, persona.key
        assert client.get(f"{URL}{waiting.pk}/", HTTP_HX_REQUEST="true").status_code == 404, persona.key
    anonymous = Client().post(URL, form)
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    assert _jobs() == before and cyrus_service().pid() == master
    job_cancel(actor=Actor.system("tests"), job=waiting)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"scope": "users", "users": "-rf", "confirm": "on"}, "&#x27;-rf&#x27; is not a login name"),
        ({"scope": "users", "users": "../x", "confirm": "on"}, "&#x27;../x&#x27; is not a login name"),
        ({"scope": "users", "users": "ursula\n-r", "confirm": "on"}, "&#x27;-r&#x27; is not a login name"),
        ({"scope": "users", "users": "user.x*", "confirm": "on"}, "is not a login name"),
        ({"scope": "users", "users": "", "confirm": "on"}, "Name at least one user"),
        ({"scope": "users", "users": "ursula"}, "Confirm that you have read the warning."),
        ({"scope": "all"}, "Confirm that you have read the warning."),
        ({"scope": "evil", "confirm": "on"}, "Select a valid choice"),
    ],
)
def test_hostile_or_incomplete_input_is_refused(
    stack: object, personas: Personas, login: Login, data: dict[str, str], message: str
) -> None:
    before, master = _jobs(), cyrus_service().pid()
    response = login(personas.admin).post(URL, data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert _jobs() == before and cyrus_service().pid() == master


def test_an_unknown_user_is_refused(stack: object, personas: Personas, login: Login) -> None:
    ghost = f"ghost{uuid.uuid4().hex[:8]}"
    before = _jobs()
    response = login(personas.admin).post(
        URL, {"scope": "users", "users": f"ursula, {ghost}", "confirm": "on"}
    )
    assert response.status_code == 400
    assert f"No user has the login name {ghost}." in response.content.decode()
    assert _jobs() == before


def test_a_second_recovery_waits_for_the_first(stack: object, personas: Personas, login: Login) -> None:
    waiting = job_start(actor=Actor.system("tests"), kind=KIND, params={"all": True, "users": []})
    client = login(personas.admin)
    assert "already waiting or running" in client.get(URL).content.decode()
    response = client.post(URL, {"scope": "users", "users": personas.user.uid, "confirm": "on"})
    assert response.status_code == 400 and "already waiting or running" in response.content.decode()
    assert _jobs() == 1
    job_cancel(actor=Actor.system("tests"), job=waiting)


def test_without_a_stack_the_page_says_so(
    stack: object, personas: Personas, login: Login, settings: Settings
) -> None:
    settings.STACK_DIR = ""
    client = login(personas.admin)
    page = client.get(URL).content.decode()
    assert "none is configured (STACK_DIR)" in page and 'name="confirm"' not in page
    response = client.post(URL, {"scope": "all", "confirm": "on"})
    assert response.status_code == 503 and _jobs() == 0


def test_the_result_page_of_a_waiting_recovery_polls(stack: object, personas: Personas, login: Login) -> None:
    waiting = job_start(actor=Actor.system("tests"), kind=KIND, params={"all": True, "users": []})
    client = login(personas.admin)
    page = client.get(f"{URL}{waiting.pk}/").content.decode()
    assert "hx-trigger" in page and "Cancel" in page
    partial = client.get(f"{URL}{waiting.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert partial.lstrip().startswith("<section")
    assert client.get(f"{URL}{uuid.uuid4()}/").status_code == 404
    other = job_start(actor=Actor.system("tests"), kind="checkstack")
    assert client.get(f"{URL}{other.pk}/").status_code == 404  # not a recovery
    for job in (waiting, other):
        job_cancel(actor=Actor.system("tests"), job=job)


def test_the_page_speaks_german(stack: object, personas: Personas, login: Login) -> None:
    client = login(personas.admin)
    client.post("/i18n/setlang/", {"language": "de", "next": URL})
    page = client.get(URL).content.decode()
    assert "Zuerst lesen" in page and "Cyrus anhalten und wiederherstellen" in page
    response = client.post(URL, {"scope": "users", "users": "-rf", "confirm": "on"})
    assert "ist kein Login-Name" in response.content.decode()
