"""Uploading an import the way the browser does, and running its jobs in this process (the same handler
a worker runs; tests with the `worker` fixture let the real worker do it instead)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from mailadmin.jobs.models import Job
from mailadmin.jobs.services import job_run
from migration.models import ImportRun

PASSWORD = "Import-pass-1"


def person(
    uid: str, container: str, *, password: str | None = PASSWORD, raw: str = "", **attrs: str | Iterable[str]
) -> str:
    """One LDIF entry (without the blank line after it); `raw`: lines added as they are."""
    lines = [f"dn: uid={uid},{container}", "objectClass: inetOrgPerson", f"uid: {uid}", f"sn: {uid.title()}"]
    if password is not None:
        lines.append(f"userPassword: {password}")
    for attr, value in attrs.items():
        for v in [value] if isinstance(value, str) else value:
            lines.append(f"{attr}: {v}")
    if raw:
        lines.append(raw)
    return "\n".join(lines)


def ldif(*entries: str) -> bytes:
    return ("\n\n".join(entries) + "\n").encode()


def upload(client: Client, data: bytes, container: str, **options: Any) -> Any:
    form: dict[str, Any] = {"container": container, "create_mailbox": "on", **options}
    form = {k: v for k, v in form.items() if v is not None and v is not False}
    form["file"] = SimpleUploadedFile("people.ldif", data, content_type="text/plain")
    return client.post("/tools/import/new/ldif/", form)


def run_of(response: Any) -> ImportRun:
    assert response.status_code == 302, response.content.decode()[:3000]
    location = response["Location"]
    assert location.startswith("/tools/import/"), location
    return ImportRun.objects.get(pk=location.rstrip("/").split("/")[-1])


def settle(run: ImportRun) -> ImportRun:
    """Run the run's waiting jobs here and now; the run as they left it."""
    for job_id in (run.check_job_id, run.create_job_id):
        if job_id is not None and Job.objects.get(pk=job_id).state == Job.State.PENDING:
            job_run(str(job_id))
    return ImportRun.objects.get(pk=run.pk)


def checked(client: Client, data: bytes, container: str, **options: Any) -> ImportRun:
    return settle(run_of(upload(client, data, container, **options)))


def confirm(client: Client, run: ImportRun) -> ImportRun:
    response = client.post(f"/tools/import/{run.pk}/confirm/")
    assert response.status_code == 302
    return settle(ImportRun.objects.get(pk=run.pk))


def verdicts(run: ImportRun) -> dict[str, tuple[str, str]]:
    """uid (or where, for a row without one) -> (verdict, reason)."""
    return {row.uid or row.where: (row.verdict, row.reason) for row in run.rows.all()}
