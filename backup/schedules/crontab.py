"""The five crontab fields of a scheduled task, as the manual describes them: a field that is not set means
"every" (`*`); set the minute and the task runs hourly, the hour too and it runs daily, and so on.

Only what Unix crontab and Celery both read the same way passes: numbers in range, lists (`1,5`), ranges
(`1-5`), ranges with a step (`1-30/5`) and steps over everything (`*/15`). Names (`mon`), `?`, `L`, spaces,
newlines and anything else are refused, so the value stored in the django-celery-beat row is exactly what the
page showed. The next run is computed by Celery's own crontab (what beat uses), in the server's time zone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING

from celery.schedules import crontab
from celery.utils.time import remaining
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrPromise

EVERY = "*"
MAX_LENGTH = 100
_ITEM = r"[0-9]{1,2}(?:-[0-9]{1,2}(?:/[0-9]{1,2})?)?"
_SYNTAX = re.compile(rf"\*(?:/[0-9]{{1,2}})?|{_ITEM}(?:,{_ITEM})*")


class CrontabError(Exception):
    def __init__(self, message: str | StrPromise, field: str | None = None) -> None:
        super().__init__(str(message))
        self.message = message
        self.field = field


@dataclass(frozen=True)
class FieldSpec:
    name: str  # also the django-celery-beat CrontabSchedule field
    label: StrPromise
    low: int
    high: int
    help: StrPromise


FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("minute", _("Minute"), 0, 59, _("0–59")),
    FieldSpec("hour", _("Hour"), 0, 23, _("0–23")),
    FieldSpec("day_of_month", _("Day of month"), 1, 31, _("1–31")),
    FieldSpec("month_of_year", _("Month"), 1, 12, _("1–12")),
    FieldSpec("day_of_week", _("Day of week"), 0, 6, _("0–6, 0 = Sunday")),
)


@dataclass(frozen=True)
class Crontab:
    minute: str = EVERY
    hour: str = EVERY
    day_of_month: str = EVERY
    month_of_year: str = EVERY
    day_of_week: str = EVERY

    def __str__(self) -> str:
        return " ".join(getattr(self, f.name) for f in FIELDS)

    def as_dict(self) -> dict[str, str]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


# The manual's presets. "Disabled" keeps the fields and switches the task off.
PRESETS: dict[str, Crontab] = {
    "hourly": Crontab(minute="0"),
    "daily": Crontab(minute="0", hour="0"),
    "weekly": Crontab(minute="0", hour="0", day_of_week="0"),
    "monthly": Crontab(minute="0", hour="0", day_of_month="1"),
}
PRESET_CHOICES: tuple[tuple[str, StrPromise], ...] = (
    ("disabled", _("Disabled")),
    ("hourly", _("Hourly")),
    ("daily", _("Daily")),
    ("weekly", _("Weekly")),
    ("monthly", _("Monthly")),
)


def check_field(spec: FieldSpec, value: str) -> str:
    """The field's value as stored: blank is "every" (`*`); anything outside the grammar or the range is
    refused with a message naming the field."""
    text = value.strip(" ") if isinstance(value, str) else ""
    if not text:
        return EVERY
    if len(text) > MAX_LENGTH or not _SYNTAX.fullmatch(text):
        raise CrontabError(
            _(
                "%(field)s: use a number, a list (1,5), a range (1-5), a step (*/15) or leave it empty for "
                "every; nothing else."
            )
            % {"field": spec.label},
            spec.name,
        )
    for item in text.split(","):
        base, _slash, step = item.partition("/")
        if step and int(step) < 1:
            raise CrontabError(_("%(field)s: a step must be 1 or more.") % {"field": spec.label}, spec.name)
        if base == EVERY:
            continue
        low, _dash, high = base.partition("-")
        numbers = [int(low), int(high)] if high else [int(low)]
        if any(n < spec.low or n > spec.high for n in numbers):
            raise CrontabError(
                _("%(field)s: numbers from %(low)d to %(high)d only.")
                % {"field": spec.label, "low": spec.low, "high": spec.high},
                spec.name,
            )
        if high and int(low) > int(high):
            raise CrontabError(
                _("%(field)s: a range goes from the smaller number to the larger.") % {"field": spec.label},
                spec.name,
            )
    return text


def crontab_check(values: dict[str, str]) -> Crontab:
    """All five fields checked; then Celery must find a time they all meet (31 February never comes)."""
    checked = Crontab(**{spec.name: check_field(spec, values.get(spec.name, "")) for spec in FIELDS})
    if next_run(checked, now=datetime(2000, 1, 1).astimezone()) is None:
        raise CrontabError(_("No date matches these day and month fields: the task would never run."))
    return checked


def with_preset(current: Crontab, preset: str) -> Crontab:
    """The fields a preset fills in (the others back to "every"); "disabled" leaves them as they are."""
    chosen = PRESETS.get(preset)
    return current if chosen is None else replace(chosen)


def _schedule(cron: Crontab, now: datetime) -> crontab:
    return crontab(
        minute=cron.minute,
        hour=cron.hour,
        day_of_month=cron.day_of_month,
        month_of_year=cron.month_of_year,
        day_of_week=cron.day_of_week,
        nowfun=lambda: now,
    )


def next_run(cron: Crontab, *, now: datetime, tz: tzinfo | None = None) -> datetime | None:
    """When beat starts the task next after `now`, in `tz` (the server's time zone); None when never.
    The same arithmetic as Celery's `crontab.is_due` (remaining_delta + remaining), so the page agrees with
    what beat does, including Celery's reading of day of month AND day of week together."""
    zone = tz or now.tzinfo
    if zone is None:
        raise ValueError("next_run needs an aware datetime")
    local = now.astimezone(zone)
    try:
        start, delta, current = _schedule(cron, local).remaining_delta(local, tz=zone)
        # Add in UTC: Python adds a timedelta to an aware datetime on the wall clock, which is an hour off
        # across a daylight-saving change.
        return (now.astimezone(UTC) + remaining(start, delta, current)).astimezone(zone)
    except (RuntimeError, ValueError, OverflowError):
        return None
