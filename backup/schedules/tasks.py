"""The Celery task beat sends for every scheduled task: JSON kwargs in (the row's kwargs), only the row's name
used; the row itself says what to run and as whom (backup/schedules/services.py)."""

from __future__ import annotations

from celery import shared_task

from backup.schedules.records import TASK_NAME
from backup.schedules.services import schedule_fire


@shared_task(name=TASK_NAME, ignore_result=True, acks_late=False)
def run_scheduled(schedule: str = "", **_stored: object) -> None:
    schedule_fire(name=str(schedule))
