"""How a scheduled task is stored: one django-celery-beat PeriodicTask (task `mailadmin.run_scheduled`) with
its own CrontabSchedule in the server's time zone; the rest lives in the task's kwargs, as JSON:

    {"schedule": "<the row's name>", "type": "backup_mail", "kind": "backup.create",
     "params": {...}, "owner": "<login>", "owner_dn": "<DN>",
     "last_job": "<job id or empty>", "last_error": "<why the last run was refused, or empty>"}

Beat passes the kwargs to the task as they are; the task reads only "schedule" and loads the row again, so a
message sent before an edit cannot run the old parameters. Rows of other tasks are never shown or touched.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django_celery_beat.models import PeriodicTask

from backup.schedules.crontab import Crontab

TASK_NAME = "mailadmin.run_scheduled"
NAME_PREFIX = "mailadmin-schedule-"


@dataclass(frozen=True)
class Record:
    pk: int
    name: str
    label: str
    type: str
    kind: str
    params: dict[str, Any]
    owner: str
    owner_dn: str
    last_job: str
    last_error: str
    enabled: bool
    crontab: Crontab
    zone: str = ""  # the crontab's own time zone: what beat reads the fields in

    def audit_view(self) -> dict[str, Any]:
        return {
            "name": self.label,
            "task": self.type,
            "kind": self.kind,
            "params": json.dumps(self.params, sort_keys=True),
            "crontab": str(self.crontab),
            "enabled": self.enabled,
            "owner": self.owner,
        }


def kwargs_of(task: PeriodicTask) -> dict[str, Any]:
    try:
        data = json.loads(task.kwargs or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def record_of(task: PeriodicTask) -> Record:
    data = kwargs_of(task)
    cron = task.crontab
    params = data.get("params")
    return Record(
        pk=task.pk,
        name=task.name,
        label=task.description,
        type=str(data.get("type", "")),
        kind=str(data.get("kind", "")),
        params=params if isinstance(params, dict) else {},
        owner=str(data.get("owner", "")),
        owner_dn=str(data.get("owner_dn", "")),
        last_job=str(data.get("last_job", "")),
        last_error=str(data.get("last_error", "")),
        enabled=task.enabled,
        crontab=Crontab(
            minute=cron.minute,
            hour=cron.hour,
            day_of_month=cron.day_of_month,
            month_of_year=cron.month_of_year,
            day_of_week=cron.day_of_week,
        )
        if cron is not None
        else Crontab(),
        zone=str(cron.timezone) if cron is not None else "",
    )


def ours() -> Any:
    """The PeriodicTask rows that are scheduled tasks of this page (never beat's own, never others')."""
    return PeriodicTask.objects.filter(task=TASK_NAME, name__startswith=NAME_PREFIX)
