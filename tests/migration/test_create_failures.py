"""An entry that fails while it is created leaves nothing half-made, and the report says why; the entries
after it are created. Plus the report's CSV against formula injection, and runs nobody confirmed."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts import services
from accounts.models import Operation
from mailadmin import imap
from mailadmin.actor import Actor
from mailadmin.directory import dit
from mailadmin.imap_names import ImapError
from migration.models import ImportRun
from migration.pipeline import import_expire, run_dir
from migration.report import neutral
from tests import ldaptool
from tests.conftest import Persona, Personas
from tests.migration.importtool import checked, confirm, ldif, person, verdicts

pytestmark = pytest.mark.django_db
Login = Callable[[Persona], Client]


def test_a_quota_step_failing_fake_undoes_that_entry_and_the_next_ones_are_created(
    personas: Personas,
    login: Login,
    domain: str,
    unique: Callable[[str], str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Cyrus cannot be made to refuse one SETQUOTA on demand: a fake (named so) refuses it for one user."""
    org = dit.organization_dn(domain, domain)
    first, doomed, last = unique("first"), unique("doomed"), unique("last")
    client = login(personas.admin)
    run = checked(
        client, ldif(person(first, org), person(doomed, org), person(last, org)), org, quota_mib="10"
    )
    real = imap.CyrusAdmin.set_quota

    def refuse_one(self: imap.CyrusAdmin, uid: str, quota_kib: int | None) -> None:
        if uid == doomed:
            raise ImapError("fake: Cyrus refused SETQUOTA")
        real(self, uid, quota_kib)

    monkeypatch.setattr(imap.CyrusAdmin, "set_quota", refuse_one)
    run = confirm(client, run)
    assert (run.status, run.created, run.failed) == (ImportRun.Status.DONE, 2, 1)
    verdict, reason = verdicts(run)[doomed]
    assert verdict == "failed" and "fake: Cyrus refused SETQUOTA" in reason
    dump = ldaptool.dump(org)
    assert f"uid={doomed}," not in dump and not imap.mailbox_exists(doomed)
    assert f"uid={first}," in dump and f"uid={last}," in dump
    op = Operation.objects.filter(target=dit.normalize_dn(dit.account_dn(org, doomed))).get()
    assert op.state == Operation.State.UNDONE  # the journal undid the entry and the mailbox


def test_an_address_taken_after_the_check_removes_the_new_account_again(
    personas: Personas, login: Login, domain: str, unique: Callable[[str], str]
) -> None:
    org = dit.organization_dn(domain, domain)
    uid, rival = unique("late"), unique("rival")
    client = login(personas.admin)
    run = checked(client, ldif(person(uid, org, mailAlias=f"contested@{domain}")), org)
    assert verdicts(run)[uid][0] == "accepted"
    # Between the report and the confirmation someone else takes the address.
    services.user_create(
        actor=Actor.system("tests"),
        container_dn=org,
        uid=rival,
        password="Rival-pass-1",
        last_name="Rival",
        mail=f"contested@{domain}",
        create_mailbox=False,
    )
    run = confirm(client, run)
    verdict, reason = verdicts(run)[uid]
    assert verdict == "failed" and "the account was removed again" in reason
    assert f"uid={uid}," not in ldaptool.dump(org) and not imap.mailbox_exists(uid)


def test_the_csv_report_neutralises_formula_cells(personas: Personas, login: Login, domain: str) -> None:
    assert [neutral(v) for v in ("=1+1", "+x", "-x", "@SUM(A1)", "\tx", "\rx", "plain", "a=b")] == [
        "'=1+1", "'+x", "'-x", "'@SUM(A1)", "'\tx", "'\rx", "plain", "a=b",
    ]  # fmt: skip
    org = dit.organization_dn(domain, domain)
    client = login(personas.admin)
    run = checked(client, ldif(f"dn: uid=@SUM(1+1)cmd,{org}\nsn: X\nuserPassword: x"), org)
    body = b"".join(client.get(f"/tools/import/{run.pk}/report.csv").streaming_content)  # type: ignore[attr-defined]
    rows = list(csv.reader(io.StringIO(body.decode())))
    assert rows[0] == ["where", "login", "verdict", "reason", "dn"]
    assert rows[1][1] == "'@SUM(1+1)cmd" and rows[1][2] == "refused"


def test_an_unconfirmed_run_expires_and_its_upload_goes(
    personas: Personas, login: Login, domain: str, unique: Callable[[str], str]
) -> None:
    org = dit.organization_dn(domain, domain)
    client = login(personas.admin)
    run = checked(client, ldif(person(unique("old"), org)), org)
    assert run.status == ImportRun.Status.READY and run_dir(run.pk).is_dir()
    ImportRun.objects.filter(pk=run.pk).update(checked_at=timezone.now() - timedelta(days=2))
    assert import_expire() >= 1
    run = ImportRun.objects.get(pk=run.pk)
    assert run.status == ImportRun.Status.EXPIRED and not run_dir(run.pk).exists()
    assert client.post(f"/tools/import/{run.pk}/confirm/").status_code == 302
    assert ImportRun.objects.get(pk=run.pk).create_job_id is None  # nothing can be created from it


def test_a_run_whose_job_was_cancelled_before_it_started_does_not_hang(
    personas: Personas, login: Login, domain: str, unique: Callable[[str], str]
) -> None:
    org = dit.organization_dn(domain, domain)
    client = login(personas.admin)
    run = checked(client, ldif(person(unique("w"), org)), org)
    assert client.post(f"/tools/import/{run.pk}/confirm/").status_code == 302
    run = ImportRun.objects.get(pk=run.pk)
    # The bar polls the page; while the run is as the page saw it, only the bar comes back ...
    bar = client.get(f"/tools/import/{run.pk}/?poll=running", HTTP_HX_REQUEST="true")
    assert bar.content.decode().lstrip().startswith('<div id="run-progress"')
    # ... and once it moved on, the whole page reloads (the report, the buttons change with it).
    moved = client.get(f"/tools/import/{run.pk}/?poll=checking", HTTP_HX_REQUEST="true")
    assert (moved.status_code, moved["HX-Refresh"]) == (204, "true")
    # No worker here: the job waits; Cancel on the job page ends it before it ever runs.
    assert client.post(f"/tools/jobs/{run.create_job_id}/cancel/").status_code == 302
    page = client.get(f"/tools/import/{run.pk}/").content.decode()
    run = ImportRun.objects.get(pk=run.pk)
    assert run.status == ImportRun.Status.CANCELLED and "hx-trigger" not in page
    assert not run_dir(run.pk).exists()
