"""Helpers for the "Scheduled tasks" tests: the form's POST data and a snapshot of everything a page could
change."""

from __future__ import annotations

import json
from typing import Any

from django_celery_beat.models import CrontabSchedule, PeriodicTask

from mailadmin.audit.models import AuditEntry
from mailadmin.jobs.models import Job

BASE = "/tools/backup/schedules/"


def form(**values: Any) -> dict[str, Any]:
    """A complete, valid form (a configuration backup every day at 03:15), with `values` on top."""
    data: dict[str, Any] = {
        "label": "",
        "task": "backup_cfg",
        "compression": "zstd",
        "domain": "",
        "keep": "7",
        "daemons": "on",
        "older_than_hours": "24",
        "custom_kind": "",
        "custom_params": "{}",
        "preset": "",
        "minute": "15",
        "hour": "3",
        "day_of_month": "",
        "month_of_year": "",
        "day_of_week": "",
        "enabled": "on",
    }
    data.update(values)
    return {k: v for k, v in data.items() if v is not None}


def snapshot() -> dict[str, Any]:
    """Everything a refused or failed request must leave as it was."""
    return {
        "tasks": sorted(
            (t.name, t.kwargs, t.enabled, t.description, t.crontab_id)
            for t in PeriodicTask.objects.filter(task="mailadmin.run_scheduled")
        ),
        "crontabs": sorted(
            (c.pk, c.minute, c.hour, c.day_of_month, c.month_of_year, c.day_of_week)
            for c in CrontabSchedule.objects.all()
        ),
        "jobs": Job.objects.count(),
        "audit": AuditEntry.objects.filter(action__startswith="schedule_").count(),
    }


def kwargs(task: PeriodicTask) -> dict[str, Any]:
    task.refresh_from_db()
    data: dict[str, Any] = json.loads(task.kwargs)
    return data
