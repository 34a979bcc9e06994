"""Tools → Scheduled tasks (TLS-07): the pages as an administrator (create, change, enable/disable, Run now,
delete, each audited), the presets, what each task type starts, and every other persona refused with a 404
on every view, GET and POST, with nothing changed."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.test import Client
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from backup.schedules.crontab import Crontab, next_run
from backup.schedules.kinds import task_build
from backup.schedules.services import ScheduleInput, schedule_create, schedule_fire
from mailadmin.actor import Actor, Roles
from mailadmin.audit.models import AuditEntry
from mailadmin.jobs.models import Job
from tests.backup.schedtool import BASE, form, kwargs, snapshot
from tests.conftest import Persona, Personas

BACKUP = "backup.create"  # the backup part's job kind (backup/jobs.py); never run here (no worker)
Login = Callable[[Persona], Client]
pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(login: Login, personas: Personas) -> Client:
    return login(personas.admin)


def _admin_actor(personas: Personas) -> Actor:
    return Actor(personas.admin.uid, personas.admin.dn, Roles(administrator=True))


def _only(**filters: object) -> PeriodicTask:
    return PeriodicTask.objects.get(task="mailadmin.run_scheduled", **filters)


def _audit(action: str) -> AuditEntry:
    entry = AuditEntry.objects.filter(action=action).order_by("-pk").first()
    assert entry is not None, action
    return entry


def test_admin_creates_changes_disables_and_deletes(admin: Client, personas: Personas) -> None:
    assert "No scheduled tasks." in admin.get(BASE).content.decode()
    response = admin.post(f"{BASE}new/", form(label="Nightly configuration"))
    assert response.status_code == 302, response.content.decode()[:3000]
    task = _only(description="Nightly configuration")
    stored = kwargs(task)
    assert stored["type"] == "backup_cfg" and stored["kind"] == "backup.create"
    assert stored["params"] == {"what": "cfg", "domain": "", "compression": "zstd"}
    assert (stored["owner"], stored["owner_dn"]) == (personas.admin.uid, personas.admin.dn)
    assert stored["schedule"] == task.name and task.enabled
    cron = task.crontab
    assert (cron.minute, cron.hour, cron.day_of_month, cron.month_of_year, cron.day_of_week) == (
        "15",
        "3",
        "*",
        "*",
        "*",
    )
    assert str(cron.timezone) == "UTC"  # the server's time zone (settings.TIME_ZONE)
    created = _audit("schedule_create")
    assert created.before is None and created.after is not None
    assert created.after["crontab"] == "15 3 * * *" and created.actor == personas.admin.uid

    page = admin.get(BASE).content.decode()
    expected = next_run(
        Crontab(minute="15", hour="3"), now=timezone.now(), tz=timezone.get_default_timezone()
    )
    assert expected is not None
    assert "Nightly configuration" in page and "Backup configuration" in page
    assert date_format(expected, "Y-m-d H:i") in page and page.count(">every<") == 3
    assert "never" in page  # no run yet

    response = admin.post(
        f"{BASE}{task.pk}/",
        form(label="Mail every quarter hour", task="backup_mail", compression="xz", minute="*/15", hour=""),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    task.refresh_from_db()
    assert kwargs(task)["params"] == {"what": "mail", "domain": "", "compression": "xz"}
    assert task.crontab.minute == "*/15" and task.crontab.hour == "*" and task.crontab_id == cron.pk
    changed = _audit("schedule_update")
    assert changed.before and changed.after
    assert changed.before["crontab"] == "15 3 * * *" and changed.after["crontab"] == "*/15 * * * *"
    assert '"cfg"' in changed.before["params"] and '"mail"' in changed.after["params"]

    assert admin.post(f"{BASE}{task.pk}/enable/", {"enabled": "0"}).status_code == 302
    task.refresh_from_db()
    assert not task.enabled
    assert _audit("schedule_disable").after["enabled"] is False  # type: ignore[index]
    row = re.search(rf'<tr id="schedule-{task.pk}">.*?</tr>', admin.get(BASE).content.decode(), re.S)
    assert row is not None and 'class="next-run">—' in row.group(0) and "Enable" in row.group(0)

    assert admin.get(f"{BASE}{task.pk}/delete/").status_code == 200
    assert admin.post(f"{BASE}{task.pk}/delete/").status_code == 302
    assert not PeriodicTask.objects.filter(pk=task.pk).exists()
    assert not CrontabSchedule.objects.filter(pk=cron.pk).exists()
    deleted = _audit("schedule_delete")
    assert deleted.after is None and deleted.before and deleted.before["name"] == "Mail every quarter hour"


def test_presets_fill_the_fields_and_unset_fields_mean_every(admin: Client) -> None:
    before = snapshot()
    page = admin.post(f"{BASE}new/", form(preset="weekly", fill="1", minute="7", hour="")).content.decode()
    assert snapshot() == before  # "Fill in" saves nothing
    assert 'name="minute" value="0"' in page and 'name="day_of_week" value="0"' in page
    assert 'name="day_of_month" value="*"' in page
    page = admin.post(f"{BASE}new/", form(preset="disabled", fill="1")).content.decode()
    assert 'name="minute" value="15"' in page and not re.search(r'name="enabled"[^>]*checked', page)

    assert admin.post(f"{BASE}new/", form(label="Monthly", preset="monthly", minute="9")).status_code == 302
    cron = _only(description="Monthly").crontab
    assert (cron.minute, cron.hour, cron.day_of_month, cron.month_of_year, cron.day_of_week) == (
        "0",
        "0",
        "1",
        "*",
        "*",
    )
    every = form(label="Every minute", minute="", hour="")
    assert admin.post(f"{BASE}new/", every).status_code == 302
    cron = _only(description="Every minute").crontab
    assert (cron.minute, cron.hour, cron.day_of_month, cron.month_of_year, cron.day_of_week) == ("*",) * 5
    assert admin.post(f"{BASE}new/", form(label="Off", preset="disabled")).status_code == 302
    assert not _only(description="Off").enabled


HOSTILE = [
    ("minute", "60"),
    ("minute", "5\n"),
    ("minute", "\n5"),
    ("minute", "5\r\n0 * * * * evil"),
    ("minute", "5;rm -rf /"),
    ("minute", "$(reboot)"),
    ("minute", "*/0"),
    ("minute", "1-"),
    ("minute", "5-1"),
    ("minute", ",5"),
    ("minute", "1,,2"),
    ("minute", "*,5"),
    ("minute", "*/5/2"),
    ("minute", "1-2-3"),
    ("minute", "0x1f"),
    ("minute", "1e1"),
    ("minute", "\uff11"),  # a full-width digit
    ("minute", "\u0663"),  # an Arabic-Indic digit
    ("minute", "5\x00"),
    ("minute", "1 2"),
    ("minute", "123"),
    ("minute", "1," * 60 + "1"),
    ("hour", "24"),
    ("hour", "-1"),
    ("hour", "@daily"),
    ("day_of_month", "0"),
    ("day_of_month", "32"),
    ("day_of_month", "L"),
    ("month_of_year", "13"),
    ("month_of_year", "jan"),
    ("day_of_week", "7"),
    ("day_of_week", "mon"),
    ("day_of_week", "1#2"),
    ("day_of_week", "?"),
]


@pytest.mark.parametrize(("field", "value"), HOSTILE)
def test_hostile_crontab_fields_are_refused_and_nothing_is_written(
    admin: Client, personas: Personas, field: str, value: str
) -> None:
    record = schedule_create(
        actor=_admin_actor(personas),
        spec=ScheduleInput("Kept", task_build("clean_temp", {}), Crontab(minute="5"), True),
    )
    before = snapshot()
    for url in (f"{BASE}new/", f"{BASE}{record.pk}/"):
        response = admin.post(url, form(**{field: value}))
        assert response.status_code == 200
        assert 'role="alert"' in response.content.decode()
    assert snapshot() == before


def test_a_date_that_never_comes_is_refused(admin: Client) -> None:
    before = snapshot()
    page = admin.post(f"{BASE}new/", form(day_of_month="30,31", month_of_year="2")).content.decode()
    assert "would never run" in page and snapshot() == before


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"task": "backup_domain", "domain": ""}, "Give the name of one of the console"),
        ({"task": "backup_domain", "domain": "nowhere.invalid"}, "The console has no domain"),
        ({"task": "backup_domain", "domain": "a.test\nb.test"}, "Give the name of one of the console"),
        ({"task": "backup_mail", "compression": "bzip2"}, "Select a valid choice"),
        ({"task": "rotate_logs", "keep": "0"}, "greater than or equal to 1"),
        ({"task": "clean_temp", "older_than_hours": "-5"}, "greater than or equal to 1"),
        ({"task": "custom", "custom_kind": "accounts.bulk"}, "Select a valid choice"),
        ({"task": "custom", "custom_kind": "checkstack", "custom_params": '{"x": 1}'}, "takes no parameters"),
        ({"task": "custom", "custom_kind": "checkstack", "custom_params": "rm -rf /"}, "JSON object"),
        ({"task": "custom", "custom_kind": "checkstack", "custom_params": "[1]"}, "JSON object"),
        (
            {"task": "custom", "custom_kind": "housekeeping.rotate_logs", "custom_params": '{"keep": 1000}'},
            "Keep 1 to 100",
        ),
        (
            {"task": "custom", "custom_kind": "housekeeping.clean_temp", "custom_params": '{"cmd": "sh"}'},
            "Unknown parameters: cmd",
        ),
        ({"task": "shell"}, "Select a valid choice"),
        ({"label": "two\nlines"}, "printable"),
    ],
)
def test_bad_task_parameters_are_refused(admin: Client, values: dict[str, str], message: str) -> None:
    before = snapshot()
    response = admin.post(f"{BASE}new/", form(**values))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert snapshot() == before


@pytest.mark.parametrize(
    ("task", "what"),
    [("backup_cfg", "cfg"), ("backup_ldap", "ldap"), ("backup_mail", "mail"), ("backup_domain", "domain")],
)
def test_backup_tasks_start_backup_create_jobs(
    admin: Client, personas: Personas, domain: str, task: str, what: str
) -> None:
    name = domain if what == "domain" else ""
    response = admin.post(f"{BASE}new/", form(label=task, task=task, compression="gzip", domain=domain))
    assert response.status_code == 302, response.content.decode()[:3000]
    row = _only(description=task)
    params = {"what": what, "domain": name, "compression": "gzip"}
    assert kwargs(row)["params"] == params

    # Run now: the job starts at once, as the administrator who pressed it (no worker here: it only waits).
    response = admin.post(f"{BASE}{row.pk}/run/")
    assert response.status_code == 302 and response["Location"].startswith("/tools/jobs/")
    job = Job.objects.get(pk=response["Location"].rstrip("/").split("/")[-1])
    assert (job.kind, job.params, job.created_by) == (BACKUP, params, personas.admin.uid)
    assert job.domains == (f",{name}," if name else "")
    assert kwargs(row)["last_job"] == str(job.pk)
    ran = _audit("schedule_run_now")
    assert ran.after == {"job": str(job.pk)} and ran.target == row.name

    # What beat's message runs: the same job, as the schedule's owner.
    fired = schedule_fire(name=row.name)
    assert fired is not None and fired.pk != job.pk
    assert (fired.kind, fired.params, fired.created_by_dn) == (BACKUP, params, personas.admin.dn)
    page = admin.get(BASE).content.decode()
    assert f'href="/tools/jobs/{fired.pk}/"' in page


def test_custom_tasks_are_the_schedulable_job_kinds(admin: Client, personas: Personas) -> None:
    page = admin.get(f"{BASE}new/").content.decode()
    kinds = re.search(r'<select name="custom_kind".*?</select>', page, re.S)
    assert kinds is not None
    for offered in ("checkstack", "housekeeping.rotate_logs", "housekeeping.clean_temp"):
        assert f'value="{offered}"' in kinds.group(0)
    assert "accounts.bulk" not in kinds.group(0) and "backup.restore" not in kinds.group(0)
    custom = form(label="Check", task="custom", custom_kind="checkstack", custom_params="{}")
    assert admin.post(f"{BASE}new/", custom).status_code == 302
    job = schedule_fire(name=_only(description="Check").name)
    assert job is not None and (job.kind, job.params) == ("checkstack", {})


def test_other_tasks_rows_are_not_this_pages(admin: Client) -> None:
    """A PeriodicTask of something else (beat's own clean-up) is a 404 here, even to an administrator."""
    cron = CrontabSchedule.objects.create(minute="0", hour="4")
    other = PeriodicTask.objects.create(
        name="celery.backend_cleanup", task="celery.backend_cleanup", crontab=cron
    )
    before = snapshot()
    assert admin.get(f"{BASE}{other.pk}/").status_code == 404
    for action in ("", "delete/", "enable/", "run/"):
        assert admin.post(f"{BASE}{other.pk}/{action}", form()).status_code == 404
    assert admin.get(f"{BASE}999999/").status_code == 404
    assert snapshot() == before and PeriodicTask.objects.filter(pk=other.pk, enabled=True).exists()
    assert "celery.backend_cleanup" not in admin.get(BASE).content.decode()


def test_everyone_but_administrators_gets_404_and_nothing_changes(login: Login, personas: Personas) -> None:
    record = schedule_create(
        actor=_admin_actor(personas),
        spec=ScheduleInput(
            "Kept", task_build("backup_ldap", {"compression": "zstd"}), Crontab(minute="5"), True
        ),
    )
    before = snapshot()
    base = f"{BASE}{record.pk}/"
    for persona in (personas.domain_admin_a, personas.domain_admin_b, personas.group_admin, personas.user):
        client = login(persona)
        for url in (BASE, f"{BASE}new/", base, f"{base}delete/"):
            assert client.get(url).status_code == 404, (persona.key, url)
        posts = [
            (f"{BASE}new/", form()),
            (f"{BASE}new/", form(preset="daily", fill="1")),
            (base, form(minute="1")),
            (f"{base}delete/", {}),
            (f"{base}enable/", {"enabled": "0"}),
            (f"{base}run/", {}),
        ]
        for url, data in posts:
            assert client.post(url, data).status_code == 404, (persona.key, url)
        assert "/tools/backup/schedules/" not in client.get("/").content.decode()
    assert snapshot() == before


def test_the_pages_speak_german(admin: Client, personas: Personas) -> None:
    schedule_create(
        actor=_admin_actor(personas),
        spec=ScheduleInput("", task_build("rotate_logs", {"keep": 4}), Crontab(minute="5"), True),
    )
    admin.post("/i18n/setlang/", {"language": "de", "next": "/"})
    page = admin.get(BASE).content.decode()
    assert "Geplante Aufgabe anlegen" in page and "Nächster Lauf" in page and "Jetzt ausführen" in page
    assert "Protokolldateien rotieren" in page and ">jede<" in page
    page = admin.post(f"{BASE}new/", form(minute="99")).content.decode()
    assert "Minute: nur Zahlen von 0 bis 59." in page and "Wann es ausgeführt wird" in page
