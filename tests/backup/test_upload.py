"""Uploading a backup file: checked whole by the worker before it joins the catalogue; crafted files are
refused with a sentence, and nothing of them stays on disk."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from backup import archive, catalogue, making
from backup.models import Backup
from mailadmin.jobs.models import Job
from tests.backup.backuptool import job_result
from tests.jobtool import job_of

pytestmark = [pytest.mark.django_db(transaction=True)]


def _zstd(members: list[tuple[str, bytes, bytes, str]]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data, kind, link in members:
            info = tarfile.TarInfo(name)
            info.type = kind
            info.linkname = link
            info.size = len(data) if kind == tarfile.REGTYPE else 0
            tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
    return subprocess.run(["zstd", "-q", "-c"], input=raw.getvalue(), capture_output=True, check=True).stdout


def _manifest(members: dict[str, bytes], **extra: Any) -> bytes:
    listed = {n: {"size": len(d), "sha256": hashlib.sha256(d).hexdigest()} for n, d in members.items()}
    body = {
        "format": archive.FORMAT,
        "kind": "ldap",
        "created": "2026-01-02T03:04:05+00:00",
        "members": listed,
    }
    return json.dumps(body | extra).encode()


REG = tarfile.REGTYPE
LDIF = b"dn: dc=mailadmin\nobjectClass: domain\ndc: mailadmin\n"
HOSTILE = {
    "tar-slip": [("../../etc/cron.d/evil", b"* * * * * root id\n", REG, "")],
    "symlink": [("ldap/data.ldif", b"", tarfile.SYMTYPE, "/etc/shadow")],
    "device": [("ldap/data.ldif", b"", tarfile.CHRTYPE, "")],
    "wrong-manifest": [
        ("ldap/data.ldif", LDIF, REG, ""),
        ("manifest.json", _manifest({"ldap/data.ldif": b"x"}), REG, ""),
    ],
    "no-manifest": [("ldap/data.ldif", LDIF, REG, "")],
    "bomb": [("ldap/data.ldif", b"\0" * (40 * 1024 * 1024), REG, "")],
}


def _upload(client: Any, data: bytes, name: str = "backup.tar.zst") -> Any:
    return client.post("/tools/backup/upload/", {"backup": SimpleUploadedFile(name, data)})


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_crafted_files_are_refused_and_leave_nothing(
    backup_dir: Path, personas: Any, login: Any, worker: None, case: str
) -> None:
    client = login(personas.admin)
    before = sorted(p.name for p in backup_dir.iterdir() if p.name != ".incoming")
    rows = Backup.objects.count()
    job = job_of(_upload(client, _zstd(HOSTILE[case]), name="../../evil.tar.zst"))
    assert job.state == "failed"
    assert job.error and len(job.error) < 300
    assert sorted(p.name for p in backup_dir.iterdir() if p.name != ".incoming") == before
    assert not any((backup_dir / ".incoming").iterdir())
    assert Backup.objects.count() == rows
    assert not Path("/etc/cron.d/evil").exists()


def test_a_set_from_elsewhere_joins_the_catalogue_under_its_own_name(
    backup_dir: Path, personas: Any, login: Any, worker: None
) -> None:
    path, _manifest = making.make("cfg", compression="zstd")
    data = path.read_bytes()
    path.unlink()  # as if it was made on another install
    client = login(personas.admin)
    job = job_of(_upload(client, data, name="whatever; rm -rf.bin"))
    assert job.state == "succeeded", job.error
    row = Backup.objects.get(pk=job_result(job)["backup"])
    assert (
        row.origin == "uploaded"
        and row.name.startswith("cfg_")
        and (backup_dir / row.name).read_bytes() == data
    )
    assert archive.inspect(catalogue.file_of(row), making.limits()).kind == "cfg"


def test_an_upload_over_the_cap_is_dropped_while_it_arrives(
    backup_dir: Path, personas: Any, login: Any
) -> None:
    client = login(personas.admin)
    with override_settings(BACKUP_MAX_UPLOAD=1000):
        response = _upload(client, b"\x28\xb5\x2f\xfd" + b"0" * 5000)
    assert response.status_code == 302 and response["Location"] == "/tools/backup/"
    incoming = backup_dir / ".incoming"
    assert not incoming.exists() or not any(incoming.iterdir())


def test_files_copied_in_by_hand_are_checked_and_listed(
    backup_dir: Path, personas: Any, login: Any, worker: None
) -> None:
    path, _manifest = making.make("cfg", compression="zstd")
    copied = backup_dir / "cfg_20200102_030405.tar.zst"
    path.rename(copied)
    junk = backup_dir / "ldap_20200102_030405.tar.zst"
    junk.write_bytes(b"\x28\xb5\x2f\xfd" + b"not a backup")
    try:
        assert login(personas.domain_admin_a).post("/tools/backup/adopt/").status_code == 404
        job = job_of(login(personas.admin).post("/tools/backup/adopt/"))
        assert job.state == "succeeded", job.error
        assert copied.name in job_result(job)["listed"] and junk.name in job_result(job)["refused"]
        row = Backup.objects.get(name=copied.name)
        assert row.kind == "cfg" and row.origin == "uploaded"
        assert not Backup.objects.filter(name=junk.name).exists()
    finally:
        junk.unlink(missing_ok=True)


def test_the_upload_view_checks_the_csrf_token_itself(backup_dir: Path, personas: Any) -> None:
    """The view is exempt from the middleware (its own upload handler must be in place before the body is
    read) and runs the check right after: a POST without the token is refused and nothing is kept."""
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.get("/login/")
    token = client.cookies["csrftoken"].value
    login = client.post(
        "/login/",
        {"username": personas.admin.uid, "password": personas.admin.password, "csrfmiddlewaretoken": token},
    )
    assert login.status_code == 302
    jobs = Job.objects.filter(kind="backup.upload").count()
    upload = SimpleUploadedFile("x.tar.zst", b"\x28\xb5\x2f\xfd" + b"0" * 100)
    assert client.post("/tools/backup/upload/", {"backup": upload}).status_code == 403
    assert Job.objects.filter(kind="backup.upload").count() == jobs
    incoming = backup_dir / ".incoming"
    assert not incoming.exists() or not any(incoming.iterdir())
