"""Cyrus recovery against the real Cyrus of the test stack: the gateway's commands (reconstruct, quota -f,
ctl_mboxlist, mbpath) and the issue's proof — a mailbox whose index files are broken cannot be read over
IMAP, the recovery job run by the real Celery worker rebuilds it, and the user reads every message again.

Every test works on a fresh user's mailbox, and every test that stops Cyrus waits until IMAP and LMTP
answer again (the job does; the tests check), so the other tests find Cyrus as it was."""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from imapclient.exceptions import IMAPClientError

from accounts import services
from backup.locks import exclusive
from backup.recovery.selectors import KIND, cyrus_service
from mailadmin import cyrus
from mailadmin.actor import Actor
from mailadmin.audit.models import AuditEntry
from mailadmin.directory import dit
from mailadmin.jobs.models import Job
from mailadmin.jobs.services import job_run, job_start
from mailadmin.stack.cyrus import Cyrus
from tests.accounts.usertool import user_imap
from tests.conftest import Persona, Personas
from tests.jobtool import wait_finished

Login = Callable[[Persona], Client]
PASSWORD = "Recovery-pass-1"
URL = "/tools/backup/recovery/"
INBOX = ["first", "second", "third"]
PROJECTS = ["plan", "budget"]


def _conf() -> str:
    return str(settings.CYRUS_CONF)


def _bin() -> str:
    return str(settings.CYRUS_BIN_DIR)


