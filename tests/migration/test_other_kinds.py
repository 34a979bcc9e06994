"""The CSV and shadow-file parsers through the same pipeline as LDIF: upload, report, confirm, job; the
accounts log in over IMAP with the passwords of the file, disabled ones cannot, and a file the parser
refuses as a whole is refused with its reason."""

from __future__ import annotations

import imaplib
import subprocess
from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from mailadmin.directory import dit
from migration.models import ImportRun
from tests import ldaptool
from tests.accounts import usertool
from tests.conftest import Persona, Personas
from tests.migration.importtool import run_of, settle, verdicts

pytestmark = pytest.mark.django_db
Login = Callable[[Persona], Client]


def _imap_ok(uid: str, password: str) -> bool:
    try:
        with usertool.user_imap(uid, password):
            return True
    except imaplib.IMAP4.error:
        return False


def _sha512_crypt(password: str) -> str:
    run = subprocess.run(
        ["openssl", "passwd", "-6", "-stdin"], input=password, capture_output=True, text=True, check=True
    )
    return run.stdout.strip()


def _post(client: Client, kind: str, container: str, **files: bytes | Any) -> ImportRun:
    form: dict[str, Any] = {"container": container, "create_mailbox": "on"}
    for name, value in files.items():
        form[name] = SimpleUploadedFile(f"{name}.txt", value) if isinstance(value, bytes) else value
    return settle(run_of(client.post(f"/tools/import/new/{kind}/", form)))


def _confirm(client: Client, run: ImportRun) -> ImportRun:
    assert client.post(f"/tools/import/{run.pk}/confirm/").status_code == 302
    return settle(ImportRun.objects.get(pk=run.pk))


def test_a_csv_file(personas: Personas, login: Login, domain: str, unique: Callable[[str], str]) -> None:
    org = dit.organization_dn(domain, domain)
    ann, bob, bad = unique("ann"), unique("bob"), unique("bad")
    text = (
        "uid;sn;givenName;userPassword;telephoneNumber;disabled\r\n"
        f"{ann};Andersen;Ann;Csv-pass-{ann};+49 30 1;no\r\n"
        f"{bob};Berg;Bob;Csv-pass-{bob};;yes\r\n"
        f"{bad};;;Csv-pass-x;;no\r\n"
    )
    client = login(personas.admin)
    run = _post(client, "csv", org, file=text.encode())
    assert (run.status, run.accepted, run.refused) == (ImportRun.Status.READY, 2, 1), verdicts(run)
    assert verdicts(run)[bad][0] == "refused"
    run = _confirm(client, run)
    assert (run.status, run.created) == (ImportRun.Status.DONE, 2)
    assert _imap_ok(ann, f"Csv-pass-{ann}")
    assert not _imap_ok(bob, f"Csv-pass-{bob}")  # created disabled, as the file said
    assert ldaptool.attribute(dit.account_dn(org, bob), "mailEnabled") == ["FALSE"]
    assert f"uid={bad}," not in ldaptool.dump(org)


def test_a_latin1_csv_is_refused_as_a_whole(personas: Personas, login: Login, domain: str) -> None:
    org = dit.organization_dn(domain, domain)
    run = _post(login(personas.admin), "csv", org, file="uid,sn\r\njose,Muñoz\r\n".encode("latin-1"))
    assert run.status == ImportRun.Status.REFUSED and "UTF-8" in run.error
    assert run.total == 0


def test_passwd_and_shadow_files(
    personas: Personas, login: Login, domain: str, unique: Callable[[str], str]
) -> None:
    org = dit.organization_dn(domain, domain)
    anna, lock, system = unique("anna"), unique("lock"), unique("sys")
    passwd = (
        f"{system}:x:999:999:System:/:/usr/sbin/nologin\n"
        f"{anna}:x:1000:1000:Anna Beispiel,,,:/home/anna:/bin/bash\n"
        f"{lock}:x:1001:1001:Lars Locked:/home/lock:/bin/bash\n"
    )
    shadow = (
        f"{system}:*:19000:0:99999:7:::\n"
        f"{anna}:{_sha512_crypt('Anna-old-pass-1')}:19000:0:99999:7:::\n"
        f"{lock}:!{_sha512_crypt('Lock-old-pass-1')}:19000:0:99999:7:::\n"
    )
    client = login(personas.admin)
    assert 'name="min_uid"' in client.get("/tools/import/new/shadow/").content.decode()
    run = _post(client, "shadow", org, passwd=passwd.encode(), shadow=shadow.encode(), min_uid="1000")
    assert (run.status, run.accepted) == (ImportRun.Status.READY, 2), verdicts(run)
    assert system not in verdicts(run)  # a system account is passed over, not imported
    run = _confirm(client, run)
    assert (run.status, run.created) == (ImportRun.Status.DONE, 2)
    assert _imap_ok(anna, "Anna-old-pass-1")
    assert ldaptool.attribute(dit.account_dn(org, anna), "givenName") == ["Anna"]
    assert not _imap_ok(lock, "Lock-old-pass-1")
    assert "disabled" in verdicts(run)[lock][1]
