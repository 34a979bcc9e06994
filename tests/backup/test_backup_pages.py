"""The Backup & restore pages in use: who sees what, a backup and a restore started in the page and run by
the worker, download audited, delete, retention, and every mutating view refused to the wrong people."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from backup import catalogue, making
from backup.models import Backup, Retention
from mailadmin.audit.models import AuditEntry
from tests.backup.backuptool import job_result, mailbox_view
from tests.jobtool import job_of

pytestmark = [pytest.mark.django_db(transaction=True)]


def _set(what: str, **kw: Any) -> Backup:
    path, manifest = making.make(what, compression="zstd", **kw)
    return catalogue.register(path, manifest, origin=Backup.Origin.MADE, created_by="tests")


def test_admin_makes_an_ldap_backup_in_the_page(
    backup_dir: Path, personas: Any, login: Any, worker: None
) -> None:
    client = login(personas.admin)
    page = client.get("/tools/backup/")
    assert page.status_code == 200 and "Create backup" in page.content.decode()
    job = job_of(
        client.post("/tools/backup/", {"what": "ldap", "compression": "xz", "domain": "", "users": ""})
    )
    assert job.state == "succeeded", job.error
    name = job_result(job)["name"]
    assert re.fullmatch(r"ldap_\d{8}_\d{6}(-\d+)?\.tar\.xz", name) and (backup_dir / name).exists()
    assert name in client.get("/tools/backup/").content.decode()
    row = Backup.objects.get(name=name)
    download = client.get(f"/tools/backup/{row.pk}/download/")
    assert download.status_code == 200 and b"".join(download.streaming_content)[:6] == b"\xfd7zXZ\x00"
    assert AuditEntry.objects.filter(action="backup.download", target=name).exists()


def test_domain_admin_backs_up_and_restores_own_users_mail_only(
    backup_dir: Path, personas: Any, login: Any, worker: None
) -> None:
    client = login(personas.domain_admin_a)
    user = personas.user.uid  # ursula, a mailbox in a.test
    refused = client.post(
        "/tools/backup/", {"what": "ldap", "compression": "zstd", "domain": "", "users": ""}
    )
    assert refused.status_code == 400
    refused = client.post(
        "/tools/backup/", {"what": "mail", "compression": "zstd", "domain": personas.domain_b, "users": ""}
    )
    assert refused.status_code == 400
    job = job_of(
        client.post("/tools/backup/", {"what": "mail", "compression": "zstd", "domain": "", "users": user})
    )
    assert job.state == "succeeded", job.error
    row = Backup.objects.get(name=job_result(job)["name"])
    before = mailbox_view(user)
    job = job_of(client.post(f"/tools/backup/{row.pk}/restore/", {"users": [user], "mode": "folder"}))
    assert job.state == "succeeded", job.error
    assert (
        any(f.startswith("INBOX/Restored ") for f in mailbox_view(user))
        and mailbox_view(user)["INBOX"] == before["INBOX"]
    )
    # an LDAP set is not theirs: not listed, not downloadable, not restorable
    ldap = _set("ldap")
    assert ldap.name not in client.get("/tools/backup/").content.decode()
    assert client.get(f"/tools/backup/{ldap.pk}/download/").status_code == 404
    assert client.post(f"/tools/backup/{ldap.pk}/restore/", {"confirm": "on"}).status_code == 404
    other = login(personas.domain_admin_b)
    assert client.get(f"/tools/backup/{row.pk}/download/").status_code == 200
    assert other.get(f"/tools/backup/{row.pk}/download/").status_code == 404
    assert (
        other.post(f"/tools/backup/{row.pk}/restore/", {"users": [user], "mode": "folder"}).status_code == 404
    )


@pytest.mark.parametrize("who", ["domain_admin_a", "group_admin", "user"])
def test_refused_people_change_nothing(backup_dir: Path, personas: Any, login: Any, who: str) -> None:
    row = _set("cfg")
    client = login(getattr(personas, who))
    assert client.post(f"/tools/backup/{row.pk}/delete/").status_code == 404
    assert (
        client.post("/tools/backup/retention/", {"kind": "cfg", "keep_last": 1, "keep_days": 0}).status_code
        == 404
    )
    upload = SimpleUploadedFile("x.tar.zst", b"\x28\xb5\x2f\xfd" + b"0" * 100)
    assert client.post("/tools/backup/upload/", {"backup": upload}).status_code == 404
    assert client.post(f"/tools/backup/{row.pk}/restore/", {"confirm": "on"}).status_code == 404
    if who != "domain_admin_a":
        assert client.get("/tools/backup/").status_code == 404
        assert client.post("/tools/backup/", {"what": "mail", "compression": "zstd"}).status_code == 404
    assert (
        Backup.objects.filter(pk=row.pk).exists()
        and not Retention.objects.filter(kind="cfg", keep_last=1).exists()
    )
    assert not list((backup_dir / ".incoming").glob("*")) if (backup_dir / ".incoming").exists() else True


def test_delete_and_retention(backup_dir: Path, personas: Any, login: Any, worker: None) -> None:
    client = login(personas.admin)
    old = [_set("cfg") for _ in range(3)]
    assert (
        client.post("/tools/backup/retention/", {"kind": "cfg", "keep_last": 2, "keep_days": 0}).status_code
        == 302
    )
    job = job_of(
        client.post("/tools/backup/", {"what": "cfg", "compression": "gzip", "domain": "", "users": ""})
    )
    assert job.state == "succeeded", job.error
    left = list(Backup.objects.filter(kind="cfg").order_by("-created_at", "-id"))
    assert len(left) == 2 and left[0].name == job_result(job)["name"]
    assert all(not (backup_dir / b.name).exists() for b in old[:2])
    assert client.post(f"/tools/backup/{left[1].pk}/delete/").status_code == 302
    assert not (backup_dir / left[1].name).exists() and not Backup.objects.filter(pk=left[1].pk).exists()
    Retention.objects.filter(kind="cfg").delete()


def test_hostile_create_input_is_refused(backup_dir: Path, personas: Any, login: Any) -> None:
    client = login(personas.admin)
    for data in (
        {"what": "shell", "compression": "zstd"},
        {"what": "mail", "compression": "bzip9"},
        {"what": "mail", "compression": "zstd", "users": "-rf /"},
        {"what": "mail", "compression": "zstd", "users": "a\nb"},
        {"what": "ldap", "compression": "zstd", "users": "jane"},
        {"what": "domain", "compression": "zstd", "domain": ""},
        {"what": "mail", "compression": "zstd", "domain": "../../etc"},
    ):
        before = {p.name for p in backup_dir.iterdir()}
        response = client.post("/tools/backup/", data)
        assert response.status_code == 400, data
        assert {p.name for p in backup_dir.iterdir()} == before


def test_the_page_speaks_german(backup_dir: Path, personas: Any, login: Any) -> None:
    row = _set("cfg")
    client = login(personas.admin)
    client.post("/i18n/setlang/", {"language": "de", "next": "/"})
    page = client.get("/tools/backup/").content.decode()
    assert "Sicherung anlegen" in page and "Aufbewahrung" in page and "Herunterladen" in page
    restore = client.get(f"/tools/backup/{row.pk}/restore/").content.decode()
    assert "Jeder Dienst erhält" in restore