def _message(subject: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = "sender@example.org"
    msg["To"] = "someone@example.org"
    msg["Subject"] = subject
    msg.set_content(f"This is {subject}.\n")
    return msg.as_bytes()


def _user_with_mail(domain: str, unique: Callable[[str], str]) -> str:
    """A fresh user whose mailbox holds INBOX (3 messages) and Projects (2), put there over IMAP."""
    uid = unique("rec")
    services.user_create(
        actor=Actor.system("tests"),
        container_dn=dit.organization_dn(domain, domain),
        uid=uid,
        password=PASSWORD,
        last_name="Recovery",
        create_mailbox=True,
    )
    with user_imap(uid, PASSWORD) as client:
        client.create_folder("INBOX/Projects")
        for subject in INBOX:
            client.append("INBOX", _message(subject))
        for subject in PROJECTS:
            client.append("INBOX/Projects", _message(subject))
    return uid


def _subjects(uid: str, folder: str) -> list[str]:
    with user_imap(uid, PASSWORD) as client:
        client.select_folder(folder, readonly=True)
        found = client.fetch(client.search("ALL"), ["BODY.PEEK[HEADER.FIELDS (SUBJECT)]"])
    return sorted(
        data[b"BODY[HEADER.FIELDS (SUBJECT)]"].decode().split(":", 1)[1].strip() for data in found.values()
    )


def _readable(uid: str, folder: str) -> bool:
    """Can the owner SELECT the folder and FETCH its messages?"""
    try:
        return len(_subjects(uid, folder)) > 0
    except IMAPClientError:
        return False


def _corrupt(uid: str) -> None:
    """Break both folders' index files the way a crash or a bad restore does: one truncated, one garbled."""
    inbox = cyrus.mailbox_path(_conf(), f"user/{uid}", bin_dir=_bin())
    projects = cyrus.mailbox_path(_conf(), f"user/{uid}/Projects", bin_dir=_bin())
    (inbox / "cyrus.index").write_bytes(b"")
    index = projects / "cyrus.index"
    index.write_bytes(b"\xde\xad\xbe\xef" * (index.stat().st_size // 4 + 1))


def _healthy() -> None:
    svc = cyrus_service()
    assert svc.running() and svc.ready(), "Cyrus must be running and answering after the test"


def test_reconstruct_takes_the_slash_form_and_refuses_the_rest(
    stack: object, db: None, domain: str, unique: Callable[[str], str]
) -> None:
    uid = _user_with_mail(domain, unique)
    lines = cyrus.reconstruct(_conf(), [f"user/{uid}"], bin_dir=_bin())
    assert lines == [f"user/{uid}", f"user/{uid}/Projects"]
    outcomes = cyrus.reconstruct_outcomes(f"user/{uid}", lines)
    assert [(o.folder, o.outcome) for o in outcomes] == [
        (f"user/{uid}", "ok"),
        (f"user/{uid}/Projects", "ok"),
    ]
    assert cyrus.reconstruct(_conf(), [f"user/{uid}"], recursive=False, bin_dir=_bin()) == [f"user/{uid}"]
    # a mailbox that does not exist: reconstruct says nothing at all, which the outcome calls missing
    nobody = f"user/{unique('nobody')}"
    assert cyrus.reconstruct_outcomes(nobody, cyrus.reconstruct(_conf(), [nobody], bin_dir=_bin())) == [
        cyrus.FolderOutcome(nobody, "missing")
    ]
    # refused before anything runs: a bin_dir that does not exist would otherwise raise CyrusError
    for bad in [
        "-rf",
        f"user.{uid}",
        "user",
        "user/*",
        f"user/{uid}/%",
        "user/../etc",
        "user/-x",
        "",
        "a\nb",
    ]:
        with pytest.raises(cyrus.CyrusNameRefused):
            cyrus.reconstruct(_conf(), [bad], bin_dir="/nonexistent")
    with pytest.raises(cyrus.CyrusNameRefused):
        cyrus.reconstruct(_conf(), [], bin_dir="/nonexistent")
    with pytest.raises(cyrus.CyrusError, match="reconstruct"):
        cyrus.reconstruct(_conf(), [f"user/{uid}"], bin_dir="/nonexistent")
    names = cyrus.mailbox_names(_conf(), bin_dir=_bin())
    assert f"user/{uid}" in names and f"user/{uid}/Projects" in names
    assert cyrus.mailbox_root(f"user/{uid}/Projects") == f"user/{uid}"


def test_gateway_reports_repaired_and_failed_folders(
    stack: object, db: None, domain: str, unique: Callable[[str], str]
) -> None:
    uid = _user_with_mail(domain, unique)
    _corrupt(uid)
    assert not _readable(uid, "INBOX")
    # Projects unreadable for Cyrus itself (reconstruct runs as the cyrus user): a real failure to report
    projects = cyrus.mailbox_path(_conf(), f"user/{uid}/Projects", bin_dir=_bin()) / "cyrus.index"
    projects.chmod(0o000)
    try:
        lines = cyrus.reconstruct(_conf(), [f"user/{uid}"], bin_dir=_bin())
    finally:
        projects.chmod(0o600)
    by_folder = {o.folder: o for o in cyrus.reconstruct_outcomes(f"user/{uid}", lines)}
    assert by_folder[f"user/{uid}"].outcome == "repaired", lines
    assert any("uid 1 found" in line for line in by_folder[f"user/{uid}"].lines)
    failed = by_folder[f"user/{uid}/Projects"]
    assert failed.outcome == "failed", lines
    assert any("Permission denied" in line or "error" in line.lower() for line in failed.lines), lines
    assert _subjects(uid, "INBOX") == sorted(INBOX)
    # quota -f reads every folder of the root: it refuses while one is still broken, and says which
    with pytest.raises(cyrus.CyrusError, match=f"user.{uid}.Projects"):
        cyrus.quota_fix(_conf(), [f"user/{uid}"], bin_dir=_bin())
    cyrus.reconstruct(_conf(), [f"user/{uid}"], bin_dir=_bin())  # now it can: the file is readable again
    assert _subjects(uid, "INBOX/Projects") == sorted(PROJECTS)
    report = cyrus.quota_fix(_conf(), [f"user/{uid}"], bin_dir=_bin())
    assert not any(line.split()[:1] == ["Quota"] for line in report)


def _start(client: Client, data: dict[str, str]) -> Job:
    response = client.post(URL, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    job_id = response["Location"].rstrip("/").split("/")[-1]
    assert response["Location"] == f"{URL}{job_id}/"
    return wait_finished(job_id)


@pytest.mark.django_db(transaction=True)
def test_recovery_job_makes_a_corrupted_mailbox_readable_again(
    worker: None, personas: Personas, login: Login, domain: str, unique: Callable[[str], str]
) -> None:
    uid = _user_with_mail(domain, unique)
    _corrupt(uid)
    assert not _readable(uid, "INBOX")
    assert not _readable(uid, "INBOX/Projects")
    master = cyrus_service().pid()

    admin = login(personas.admin)
    job = _start(admin, {"scope": "users", "users": uid, "confirm": "on"})

    lines = [line.text for line in job.lines.all()]
    assert job.state == Job.State.SUCCEEDED, (job.error, lines)
    assert job.done == job.total == 1
    assert cyrus_service().pid() != master  # Cyrus was stopped and started again
    assert any("ctl_cyrusdb -r" in line for line in lines)
    summary = f"user/{uid}: 0 folder(s) fine, 2 repaired, 0 failed"
    assert any(line.startswith(summary) for line in lines), lines
    result = job.result
    assert isinstance(result, dict)
    folders = {f["folder"]: f for f in result["mailboxes"][0]["folders"]}
    assert folders[f"user/{uid}"]["outcome"] == "repaired"
    assert folders[f"user/{uid}/Projects"]["outcome"] == "repaired"
    assert result["totals"] == {"ok": 0, "repaired": 2, "failed": 0, "missing": 0}
    # over IMAP, as the user's mail client sees it: every message is back
    assert _subjects(uid, "INBOX") == sorted(INBOX)
    assert _subjects(uid, "INBOX/Projects") == sorted(PROJECTS)
    page = admin.get(f"{URL}{job.pk}/").content.decode()
    assert f"user/{uid}/Projects" in page and "repaired" in page and "hx-trigger" not in page
    audit = AuditEntry.objects.filter(action="cyrus_recovery").order_by("-pk").first()
    assert audit is not None and audit.ok and uid in audit.target
    _healthy()


@pytest.mark.django_db(transaction=True)
def test_recovery_of_all_mailboxes_covers_every_mailbox(
    worker: None, personas: Personas, login: Login, domain: str, unique: Callable[[str], str]
) -> None:
    uid = _user_with_mail(domain, unique)
    _corrupt(uid)
    roots = {cyrus.mailbox_root(n) for n in cyrus.mailbox_names(_conf(), bin_dir=_bin())}
    job = _start(login(personas.admin), {"scope": "all", "users": "", "confirm": "on"})
    assert job.state == Job.State.SUCCEEDED, (job.error, [line.text for line in job.lines.all()])
    result = job.result
    assert isinstance(result, dict)
    done = {m["mailbox"]: m for m in result["mailboxes"]}
    assert roots <= set(done) and job.total == len(done) == job.done
    assert {f["outcome"] for f in done[f"user/{uid}"]["folders"]} == {"repaired"}
    assert result["all"] is True
    assert _subjects(uid, "INBOX") == sorted(INBOX)
    _healthy()


@pytest.mark.django_db(transaction=True)
def test_a_held_restore_lock_fails_the_recovery_and_leaves_cyrus_alone(
    worker: None, personas: Personas, login: Login
) -> None:
    master = cyrus_service().pid()
    with exclusive("the restore of mail_20260101_120000.tar.zst"):
        job = _start(login(personas.admin), {"scope": "users", "users": personas.user.uid, "confirm": "on"})
    assert job.state == Job.State.FAILED
    assert "mail_20260101_120000.tar.zst" in job.error and "nothing was changed" in job.error
    assert cyrus_service().pid() == master
    assert not job.lines.filter(text__contains="Stopping Cyrus").exists()
    audit = AuditEntry.objects.filter(action="cyrus_recovery").order_by("-pk").first()
    assert audit is not None and not audit.ok
    _healthy()


@pytest.mark.django_db
def test_fault_injected_cyrus_that_does_not_start_again_is_reported_loudly(
    stack: object, personas: Personas, monkeypatch: pytest.MonkeyPatch
) -> None:
    """cyrmaster cannot be made to refuse a start on demand without breaking the shared stack for good, so
    its launch is replaced by one that fails the way a real failed start does (svc.fail: the message and
    the tail of Cyrus's logs). Run in this process (job_run, as the worker calls it); Cyrus is started for
    real again at the end."""
    svc = cyrus_service()

    def refuse(self: Cyrus) -> None:
        raise self.fail("injected fault: cyrmaster exited at once")

    admin = Actor.system("tests")
    job = job_start(actor=admin, kind=KIND, params={"all": False, "users": [personas.user.uid]})
    monkeypatch.setattr(Cyrus, "launch", refuse)
    try:
        job_run(str(job.pk))
    finally:
        monkeypatch.undo()
        if not svc.running():
            svc.start_again()
    job.refresh_from_db()
    lines = [line.text for line in job.lines.all()]
    assert job.state == Job.State.FAILED
    assert "DOWN" in job.error and "Cyrus did not start again" in job.error
    assert any("CYRUS DID NOT START AGAIN" in line for line in lines)
    tail = next(line for line in lines if "injected fault" in line)
    if svc.log_tail():
        assert "--- " in tail  # the log tail of Cyrus is in the job log
    assert not any("folder(s) fine" in line for line in lines)  # no mailbox was touched
    _healthy()


def test_mailbox_path_is_the_folders_directory(stack: object, db: None, personas: Personas) -> None:
    path = cyrus.mailbox_path(_conf(), f"user/{personas.user.uid}", bin_dir=_bin())
    assert isinstance(path, Path) and (path / "cyrus.header").exists()


@pytest.mark.django_db
def test_cancel_stops_between_mailboxes(
    stack: object, domain: str, unique: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run in this process (job_run, as the worker calls it) so that Cancel can be pressed at a known
    moment: right after the first mailbox was rebuilt (by the real reconstruct)."""
    first, second = _user_with_mail(domain, unique), _user_with_mail(domain, unique)
    _corrupt(second)
    job = job_start(actor=Actor.system("tests"), kind=KIND, params={"all": False, "users": [first, second]})
    real = cyrus.reconstruct
    seen: list[str] = []

    def then_cancel(conf: str, mailboxes: list[str], **kwargs: Any) -> list[str]:
        lines = real(conf, mailboxes, **kwargs)
        seen.extend(mailboxes)
        Job.objects.filter(pk=job.pk).update(cancel_requested=True)
        return lines

    monkeypatch.setattr(cyrus, "reconstruct", then_cancel)
    job_run(str(job.pk))
    job.refresh_from_db()
    assert job.state == Job.State.CANCELLED
    assert seen == [f"user/{first}"] and job.done == 1 and job.total == 2
    assert not _readable(second, "INBOX")  # the second mailbox was not touched
    audit = AuditEntry.objects.filter(action="cyrus_recovery").order_by("-pk").first()
    assert audit is not None and not audit.ok and "cancelled after 1 of 2" in audit.detail
    _healthy()
    cyrus.reconstruct(_conf(), [f"user/{second}"], bin_dir=_bin())


@pytest.mark.django_db
def test_cancel_before_the_stop_leaves_cyrus_running(stack: object, personas: Personas) -> None:
    master = cyrus_service().pid()
    job = job_start(actor=Actor.system("tests"), kind=KIND, params={"all": True, "users": []})
    Job.objects.filter(pk=job.pk).update(cancel_requested=True)  # pressed while the worker picks it up
    job_run(str(job.pk))
    job.refresh_from_db()
    assert job.state == Job.State.CANCELLED
    assert cyrus_service().pid() == master
    assert not job.lines.filter(text__contains="Stopping Cyrus").exists()
