"""A scheduled run acts as the schedule's owner with the roles the directory gives them at that moment: an
owner who is disabled, no longer an administrator or gone gets nothing run — the run is refused, logged,
audited, and the page says why."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from accounts import services as accounts
from accounts.services.account_settings import user_disable, user_enable
from accounts.services.roles import administrator_create
from backup.schedules.crontab import Crontab
from backup.schedules.kinds import task_build
from backup.schedules.selectors import schedule_get
from backup.schedules.services import ScheduleError, ScheduleInput, schedule_create, schedule_fire
from mailadmin.actor import Actor, Roles
from mailadmin.audit.models import AuditEntry
from mailadmin.directory import exists, roles_for
from mailadmin.jobs.models import Job
from tests.conftest import PASSWORD, Persona, Personas

pytestmark = pytest.mark.django_db


def _spec() -> ScheduleInput:
    return ScheduleInput(
        "Owner test", task_build("clean_temp", {"older_than_hours": 48}), Crontab(minute="5"), True
    )


def _refused(name: str, reason: str) -> None:
    jobs = Job.objects.count()
    assert schedule_fire(name=name) is None
    assert Job.objects.count() == jobs
    entry = AuditEntry.objects.filter(action="schedule_refused", target=name).order_by("-pk").first()
    assert entry is not None and not entry.ok and reason in entry.detail, entry and entry.detail
    assert entry.actor == "<scheduler>"


def test_runs_are_refused_once_the_owner_may_no_longer_run_them(
    stack: object, unique: Callable[[str], str], login: Callable[[Persona], Client], personas: Personas
) -> None:
    system = Actor.system("tests")
    uid = unique("owner")
    dn = administrator_create(actor=system, uid=uid, password=PASSWORD, last_name="Owner")
    try:
        owner = Actor(uid, dn, roles_for(dn))
        record = schedule_create(actor=owner, spec=_spec())
        job = schedule_fire(name=record.name)
        assert job is not None and (job.created_by, job.created_by_dn) == (uid, dn)
        assert job.params == {"older_than_hours": 48}

        user_disable(actor=system, dn=dn)
        _refused(record.name, f"the owner {uid} is disabled")
        user_enable(actor=system, dn=dn)
        assert schedule_fire(name=record.name) is not None

        accounts.administrator_remove(actor=system, account_dn=dn)
        _refused(record.name, f"the owner {uid} is no longer an administrator")
        stored = schedule_get(record.pk)
        assert stored is not None and "no longer an administrator" in stored.last_error
        page = login(personas.admin).get("/tools/backup/schedules/").content.decode()
        assert "Refused:" in page and "no longer an administrator" in page

        accounts.user_delete(actor=system, dn=dn)
        _refused(record.name, f"the owner {uid} no longer exists")
    finally:
        if exists(dn):
            accounts.user_delete(actor=system, dn=dn)


def test_a_disabled_or_deleted_schedule_runs_nothing(personas: Personas) -> None:
    admin = Actor(personas.admin.uid, personas.admin.dn, Roles(administrator=True))
    record = schedule_create(actor=admin, spec=ScheduleInput("Off", _spec().task, Crontab(), False))
    jobs = Job.objects.count()
    assert schedule_fire(name=record.name) is None  # a message beat sent before the task was disabled
    assert schedule_fire(name="mailadmin-schedule-gone") is None
    assert Job.objects.count() == jobs


def test_only_an_administrators_account_owns_a_schedule(personas: Personas) -> None:
    with pytest.raises(ScheduleError):
        schedule_create(actor=Actor.system("tests"), spec=_spec())  # no person behind it
    dana = Actor(
        personas.domain_admin_a.uid, personas.domain_admin_a.dn, roles_for(personas.domain_admin_a.dn)
    )
    with pytest.raises(ScheduleError):
        schedule_create(actor=dana, spec=_spec())
