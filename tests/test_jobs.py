"""Jobs through a real Celery worker on the stack's Redis: "Check the mail system" end to end."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from django.test import Client

from mailadmin.actor import Actor, Roles
from mailadmin.directory import dit
from mailadmin.jobs.models import Job
from mailadmin.jobs.services import job_cancel, job_start
from tests.conftest import Persona, Personas
from tests.jobtool import wait_finished

Login = Callable[[Persona], Client]


@pytest.mark.django_db(transaction=True)
def test_check_the_mail_system_runs_as_a_real_job(worker: None, personas: Personas, login: Login) -> None:
    client = login(personas.admin)
    response = client.post("/tools/check/")
    assert response.status_code == 302
    job_id = response["Location"].rstrip("/").split("/")[-1]
    job = wait_finished(job_id)
    lines = [line.text for line in job.lines.all()]
    assert job.state == Job.State.SUCCEEDED, (job.error, lines)
    assert job.percent == 100 and job.done == job.total == 6
    assert any(line.startswith("OK OpenLDAP") for line in lines)
    assert any(line.startswith("OK Postfix LDAP tables") for line in lines)
    page = client.get(f"/tools/jobs/{job_id}/").content.decode()
    assert 'id="job-bar"' in page and 'value="100"' in page and "hx-trigger" not in page
    partial = client.get(f"/tools/jobs/{job_id}/", HTTP_HX_REQUEST="true").content.decode()
    assert partial.lstrip().startswith("<section") and "OK Cyrus IMAP" in partial


@pytest.mark.django_db
def test_cancel_a_waiting_job(stack: object, personas: Personas, login: Login) -> None:
    # No worker in this test: the job stays pending until cancelled.
    job = job_start(actor=Actor.system("tests"), kind="checkstack")
    client = login(personas.admin)
    page = client.get(f"/tools/jobs/{job.pk}/").content.decode()
    assert "hx-trigger" in page and "Cancel" in page
    assert client.post(f"/tools/jobs/{job.pk}/cancel/").status_code == 302
    assert Job.objects.get(pk=job.pk).state == Job.State.CANCELLED


@pytest.mark.django_db
def test_jobs_of_others_are_404(stack: object, personas: Personas, login: Login) -> None:
    a = dit.domain_dn("a.test")
    inside_a = job_start(actor=Actor.system("tests"), kind="checkstack", domains=["a.test"], scopes=[a])
    assert login(personas.domain_admin_b).get(f"/tools/jobs/{inside_a.pk}/").status_code == 404
    assert login(personas.domain_admin_b).post(f"/tools/jobs/{inside_a.pk}/cancel/").status_code == 404
    assert login(personas.domain_admin_a).get(f"/tools/jobs/{inside_a.pk}/").status_code == 200
    assert Job.objects.get(pk=inside_a.pk).state == Job.State.PENDING
    job_cancel(actor=Actor.system("tests"), job=inside_a)


@pytest.mark.django_db
def test_an_administrators_cross_domain_job_is_not_a_domain_administrators(
    stack: object, personas: Personas, login: Login
) -> None:
    a, b = dit.domain_dn("a.test"), dit.domain_dn("b.test")
    admin = Actor(personas.admin.uid, personas.admin.dn, Roles(administrator=True))
    both = job_start(actor=admin, kind="checkstack", domains=["a.test", "b.test"], scopes=[a, b])
    unscoped = job_start(actor=admin, kind="checkstack", domains=["a.test"])
    in_group = job_start(actor=admin, kind="checkstack", domains=["a.test"], scopes=[personas.group_dn])
    dana, gary = login(personas.domain_admin_a), login(personas.group_admin)
    for job in (both, unscoped):
        assert dana.get(f"/tools/jobs/{job.pk}/").status_code == 404
        assert dana.post(f"/tools/jobs/{job.pk}/cancel/").status_code == 404
        assert gary.get(f"/tools/jobs/{job.pk}/").status_code == 404
        assert str(job.pk) not in dana.get("/tools/jobs/").content.decode()
        assert Job.objects.get(pk=job.pk).state == Job.State.PENDING
    # A job inside the group is readable by its group administrator and by the domain's administrator.
    assert gary.get(f"/tools/jobs/{in_group.pk}/").status_code == 200
    assert str(in_group.pk) in dana.get("/tools/jobs/").content.decode()
    assert login(personas.domain_admin_b).get(f"/tools/jobs/{in_group.pk}/").status_code == 404
    assert login(personas.admin).get(f"/tools/jobs/{both.pk}/").status_code == 200
    for job in (both, unscoped, in_group):
        job_cancel(actor=admin, job=job)


def test_checkstack_command(stack: object, db: None) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "checkstack"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("ok ") >= 5
