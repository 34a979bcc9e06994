"""The drift check: real drift made behind the console's back (IMAP, LDAP), found exactly, repaired, checked
with IMAP and ldapsearch; the page and its jobs; `manage.py reconcile`."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client

from accounts.reconcile import reconcile_delete_orphans, reconcile_repair, reconcile_scan
from accounts.services.users import user_create
from mailadmin import directory, imap
from mailadmin.actor import Actor
from mailadmin.directory import dit
from mailadmin.jobs.models import Job
from tests import ldaptool
from tests.conftest import Persona, Personas
from tests.jobtool import job_of

Login = Callable[[Persona], Client]
SYSTEM = Actor.system("tests")
PASSWORD = "Drift-pass-1234"


def make_user(container: str, uid: str, quota: int | None = None) -> str:
    return user_create(
        actor=SYSTEM,
        container_dn=container,
        uid=uid,
        password=PASSWORD,
        last_name="Drift",
        create_mailbox=True,
        quota_kib=quota,
    )


class Drift:
    """In one fresh domain: a deleted mailbox, a changed quota, an entry without mailbox, a mailbox without
    entry, a reference to a missing entry and a needless placeholder."""

    def __init__(self, domain: str) -> None:
        tag = uuid.uuid4().hex[:6]
        org = dit.organization_dn(domain, domain)
        self.domain, self.domain_dn = domain, dit.domain_dn(domain)
        self.lost, self.quota, self.bare, self.orphan, self.fine = (
            f"{n}{tag}" for n in ("lost", "quota", "bare", "orphan", "fine")
        )
        self.lost_dn = make_user(org, self.lost, quota=2048)
        imap.mailbox_delete(self.lost)  # the mailbox goes behind the console's back
        self.quota_dn = make_user(org, self.quota, quota=1024)
        imap.quota_set(self.quota, 4096)  # Cyrus now enforces something else than LDAP records
        self.fine_dn = make_user(org, self.fine, quota=1024)
        self.bare_dn = dit.account_dn(org, self.bare)
        directory.add(  # an account written straight to LDAP, never given a mailbox
            self.bare_dn,
            {
                "objectClass": ["inetOrgPerson", "mailAccount"],
                "uid": self.bare,
                "cn": "Bare",
                "sn": "Bare",
                "mail": f"{self.bare}@{domain}",
                "mailEnabled": True,
            },
        )
        orphan_dn = make_user(org, self.orphan)
        directory.delete(orphan_dn)  # the entry goes, the mailbox stays
        self.ghost = dit.account_dn(org, f"ghost{tag}")
        directory.modify(
            self.domain_dn, [directory.add_values("mailAdministrator", self.ghost, dit.base_dn())]
        )


@pytest.fixture
def drift(stack: object, domain: str) -> Drift:
    return Drift(domain)


@pytest.mark.django_db
def test_the_scan_finds_exactly_the_drift_and_the_repairs_fix_it(drift: Drift) -> None:
    findings = reconcile_scan(domain=drift.domain)
    assert findings.accounts == 4
    assert {m["uid"]: m["quota_kib"] for m in findings.missing_mailboxes} == {
        drift.lost: 2048,
        drift.bare: None,
    }
    assert findings.quota_mismatches == [
        {"dn": drift.quota_dn, "uid": drift.quota, "ldap_kib": 1024, "cyrus_kib": 4096}
    ]
    assert {(r["value"], r["why"]) for r in findings.stale_references} == {
        (drift.ghost, "missing entry"),
        (dit.base_dn(), "placeholder"),
    }
    assert drift.orphan in findings.orphan_mailboxes
    assert not {drift.lost, drift.quota, drift.bare, drift.fine} & set(findings.orphan_mailboxes)

    report = reconcile_repair(actor=SYSTEM, kind="missing_mailboxes", domain=drift.domain)
    assert sorted(report.fixed) == sorted([f"mailbox of {drift.lost}", f"mailbox of {drift.bare}"])
    assert imap.mailbox_exists(drift.lost) and imap.mailbox_exists(drift.bare)
    assert imap.quota_get(drift.lost).limit_kib == 2048  # type: ignore[union-attr]
    assert imap.quota_get(drift.bare) is None
    assert imap.login_check(drift.lost, PASSWORD)

    reconcile_repair(actor=SYSTEM, kind="quota_mismatches", domain=drift.domain)
    assert imap.quota_get(drift.quota).limit_kib == 1024  # type: ignore[union-attr]

    reconcile_repair(actor=SYSTEM, kind="stale_references", domain=drift.domain)
    assert ldaptool.attribute(drift.domain_dn, "mailAdministrator") == []

    # An orphan is deleted only by name, and only while no account has that login.
    kept = reconcile_delete_orphans(actor=SYSTEM, uids=[drift.fine])
    assert kept.fixed == [] and imap.mailbox_exists(drift.fine)
    report = reconcile_delete_orphans(actor=SYSTEM, uids=[drift.orphan])
    assert report.fixed == [f"mailbox of {drift.orphan}"] and not imap.mailbox_exists(drift.orphan)

    after = reconcile_scan(domain=drift.domain)
    assert after.counts["missing_mailboxes"] == after.counts["quota_mismatches"] == 0
    assert after.counts["stale_references"] == 0 and drift.orphan not in after.orphan_mailboxes


@pytest.mark.django_db
def test_repairs_refuse_to_delete_orphans(drift: Drift) -> None:
    from mailadmin.directory import InvalidName

    with pytest.raises(InvalidName):
        reconcile_repair(actor=SYSTEM, kind="orphan_mailboxes", domain=drift.domain)
    assert imap.mailbox_exists(drift.orphan)
    imap.mailbox_delete(drift.orphan)


@pytest.mark.django_db(transaction=True)
def test_the_page_checks_and_repairs_as_jobs(
    worker: None, personas: Personas, login: Login, drift: Drift
) -> None:
    client = login(personas.admin)
    job = job_of(client.post("/accounts/reconcile/check/", {"domain": drift.domain}))
    assert job.state == Job.State.SUCCEEDED, job.error
    page = client.get("/accounts/reconcile/").content.decode()
    for uid in (drift.lost, drift.bare, drift.quota, f"user/{drift.orphan}"):
        assert uid in page
    assert drift.ghost in page and 'for="id_orphan_confirm"' in page

    job = job_of(
        client.post("/accounts/reconcile/repair/", {"kind": "missing_mailboxes", "domain": drift.domain})
    )
    assert job.state == Job.State.SUCCEEDED, job.error
    assert imap.mailbox_exists(drift.lost) and imap.mailbox_exists(drift.bare)
    job = job_of(
        client.post("/accounts/reconcile/repair/", {"kind": "quota_mismatches", "domain": drift.domain})
    )
    assert job.state == Job.State.SUCCEEDED and imap.quota_get(drift.quota).limit_kib == 1024  # type: ignore[union-attr]

    # Orphans: not without the confirmation, and never through "repair".
    response = client.post("/accounts/reconcile/orphans/", {"uid": drift.orphan}, follow=True)
    assert "Tick the confirmation" in response.content.decode() and imap.mailbox_exists(drift.orphan)
    response = client.post("/accounts/reconcile/repair/", {"kind": "orphan_mailboxes"}, follow=True)
    assert "Choose what to repair" in response.content.decode() and imap.mailbox_exists(drift.orphan)
    job = job_of(client.post("/accounts/reconcile/orphans/", {"uid": drift.orphan, "confirm": "yes"}))
    assert job.state == Job.State.SUCCEEDED, job.error
    assert not imap.mailbox_exists(drift.orphan)

    for bad in ({"domain": "x,ou=admins"}, {"domain": "*)(uid=*"}):
        response = client.post("/accounts/reconcile/check/", bad, follow=True)
        assert 'class="msg error"' in response.content.decode()
    response = client.post("/accounts/reconcile/orphans/", {"uid": "*)(uid=*", "confirm": "yes"}, follow=True)
    assert 'class="msg error"' in response.content.decode()


@pytest.mark.django_db
def test_the_drift_check_is_for_administrators_only(personas: Personas, login: Login, drift: Drift) -> None:
    for persona in (personas.domain_admin_a, personas.group_admin, personas.user):
        client = login(persona)
        assert client.get("/accounts/reconcile/").status_code == 404
        assert client.post("/accounts/reconcile/check/", {}).status_code == 404
        assert client.post("/accounts/reconcile/repair/", {"kind": "missing_mailboxes"}).status_code == 404
        data = {"uid": drift.orphan, "confirm": "yes"}
        assert client.post("/accounts/reconcile/orphans/", data).status_code == 404
    assert imap.mailbox_exists(drift.orphan) and not imap.mailbox_exists(drift.lost)
    imap.mailbox_delete(drift.orphan)


def manage(*args: str) -> subprocess.CompletedProcess[str]:
    # The command writes audit rows: point it at this session's test database, as the worker fixture does.
    db = connection.settings_dict
    env = {**os.environ, "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"}
    return subprocess.run(
        [sys.executable, "manage.py", "reconcile", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
        env=env,
    )


@pytest.mark.django_db(transaction=True)
def test_the_command_reports_and_repairs(drift: Drift) -> None:
    found = manage("--domain", drift.domain)
    assert found.returncode == 1, found.stdout + found.stderr
    assert (
        f"missing mailbox: {drift.lost}" in found.stdout
        and f"orphan mailbox: user/{drift.orphan}" in found.stdout
    )
    assert f"quota mismatch: {drift.quota} directory=1024 cyrus=4096" in found.stdout
    fixed = manage("--domain", drift.domain, "--repair", "--delete-orphan", drift.orphan)
    assert "missing_mailboxes: 0" in fixed.stdout.split("after:")[1], fixed.stdout + fixed.stderr
    assert imap.mailbox_exists(drift.bare) and not imap.mailbox_exists(drift.orphan)
    assert imap.quota_get(drift.quota).limit_kib == 1024  # type: ignore[union-attr]
    assert ldaptool.attribute(drift.domain_dn, "mailAdministrator") == []
