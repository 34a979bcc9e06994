"""Bad input through the upload page (issue 15, "Bad input"): each bad entry is refused with its reason in
the report, the rest is unaffected, a bad file is refused as a whole with a clear message, and nothing is
written to the directory by a refusal or anywhere outside the import's own directory."""

from __future__ import annotations

import base64
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client, override_settings

from accounts import services
from mailadmin.actor import Actor
from mailadmin.directory import dit
from migration.models import ImportRun
from migration.pipeline import run_dir
from tests import ldaptool
from tests.conftest import Persona, Personas
from tests.migration.importtool import checked, confirm, ldif, person, run_of, upload, verdicts

pytestmark = pytest.mark.django_db
Login = Callable[[Persona], Client]


@pytest.fixture
def admin(personas: Personas, login: Login) -> Client:
    return login(personas.admin)


def _reason(run: ImportRun, key: str) -> str:
    verdict, reason = verdicts(run)[key]
    assert verdict == "refused", (key, verdict, reason)
    return reason


def test_every_kind_of_bad_entry_is_refused_with_its_reason_and_the_rest_created(
    admin: Client, domain: str, unique: Callable[[str], str]
) -> None:
    org = dit.organization_dn(domain, domain)
    other = dit.organization_dn("b.test", "b.test")
    taken = unique("taken")
    services.user_create(
        actor=Actor.system("tests"), container_dn=org, uid=taken, password="Taken-pass-1", last_name="T"
    )
    names = {k: unique(k) for k in ("ok", "outside", "twice", "url", "garbage", "photo", "nosn", "latin")}
    data = ldif(
        person(names["ok"], org),
        person(names["outside"], other),
        person(names["twice"], org),
        person(names["twice"], org, mail=f"other-{names['twice']}@{domain}"),
        person(taken, org),
        person(names["url"], org, raw="description:< file:///etc/passwd"),
        person(names["garbage"], org, raw="givenName:: %%%%not-base64%%%%"),
        person(names["photo"], org, raw="jpegPhoto:: " + base64.b64encode(b"\xff\xd8\xff\xe0").decode()),
        f"dn: uid={names['nosn']},{org}\nuid: {names['nosn']}\nuserPassword: Import-pass-1",
    )
    data += f"\ndn: uid={names['latin']},{org}\nsn: M".encode() + b"\xfcller\nuserPassword: x\n"
    before = ldaptool.dump(org)
    run = checked(admin, data, org)
    assert ldaptool.dump(org) == before  # the check writes nothing
    assert run.status == ImportRun.Status.READY, run.error
    assert verdicts(run)[names["ok"]][0] == "accepted"
    assert "outside the chosen container" in _reason(run, names["outside"])
    assert "also in entry" in _reason(run, names["twice"])
    assert sum(1 for row in run.rows.all() if row.uid == names["twice"] and row.verdict == "refused") == 2
    assert "already taken on the server" in _reason(run, taken)
    assert "never fetched" in _reason(run, names["url"])
    assert "does not decode" in _reason(run, names["garbage"])
    assert "binary" in _reason(run, names["photo"])
    assert "sn (the last name) is missing" in _reason(run, names["nosn"])
    assert "not UTF-8" in _reason(run, names["latin"])
    assert (run.accepted, run.refused) == (1, 9)
    run = confirm(admin, run)
    assert (run.status, run.created) == (ImportRun.Status.DONE, 1)
    created = ldaptool.dump(org)
    assert f"uid={names['ok']}," in created
    for key in names.keys() - {"ok"}:
        assert f"uid={names[key]}," not in created
    assert f"uid={names['outside']}," not in ldaptool.dump(other)


def test_duplicate_addresses_in_the_file_and_against_the_directory(
    admin: Client, domain: str, unique: Callable[[str], str]
) -> None:
    org = dit.organization_dn(domain, domain)
    a, b, c = unique("a"), unique("b"), unique("c")
    owner = unique("owner")
    services.user_create(
        actor=Actor.system("tests"), container_dn=org, uid=owner, password="Owner-pass-1", last_name="O"
    )
    data = ldif(
        person(a, org, mailAlias=f"shared@{domain}"),
        person(b, org, mail=f"shared@{domain}"),
        person(c, org, mailAlias=f"{owner}@{domain}"),
    )
    run = checked(admin, data, org)
    assert "the address shared@" in _reason(run, a) and "also in entry 2" in _reason(run, a)
    assert "also in entry 1" in _reason(run, b)
    assert "already used by another account or alias" in _reason(run, c)
    assert run.status == ImportRun.Status.REFUSED and "No entry" in run.error


def test_an_empty_file_is_refused_and_leaves_nothing(admin: Client, domain: str) -> None:
    org = dit.organization_dn(domain, domain)
    response = upload(admin, b"", org)
    assert response.status_code == 200
    assert "The submitted file is empty." in response.content.decode()
    run = checked(admin, b"# only a comment\n\n", org)
    assert run.status == ImportRun.Status.REFUSED and run.error == "The file holds no entries."
    assert not run_dir(run.pk).exists()


