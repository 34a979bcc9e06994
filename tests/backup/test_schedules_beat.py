"""End to end: a scheduled task made in the page runs by itself — a real `celery beat` (DatabaseScheduler)
reads the row, sends `mailadmin.run_scheduled` at the minute the crontab names, the real worker starts the
temp clean-up job as the schedule's owner, and the job removes a stale import directory; an LDAP backup
scheduled for the same minute lands in the catalogue. Waits for the next minute boundary, so up to about a
minute."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from backup.models import Backup
from backup.schedules.tempclean import CLEAN_TEMP
from mailadmin.jobs.models import Job
from tests.backup.schedtool import BASE, form, kwargs
from tests.conftest import Persona, Personas
from tests.jobtool import wait_finished


def _import_dir(name: str, age_days: float) -> Path:
    path = Path(settings.MAIL_IMPORT_DIR) / name
    path.mkdir(parents=True)
    (path / "archive.upload").write_text("left behind")
    when = time.time() - age_days * 86400
    for item in (path / "archive.upload", path):
        os.utime(item, (when, when))
    return path


@pytest.mark.django_db(transaction=True)  # beat and the worker read what the page committed
def test_a_schedule_made_in_the_page_runs_by_itself(
    beat: Path, personas: Personas, login: Callable[[Persona], Client]
) -> None:
    stale = _import_dir("5" * 32, 3)
    fresh = _import_dir("6" * 32, 0)
    try:
        now = timezone.localtime()
        minutes = f"{(now + timedelta(minutes=1)).minute},{(now + timedelta(minutes=2)).minute}"
        client = login(personas.admin)
        response = client.post(
            f"{BASE}new/",
            form(label="Clean-up by beat", task="clean_temp", older_than_hours="24", minute=minutes, hour=""),
        )
        assert response.status_code == 302, response.content.decode()[:3000]
        task = PeriodicTask.objects.get(description="Clean-up by beat")
        assert task.crontab.minute == minutes
        response = client.post(
            f"{BASE}new/", form(label="LDAP backup by beat", task="backup_ldap", minute=minutes, hour="")
        )
        assert response.status_code == 302, response.content.decode()[:3000]
        ldap_task = PeriodicTask.objects.get(description="LDAP backup by beat")

        deadline = time.monotonic() + 150
        while not Job.objects.filter(kind=CLEAN_TEMP).exists():
            assert time.monotonic() < deadline, beat.read_text(errors="replace")[-3000:]
            time.sleep(0.5)
        job = wait_finished(str(Job.objects.get(kind=CLEAN_TEMP).pk), timeout=60)
        assert job.state == Job.State.SUCCEEDED, (job.error, [line.text for line in job.lines.all()])
        assert (job.created_by, job.created_by_dn) == (personas.admin.uid, personas.admin.dn)
        assert job.params == {"older_than_hours": 24}
        assert not stale.exists() and fresh.exists()
        assert "Sending due task" in beat.read_text(errors="replace")

        assert kwargs(task)["last_job"] == str(job.pk)
        page = client.get(BASE).content.decode()
        assert f'href="/tools/jobs/{job.pk}/"' in page
        assert client.post(f"{BASE}{task.pk}/enable/", {"enabled": "0"}).status_code == 302

        # the LDAP backup of the same minute is in the catalogue, complete and named as the manual names it
        backup_job = wait_finished(str(kwargs(ldap_task)["last_job"]), timeout=120)
        assert backup_job.state == Job.State.SUCCEEDED, backup_job.error
        name = (backup_job.result or {})["name"]
        row = Backup.objects.get(name=name)
        assert (
            row.kind == "ldap" and name.startswith("ldap_") and (Path(settings.BACKUP_DIR) / name).is_file()
        )
        assert name in client.get("/tools/backup/").content.decode()
        assert client.post(f"{BASE}{ldap_task.pk}/enable/", {"enabled": "0"}).status_code == 302
    finally:
        # The import area is shared by the session: the migration tests expect it empty.
        for path in (stale, fresh):
            shutil.rmtree(path, ignore_errors=True)
