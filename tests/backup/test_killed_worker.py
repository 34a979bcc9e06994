"""A worker killed in the middle (SIGKILL, no chance to clean up): a backup leaves nothing in the catalogue;
a restore is undone by the next worker that starts, which says so in the job, and the live mail is as it was.

The job runs in a process of its own (`manage.py shell` calling job_run, what the Celery task calls), so the
test can kill exactly that process; the next worker is a real `celery worker` listening on a queue nothing
posts to, so it takes no job of the other tests and only does its start-up work."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from backup import catalogue, making, services
from backup.models import Backup
from backup.restoring.run import journal_path
from mailadmin.jobs.models import Job
from tests.accounts.usertool import user_imap
from tests.backup.backuptool import mailbox_view, message
from tests.conftest import PASSWORD, child_env, stop_process
from tests.jobtool import wait_finished

pytestmark = [pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]


def _pending(personas: Any, kind: str, params: dict[str, Any]) -> Job:
    return Job.objects.create(
        kind=kind, title=kind, params=params, created_by=personas.admin.uid, created_by_dn=personas.admin.dn
    )


@contextmanager
def _job_process(job: Job) -> Iterator[subprocess.Popen[bytes]]:
    code = f"from mailadmin.jobs.services import job_run; job_run({str(job.pk)!r})"
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=child_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def _next_worker(job: Job, tmp_path: Path) -> Job:
    """Start a fresh real worker (on a queue nothing posts to: it only does its start-up work) and wait for
    the job to be settled by it."""
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("celery")),
                "-A",
                "mailadmin",
                "worker",
                "--pool",
                "solo",
                "-Q",
                f"nothing-{job.pk}",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=ROOT,
            env=child_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        return wait_finished(str(job.pk), timeout=90)
    finally:
        stop_process(worker)


def _wait(predicate: Any, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


def _many(uid: str, count: int) -> None:
    with user_imap(uid, PASSWORD) as client:
        # without Nagle: an APPEND's literal would wait for the delayed ACK (40 ms a message)
        client.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for n in range(count):
            client.append(
                "INBOX", message(uid, 1000 + n) + b"x" * 2000, msg_time=datetime(2020, 1, 1, tzinfo=UTC)
            )


def test_killed_mid_backup_leaves_nothing_in_the_catalogue(
    backup_dir: Path, mail_user: str, personas: Any, tmp_path: Path
) -> None:
    _many(mail_user, 600)
    rows = Backup.objects.count()
    job = _pending(
        personas,
        services.CREATE_JOB,
        {"what": "mail", "domain": "", "users": [mail_user], "compression": "zstd"},
    )
    with _job_process(job) as proc:
        _wait(lambda: any(backup_dir.glob(f".mail_*_{mail_user}.tar.zst.partial")), "the partial file")
        proc.send_signal(signal.SIGKILL)
    assert Backup.objects.count() == rows
    assert not list(backup_dir.glob(f"mail_*_{mail_user}*"))  # no complete-looking file
    # the next worker says what happened (once the job is old enough not to be one just claimed)
    Job.objects.filter(pk=job.pk).update(started_at=timezone.now() - timedelta(minutes=5))
    finished = _next_worker(job, tmp_path)
    assert finished.state == "failed" and "nothing was added to the catalogue" in finished.error
    for partial in backup_dir.glob(f".mail_*_{mail_user}*.partial"):
        partial.unlink()


@pytest.mark.parametrize("mode", ["folder", "in_place"])
def test_killed_mid_restore_is_undone_by_the_next_worker(
    backup_dir: Path, mail_user: str, personas: Any, tmp_path: Path, mode: str
) -> None:
    _many(mail_user, 600)
    path, manifest = making.make("mail", compression="zstd", users=[mail_user])
    backup = catalogue.register(path, manifest, origin=Backup.Origin.MADE, created_by="tests")
    if mode == "in_place":  # the mail is lost: the restore has something to put back
        with user_imap(mail_user, PASSWORD) as client:
            client.select_folder("INBOX")
            client.delete_messages(client.search(["ALL"]))
            client.expunge()
    before = mailbox_view(mail_user)
    params = {"backup": backup.pk, "users": [mail_user], "mode": mode}
    job = _pending(personas, services.RESTORE_JOB, params)
    journal = journal_path(str(job.pk))

    def appended() -> bool:
        try:
            users = json.loads(journal.read_text())["users"]
        except (OSError, ValueError, KeyError):
            return False
        return bool(users and any(users[0]["appended"].values()))

    with _job_process(job) as proc:
        _wait(appended, "a restored message in the journal")
        proc.send_signal(signal.SIGKILL)
    assert Job.objects.get(pk=job.pk).state == "running"  # nobody could say otherwise yet
    assert mailbox_view(mail_user) != before  # half restored

    finished = _next_worker(job, tmp_path)
    assert finished.state == "failed" and "as it was before" in finished.error
    assert mailbox_view(mail_user) == before
    assert not journal.exists()
