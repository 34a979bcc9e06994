"""The crontab fields (TLS-07): "every" until set, the presets, the grammar, and the next run as beat computes
it, in the server's time zone (daylight-saving changes included)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from backup.schedules.crontab import (
    FIELDS,
    PRESETS,
    Crontab,
    CrontabError,
    check_field,
    crontab_check,
    next_run,
    with_preset,
)
from backup.schedules.kinds import task_build
from backup.schedules.selectors import schedule_rows
from backup.schedules.services import ScheduleInput, schedule_create
from mailadmin.actor import Actor, Roles
from tests.conftest import Personas

BERLIN = ZoneInfo("Europe/Berlin")
MINUTE, HOUR, DOM, MONTH, DOW = FIELDS


@pytest.mark.parametrize(
    ("spec", "value", "stored"),
    [
        (MINUTE, "", "*"),
        (MINUTE, "*", "*"),
        (MINUTE, "0", "0"),
        (MINUTE, "59", "59"),
        (MINUTE, "1,5", "1,5"),
        (MINUTE, "1-5", "1-5"),
        (MINUTE, "*/15", "*/15"),
        (MINUTE, "0-30/10,45", "0-30/10,45"),
        (MINUTE, " 7 ", "7"),
        (HOUR, "23", "23"),
        (DOM, "1,15,31", "1,15,31"),
        (MONTH, "1-12/3", "1-12/3"),
        (DOW, "0-6", "0-6"),
    ],
)
def test_accepted_fields(spec: object, value: str, stored: str) -> None:
    assert check_field(spec, value) == stored  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("spec", "value"),
    [
        (MINUTE, "60"),
        (MINUTE, "5\n"),
        (MINUTE, "5\t"),
        (MINUTE, "*/0"),
        (MINUTE, "5-1"),
        (MINUTE, "1-2-3"),
        (MINUTE, "*,1"),
        (MINUTE, "1/5"),
        (MINUTE, "\u0665"),
        (HOUR, "24"),
        (DOM, "0"),
        (DOM, "32"),
        (MONTH, "0"),
        (MONTH, "dec"),
        (DOW, "7"),
        (DOW, "sun"),
    ],
)
def test_refused_fields_name_the_field(spec: object, value: str) -> None:
    with pytest.raises(CrontabError) as caught:
        check_field(spec, value)  # type: ignore[arg-type]
    assert caught.value.field == spec.name  # type: ignore[attr-defined]
    assert str(spec.label) in str(caught.value.message)  # type: ignore[attr-defined]


def test_presets_follow_the_manual() -> None:
    assert str(PRESETS["hourly"]) == "0 * * * *"
    assert str(PRESETS["daily"]) == "0 0 * * *"
    assert str(PRESETS["weekly"]) == "0 0 * * 0"
    assert str(PRESETS["monthly"]) == "0 0 1 * *"
    mine = Crontab(minute="5", hour="4")
    assert with_preset(mine, "disabled") == mine  # Disabled switches off, it does not touch the fields
    assert crontab_check({}) == Crontab()  # nothing set: every minute


def test_setting_fields_narrows_the_interval_as_the_manual_says() -> None:
    now = datetime(2026, 1, 14, 10, 7, 30, tzinfo=UTC)  # a Wednesday

    def after(cron: Crontab) -> datetime | None:
        return next_run(cron, now=now, tz=UTC)

    assert after(Crontab()) == datetime(2026, 1, 14, 10, 8, tzinfo=UTC)
    assert after(Crontab(minute="5")) == datetime(2026, 1, 14, 11, 5, tzinfo=UTC)  # hourly
    assert after(Crontab(minute="5", hour="9")) == datetime(2026, 1, 15, 9, 5, tzinfo=UTC)  # daily
    weekly = Crontab(minute="5", hour="9", day_of_week="1")
    assert after(weekly) == datetime(2026, 1, 19, 9, 5, tzinfo=UTC)  # Monday
    monthly = Crontab(minute="5", hour="9", day_of_month="1")
    assert after(monthly) == datetime(2026, 2, 1, 9, 5, tzinfo=UTC)
    yearly = Crontab(minute="5", hour="9", day_of_month="1", month_of_year="1")
    assert after(yearly) == datetime(2027, 1, 1, 9, 5, tzinfo=UTC)
    assert after(Crontab(minute="*/15")) == datetime(2026, 1, 14, 10, 15, tzinfo=UTC)


def test_next_run_is_in_the_servers_time_zone_across_daylight_saving() -> None:
    winter = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
    nightly = next_run(Crontab(minute="30", hour="2"), now=winter, tz=BERLIN)
    assert nightly == datetime(2026, 1, 11, 2, 30, tzinfo=BERLIN)
    assert nightly is not None and nightly.astimezone(UTC) == datetime(2026, 1, 11, 1, 30, tzinfo=UTC)
    # Monthly at midnight, asked in March (CET) for 1 April (CEST): still midnight on the wall clock.
    monthly = next_run(PRESETS["monthly"], now=datetime(2026, 3, 15, tzinfo=UTC), tz=BERLIN)
    assert monthly is not None and monthly.utcoffset() is not None
    assert (monthly.month, monthly.day, monthly.hour, monthly.minute) == (4, 1, 0, 0)
    assert monthly.astimezone(UTC) == datetime(2026, 3, 31, 22, 0, tzinfo=UTC)


def test_a_date_that_never_comes_is_refused() -> None:
    assert next_run(Crontab(day_of_month="30", month_of_year="2"), now=timezone.now()) is None
    with pytest.raises(CrontabError):
        crontab_check({"day_of_month": "31", "month_of_year": "4,6,9,11"})


@pytest.mark.django_db
def test_the_list_shows_the_next_run_in_the_servers_zone(settings: object, personas: Personas) -> None:
    settings.TIME_ZONE = "Europe/Berlin"  # type: ignore[attr-defined]
    admin = Actor(personas.admin.uid, personas.admin.dn, Roles(administrator=True))
    record = schedule_create(
        actor=admin,
        spec=ScheduleInput("Nightly", task_build("clean_temp", {}), Crontab(minute="30", hour="2"), True),
    )
    (row,) = [
        r for r in schedule_rows(now=datetime(2026, 1, 10, 12, 0, tzinfo=UTC)) if r.record.pk == record.pk
    ]
    assert row.next_run == datetime(2026, 1, 11, 2, 30, tzinfo=BERLIN)
    assert row.when[0][1] == "30" and row.when[2][1] == ""  # "every"


@pytest.mark.django_db
def test_the_next_run_follows_the_crontabs_own_zone_after_the_server_changes_zone(
    settings: object, personas: Personas
) -> None:
    """Beat reads each crontab in the zone it was saved with; the page must agree, shown in today's zone."""
    settings.TIME_ZONE = "Europe/Berlin"  # type: ignore[attr-defined]
    admin = Actor(personas.admin.uid, personas.admin.dn, Roles(administrator=True))
    record = schedule_create(
        actor=admin,
        spec=ScheduleInput("Nightly", task_build("clean_temp", {}), Crontab(minute="30", hour="2"), True),
    )
    settings.TIME_ZONE = "UTC"  # type: ignore[attr-defined]
    rows = schedule_rows(now=datetime(2026, 1, 10, 12, 0, tzinfo=UTC))
    (row,) = [r for r in rows if r.record.pk == record.pk]
    assert row.next_run == datetime(2026, 1, 11, 1, 30, tzinfo=UTC)
    assert row.next_run is not None and row.next_run.utcoffset() == timedelta(0)
