"""The import pipeline end to end, through the pages and a real Celery worker, checked from outside: the
accounts exist for ldapsearch, log in over IMAP with the passwords of the file and receive mail sent over
SMTP; the refused entries exist nowhere (no entry, no mailbox, Postfix refuses their address)."""

from __future__ import annotations

import csv
import imaplib
import io
import subprocess
import time
import uuid
from collections.abc import Callable
from uuid import UUID

import pytest
from django.conf import settings
from django.test import Client

from mailadmin import imap
from mailadmin.directory import dit
from mailadmin.jobs.models import Job
from migration.models import ImportRun
from tests import ldaptool
from tests.accounts.usertool import deliver, rcpt
from tests.conftest import Persona, Personas
from tests.jobtool import wait_finished
from tests.migration.importtool import PASSWORD, ldif, person, run_of, upload, verdicts

Login = Callable[[Persona], Client]


def _ssha(secret: str) -> str:
    return subprocess.run(
        ["slappasswd", "-h", "{SSHA}", "-s", secret], capture_output=True, text=True, check=True, timeout=10
    ).stdout.strip()


def _imap_login(uid: str, password: str) -> imaplib.IMAP4:
    client = imaplib.IMAP4(settings.IMAP_HOST, int(settings.IMAP_PORT), timeout=10)
    client.login(uid, password)
    return client


def _imap_ok(uid: str, password: str) -> bool:
    try:
        _imap_login(uid, password).logout()
    except imaplib.IMAP4.error:
        return False
    return True


def _wait_run(run_id: UUID, *statuses: str, timeout: float = 120) -> ImportRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = ImportRun.objects.get(pk=run_id)
        if run.status in statuses:
            return run
        time.sleep(0.1)
    raise AssertionError(f"import {run_id} stayed {ImportRun.objects.get(pk=run_id).status}")


@pytest.mark.django_db(transaction=True)  # the jobs are queued on commit, for the real worker
def test_fifty_users_with_three_broken_ones(
    worker: None, personas: Personas, login: Login, domain: str
) -> None:
    org = dit.organization_dn(domain, domain)
    tag = domain.split(".")[0][-6:]
    clear = [f"c{tag}{i:02d}" for i in range(44)]
    hashed = [f"h{tag}{i}" for i in range(3)]
    broken = {f"b{tag}nosn", f"b{tag}url", f"b{tag}away"}
    entries = [person(uid, org, password=f"{PASSWORD}-{uid}", givenName="Imported") for uid in clear]
    entries += [person(uid, org, password=_ssha(f"{PASSWORD}-{uid}")) for uid in hashed]
    entries += [
        f"dn: uid=b{tag}nosn,{org}\nuid: b{tag}nosn\nuserPassword: {PASSWORD}",
        person(f"b{tag}url", org, raw="telephoneNumber:< http://example.org/phone"),
        person(f"b{tag}away", dit.organization_dn("b.test", "b.test")),
    ]
    client = login(personas.admin)
    run = run_of(upload(client, ldif(*entries), org))
    run = _wait_run(run.pk, ImportRun.Status.READY)
    found = verdicts(run)
    refused = {uid for uid, (verdict, _reason) in found.items() if verdict == "refused"}
    assert refused == broken, found
    page = client.get(f"/tools/import/{run.pk}/").content.decode()
    assert "sn (the last name) is missing" in page and "never fetched" in page
    assert "outside the chosen container" in page
    assert page.index(f"b{tag}nosn") < page.index(clear[0])  # refused first

    response = client.post(f"/tools/import/{run.pk}/confirm/")
    assert response.status_code == 302
    run = ImportRun.objects.get(pk=run.pk)
    job = wait_finished(str(run.create_job_id))
    assert job.state == Job.State.SUCCEEDED, (job.error, [line.text for line in job.lines.all()])
    run = _wait_run(run.pk, ImportRun.Status.DONE)
    created = clear + hashed
    assert (run.created, run.failed, run.not_done) == (len(created), 0, 0)

    dump = ldaptool.dump(org)
    for uid in created:
        assert f"dn: uid={uid},{org}" in dump
        assert _imap_ok(uid, f"{PASSWORD}-{uid}"), uid
    assert not _imap_ok(clear[0], "not-the-password")
    for uid in refused:
        assert f"uid={uid}," not in dump
        assert not imap.mailbox_exists(uid)
        assert rcpt(f"{uid}@{domain}") >= 500

    subject = f"import {uuid.uuid4().hex}"
    deliver(f"{clear[7]}@{domain}", subject)
    deadline = time.monotonic() + 30
    while True:
        mailbox = _imap_login(clear[7], f"{PASSWORD}-{clear[7]}")
        try:
            mailbox.select("INBOX", readonly=True)
            _typ, data = mailbox.search(None, "SUBJECT", f'"{subject}"')
        finally:
            mailbox.logout()
        if data[0].split():
            break
        assert time.monotonic() < deadline, "the message did not arrive"
        time.sleep(0.25)

    report = client.get(f"/tools/import/{run.pk}/report.csv")
    assert report["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(report.streaming_content).decode())))  # type: ignore[attr-defined]
    assert len(rows) == 50
    assert {r["login"] for r in rows if r["verdict"] == "created"} == set(created)
    assert {r["login"] for r in rows if r["verdict"] == "refused"} == refused


@pytest.mark.django_db(transaction=True)
def test_cancel_stops_between_entries_and_the_report_says_which(
    worker: None, personas: Personas, login: Login, domain: str
) -> None:
    org = dit.organization_dn(domain, domain)
    tag = domain.split(".")[0][-6:]
    uids = [f"k{tag}{i:02d}" for i in range(60)]
    client = login(personas.admin)
    data = ldif(*(person(uid, org) for uid in uids))
    run = run_of(upload(client, data, org, groupware_folders="on", folder_language="de"))
    run = _wait_run(run.pk, ImportRun.Status.READY)
    assert client.post(f"/tools/import/{run.pk}/confirm/").status_code == 302
    job_id = str(ImportRun.objects.get(pk=run.pk).create_job_id)
    deadline = time.monotonic() + 60
    while Job.objects.get(pk=job_id).done < 3:
        assert time.monotonic() < deadline, "the job did not start"
        time.sleep(0.05)
    page = client.get(f"/tools/import/{run.pk}/").content.decode()
    assert 'id="run-bar"' in page and "Cancel" in page and "hx-trigger" in page
    assert client.post(f"/tools/import/{run.pk}/cancel/").status_code == 302
    assert wait_finished(job_id).state == Job.State.CANCELLED
    run = _wait_run(run.pk, ImportRun.Status.CANCELLED)
    assert 3 <= run.created < len(uids) and run.failed == 0
    assert run.not_done == len(uids) - run.created
    dump = ldaptool.dump(org)
    found = verdicts(run)
    for uid in uids:
        verdict, reason = found[uid]
        if verdict == "created":
            assert f"dn: uid={uid},{org}" in dump
        else:
            assert (verdict, reason) == ("accepted", "not created: the import was cancelled")
            assert f"uid={uid}," not in dump and not imap.mailbox_exists(uid)
    page = client.get(f"/tools/import/{run.pk}/").content.decode()
    assert "hx-trigger" not in page and "Not created (yet)" in page
