"""Reads of "Scheduled tasks": the rows of the page, with the next run (Celery's crontab arithmetic in the
server's time zone) and the job each one started last. Two queries whatever the number of rows."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils import timezone

from backup.schedules.crontab import EVERY, FIELDS, next_run
from backup.schedules.kinds import Task
from backup.schedules.records import Record, ours, record_of
from mailadmin.jobs.models import Job
from mailadmin.jobs.selectors import is_job_id


@dataclass(frozen=True)
class ScheduleRow:
    record: Record
    task_label: str
    params: str
    when: list[tuple[str, str]]  # (field label, value); "" where the field is "every"
    next_run: datetime | None
    last_run_at: datetime | None
    run_count: int
    last_job: Job | None


def params_text(params: dict[str, object]) -> str:
    """The parameters on one line, values as JSON writes them (true, not True); empty ones left out."""
    shown = {k: v for k, v in params.items() if v not in ("", None)}
    parts = [f"{key}: {v if isinstance(v, str) else json.dumps(v)}" for key, v in sorted(shown.items())]
    return ", ".join(parts) or "—"


def _next(record: Record, now: datetime, shown_in: tzinfo) -> datetime | None:
    """In the zone of the row's crontab (what beat uses; the server's zone when it was saved), shown in the
    server's zone now."""
    if not record.enabled:
        return None
    try:
        own = ZoneInfo(record.zone) if record.zone else shown_in
    except (ValueError, ZoneInfoNotFoundError):
        own = shown_in
    when = next_run(record.crontab, now=now, tz=own)
    return when.astimezone(shown_in) if when is not None else None


def schedule_rows(*, now: datetime | None = None) -> list[ScheduleRow]:
    now = now or timezone.now()
    zone = timezone.get_default_timezone()
    tasks = list(ours().select_related("crontab").order_by("description", "pk"))
    records = [record_of(task) for task in tasks]
    job_ids = [r.last_job for r in records if r.last_job and is_job_id(r.last_job)]
    jobs = {str(job.pk): job for job in Job.objects.filter(pk__in=job_ids)}
    rows = []
    for task, record in zip(tasks, records, strict=True):
        values = [(str(spec.label), getattr(record.crontab, spec.name)) for spec in FIELDS]
        when = [(label, "" if value == EVERY else value) for label, value in values]
        rows.append(
            ScheduleRow(
                record=record,
                task_label=Task(record.type, record.kind, record.params).label,
                params=params_text(record.params),
                when=when,
                next_run=_next(record, now, zone),
                last_run_at=task.last_run_at,
                run_count=task.total_run_count,
                last_job=jobs.get(record.last_job),
            )
        )
    return rows


def schedule_get(schedule_id: int) -> Record | None:
    task = ours().select_related("crontab").filter(pk=schedule_id).first()
    return record_of(task) if task is not None else None