def test_a_non_utf8_file_refuses_every_entry_and_says_why(admin: Client, domain: str) -> None:
    org = dit.organization_dn(domain, domain)
    data = f"dn: uid=jose,{org}\nsn: ".encode() + "Muñoz\ngivenName: José\n".encode("latin-1")
    data += b"userPassword: Import-pass-1\n"
    run = checked(admin, data, org)
    assert run.status == ImportRun.Status.REFUSED
    assert "not UTF-8" in _reason(run, "jose")
    page = admin.get(f"/tools/import/{run.pk}/").content.decode()
    assert "not UTF-8" in page and "Confirm" not in page


def test_an_upload_over_the_cap_is_refused_and_nothing_is_kept(
    admin: Client, domain: str, tmp_path: Path
) -> None:
    org = dit.organization_dn(domain, domain)
    spill = tmp_path / "django-temp"
    spill.mkdir()
    imports = Path(settings.IMPORT_DIR)
    before = set(imports.iterdir()) if imports.is_dir() else set()
    # Django's own handlers would put a big upload into FILE_UPLOAD_TEMP_DIR: it must stay empty.
    small = {
        "IMPORT_MAX_BYTES": 64 * 1024,
        "FILE_UPLOAD_TEMP_DIR": str(spill),
        "FILE_UPLOAD_MAX_MEMORY_SIZE": 0,
    }
    with override_settings(**small):
        data = ldif(person("big", org, description="x" * 100)) * 1000
        response = upload(admin, data, org)
    assert response.status_code == 200
    assert "The upload is larger than" in response.content.decode()
    assert list(spill.iterdir()) == []
    assert (set(imports.iterdir()) if imports.is_dir() else set()) == before


def test_the_upload_is_private_and_gone_when_the_run_ends(
    admin: Client, domain: str, unique: Callable[[str], str], tmp_path: Path
) -> None:
    org = dit.organization_dn(domain, domain)
    spill = tmp_path / "django-temp"
    spill.mkdir()
    with override_settings(FILE_UPLOAD_TEMP_DIR=str(spill), FILE_UPLOAD_MAX_MEMORY_SIZE=0):
        run = run_of(upload(admin, ldif(person(unique("p"), org)), org))
    assert list(spill.iterdir()) == []
    folder = run_dir(run.pk)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(folder.parent.stat().st_mode) == 0o700
    assert [(p.name, stat.S_IMODE(p.stat().st_mode)) for p in folder.iterdir()] == [("file.upload", 0o600)]
    assert os.stat(folder / "file.upload").st_uid == os.getuid()
    from tests.migration.importtool import settle

    run = settle(run)
    assert folder.exists()  # waiting for confirmation: the passwords are still needed
    response = admin.post(f"/tools/import/{run.pk}/discard/")
    assert response.status_code == 302
    assert ImportRun.objects.get(pk=run.pk).status == ImportRun.Status.DISCARDED
    assert not folder.exists()


def test_ten_thousand_entries_one_of_them_bad(admin: Client, domain: str) -> None:
    """Check and report only (creating 10,000 accounts belongs to bench/ldif_import.py)."""
    org = dit.organization_dn(domain, domain)
    prefix = domain.split(".")[0]
    entries = [person(f"{prefix}u{i:05d}", org) for i in range(10_000)]
    entries[7345] = person(f"{prefix}u07345", org, mailForward="not an address")
    run = checked(admin, ldif(*entries), org)
    assert (run.status, run.total, run.accepted, run.refused) == (ImportRun.Status.READY, 10_000, 9_999, 1)
    bad = run.rows.get(verdict="refused")
    assert (bad.uid, bad.where) == (f"{prefix}u07345", "entry 7346 (line 44071)")
    assert "forwarding (mailForward)" in bad.reason
    page = admin.get(f"/tools/import/{run.pk}/").content.decode()
    assert page.index(f"{prefix}u07345") < page.index(f"{prefix}u00000")  # the refused entry comes first
    assert admin.post(f"/tools/import/{run.pk}/discard/").status_code == 302


def test_the_upload_view_checks_the_csrf_token_itself(personas: Personas, domain: str) -> None:
    """The view is exempt from the middleware (it must put its upload handler in place before the body is
    read) and runs the CSRF check itself: without the token, 403 and nothing stored."""
    org = dit.organization_dn(domain, domain)
    client = Client(enforce_csrf_checks=True)
    client.get("/login/")
    token = client.cookies["csrftoken"].value
    form = {"username": personas.admin.uid, "password": personas.admin.password, "csrfmiddlewaretoken": token}
    assert client.post("/login/", form).status_code == 302
    imports = Path(settings.IMPORT_DIR)
    before = set(imports.iterdir()) if imports.is_dir() else set()
    runs = ImportRun.objects.count()
    assert upload(client, ldif(person("nocsrf", org)), org).status_code == 403
    assert (set(imports.iterdir()) if imports.is_dir() else set()) == before
    assert ImportRun.objects.count() == runs
