"""The import pages: who may import into whom (every persona that must be refused gets 404 and starts
nothing), one import per mailbox at a time, the upload cap, files that are not archives, the self-service
status page, and Cancel between messages."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from pytest_django.fixtures import Settings

from mailadmin.jobs.models import Job
from migration.archives.selectors import KIND
from tests.conftest import Persona, Personas
from tests.jobtool import wait_finished
from tests.migration.archivetool import admin_url, imported, mailbox, make_user, mbox, upload

Login = Callable[[Persona], Client]


def _dirs() -> set[str]:
    root = Path(settings.MAIL_IMPORT_DIR)
    return {p.name for p in root.iterdir()} if root.exists() else set()


def _jobs() -> int:
    return Job.objects.filter(kind=KIND).count()


@pytest.mark.django_db
def test_personas_outside_the_scope_get_404_and_start_nothing(
    personas: Personas, login: Login, unique: Callable[[str], str]
) -> None:
    in_a = make_user(personas.domain_a, unique("imp"), folders=False)  # in a.test, not in the sales group
    in_sales = make_user(personas.domain_a, unique("imp"), container=personas.group_dn, folders=False)
    before_jobs, before_dirs = _jobs(), _dirs()
    refused = [
        (personas.domain_admin_b, in_a),
        (personas.group_admin, in_a),
        (personas.domain_admin_b, in_sales),
        (personas.user, in_a),
        (personas.user, in_sales),
    ]
    for persona, target in refused:
        client = login(persona)
        assert client.get(admin_url(target.dn)).status_code == 404, persona.key
        assert upload(client, admin_url(target.dn), "a.mbox", mbox(2)).status_code == 404, persona.key
    assert login(personas.user).get("/tools/archives/", {"uid": in_a.uid}).status_code == 404
    # a login name outside the scope is not found (the same answer as a name that does not exist)
    for persona in (personas.domain_admin_b, personas.group_admin):
        page = login(persona).get("/tools/archives/", {"uid": in_a.uid}).content.decode()
        assert "There is no user with this login name whose mailbox you may fill." in page
    assert Job.objects.filter(kind=KIND, params__uid__in=[in_a.uid, in_sales.uid]).count() == 0
    assert _jobs() == before_jobs and _dirs() == before_dirs
    # those who may: the domain's administrator, the group's administrator, an administrator
    assert login(personas.domain_admin_a).get(admin_url(in_a.dn)).status_code == 200
    assert login(personas.group_admin).get(admin_url(in_sales.dn)).status_code == 200
    found = login(personas.domain_admin_a).get("/tools/archives/", {"uid": in_a.uid})
    assert found.status_code == 302 and found["Location"] == admin_url(in_a.dn)
    detail = login(personas.admin).get("/accounts/users/", {"dn": in_a.dn}).content.decode()
    assert admin_url(in_a.dn).replace("&", "&amp;") in detail or "/tools/archives/?dn=" in detail


@pytest.mark.django_db
def test_one_import_per_mailbox_and_the_upload_cap(
    personas: Personas, login: Login, domain: str, unique: Callable[[str], str], settings: Settings
) -> None:
    user = make_user(domain, unique("busy"), folders=False)
    client = login(user)
    before = _dirs()
    running = Job.objects.create(
        kind=KIND, title="Import mail archive", state=Job.State.RUNNING, params={"uid": user.uid}
    )
    busy = upload(client, "/tools/archives/mine/", "a.mbox", mbox(3))
    assert busy.status_code == 409 and "already waiting or running" in busy.content.decode()
    assert Job.objects.filter(kind=KIND, params__uid=user.uid).count() == 1 and _dirs() == before
    running.delete()

    settings.MAIL_IMPORT_USER_MAX_UPLOAD = 1000
    big = upload(client, "/tools/archives/mine/", "big.mbox", mbox(50))
    assert big.status_code == 400 and "larger than" in big.content.decode()
    junk = upload(client, "/tools/archives/mine/", "x.mbox", b"\x7fELF not mail")
    assert junk.status_code == 400 and "not a file the import reads" in junk.content.decode()
    assert Job.objects.filter(kind=KIND, params__uid=user.uid).count() == 0 and _dirs() == before
    assert mailbox(user.uid) == {"INBOX": []}


@pytest.mark.django_db
def test_self_service_without_a_mailbox_and_other_peoples_imports(personas: Personas, login: Login) -> None:
    dana = login(personas.domain_admin_a)  # an account without a mailbox
    assert "has no mailbox" in dana.get("/tools/archives/mine/").content.decode()
    assert upload(dana, "/tools/archives/mine/", "a.mbox", mbox(1)).status_code == 404
    others = Job.objects.create(
        kind=KIND,
        title="Import mail archive",
        params={"uid": "someone", "own": True},
        created_by_dn=personas.admin.dn,
    )
    for persona in (personas.user, personas.domain_admin_a):
        client = login(persona)
        assert client.get(f"/tools/archives/mine/{others.pk}/").status_code == 404
        assert client.post(f"/tools/archives/mine/{others.pk}/cancel/").status_code == 404
    assert Job.objects.get(pk=others.pk).state == Job.State.PENDING
    others.delete()


@pytest.mark.django_db(transaction=True)
def test_cancel_stops_between_messages_and_cleans_up(
    worker: None, login: Login, domain: str, unique: Callable[[str], str]
) -> None:
    user = make_user(domain, unique("cancel"), folders=False)
    client = login(user)
    response = upload(client, "/tools/archives/mine/", "long.mbox", mbox(800))
    assert response.status_code == 302
    job_id = response["Location"].rstrip("/").split("/")[-1]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = Job.objects.get(pk=job_id)
        if job.state == Job.State.RUNNING and job.done > 0:
            break
        time.sleep(0.05)
    assert client.post(f"/tools/archives/mine/{job_id}/cancel/").status_code == 302
    job = wait_finished(job_id)
    assert job.state == Job.State.CANCELLED
    count = len(mailbox(user.uid)["INBOX"])
    assert 0 < count < 800
    assert job_id not in str(_dirs())
    # running it again completes the mailbox without adding what is there already
    again = imported(upload(client, "/tools/archives/mine/", "long.mbox", mbox(800)))
    assert again.result is not None and (again.result["added"], again.result["duplicates"]) == (
        800 - count,
        count,
    )


@pytest.mark.django_db
def test_the_upload_views_check_the_csrf_token_themselves(domain: str, unique: Callable[[str], str]) -> None:
    user = make_user(domain, unique("csrf"), folders=False)
    client = Client(enforce_csrf_checks=True)
    client.get("/login/")
    token = client.cookies["csrftoken"].value
    login = client.post(
        "/login/", {"username": user.uid, "password": user.password, "csrfmiddlewaretoken": token}
    )
    assert login.status_code == 302
    before = _dirs()
    archive = SimpleUploadedFile("a.mbox", mbox(2))
    assert client.post("/tools/archives/mine/", {"archive": archive}).status_code == 403
    assert Job.objects.filter(kind=KIND, params__uid=user.uid).count() == 0 and _dirs() == before
