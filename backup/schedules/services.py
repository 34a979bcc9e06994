"""Writes of "Scheduled tasks" (TLS-07), each audited with before and after, and the scheduled run itself.

A scheduled task belongs to the administrator who saved it last (its owner). Each run starts the job as that
owner, with roles read from the directory at that moment: an owner who is gone, disabled or no longer an
administrator gets nothing run in their name — the run is refused, logged and audited, and the page shows
why. "Run now" starts the job as the administrator who pressed it.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from backup.schedules.crontab import Crontab, CrontabError, crontab_check
from backup.schedules.kinds import ParamsError, Task, task_recheck
from backup.schedules.records import NAME_PREFIX, TASK_NAME, Record, kwargs_of, ours, record_of
from mailadmin.actor import Actor
from mailadmin.audit.services import audit_record
from mailadmin.directory import DirectoryError, dit, standing_for
from mailadmin.jobs.models import Job
from mailadmin.jobs.services import actor_for_job, job_kind_get, job_start

log = logging.getLogger(__name__)
MAX_LABEL = 100


class ScheduleError(Exception):
    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ScheduleNotFound(Exception):
    """No scheduled task of this page by that id (a view answers 404)."""


@dataclass(frozen=True)
class ScheduleInput:
    label: str
    task: Task
    crontab: Crontab
    enabled: bool


def _checked(spec: ScheduleInput) -> ScheduleInput:
    """Everything checked again here, whoever called: no row is written from input a form did not see."""
    label = spec.label.strip(" ")
    if len(label) > MAX_LABEL or any(not ch.isprintable() for ch in label):
        message = _("A name of at most %(max)d printable characters.") % {"max": MAX_LABEL}
        raise ScheduleError(message, "label")
    try:
        cron = crontab_check(spec.crontab.as_dict())
        task = task_recheck(spec.task.type, spec.task.kind, spec.task.params)
    except CrontabError as exc:
        raise ScheduleError(str(exc.message), exc.field) from exc
    except ParamsError as exc:
        raise ScheduleError(exc.message, exc.field) from exc
    return ScheduleInput(label or task.label, task, cron, spec.enabled)


def _owner(actor: Actor) -> tuple[str, str]:
    if not actor.dn or not actor.roles.administrator:
        raise ScheduleError(_("Only an administrator's account can own a scheduled task."))
    return actor.username, actor.dn


def _get_for_update(schedule_id: int) -> PeriodicTask:
    task = ours().select_for_update().filter(pk=schedule_id).first()
    if task is None:
        raise ScheduleNotFound(schedule_id)
    return task


def _kwargs(name: str, spec: ScheduleInput, actor: Actor, old: dict[str, Any] | None = None) -> str:
    owner, owner_dn = _owner(actor)
    data = dict(old or {})
    data.update(
        schedule=name,
        type=spec.task.type,
        kind=spec.task.kind,
        params=spec.task.params,
        owner=owner,
        owner_dn=owner_dn,
        last_error="",
    )
    data.setdefault("last_job", "")
    return json.dumps(data, sort_keys=True)


def _audit(actor: Actor, action: str, before: Record | None, after: Record | None) -> None:
    shown = after or before
    if shown is None:
        return
    task = Task(shown.type, shown.kind, shown.params)
    domains = [str(shown.params.get("domain"))] if shown.params.get("domain") else []
    audit_record(
        actor=actor,
        action=action,
        target=shown.name,
        domains=domains,
        before=before.audit_view() if before else None,
        after=after.audit_view() if after else None,
        detail=shown.label or task.label,
    )


def schedule_create(*, actor: Actor, spec: ScheduleInput) -> Record:
    spec = _checked(spec)
    name = NAME_PREFIX + uuid.uuid4().hex
    with transaction.atomic():
        cron = CrontabSchedule.objects.create(**spec.crontab.as_dict(), timezone=settings.TIME_ZONE)
        task = PeriodicTask.objects.create(
            name=name,
            task=TASK_NAME,
            crontab=cron,
            kwargs=_kwargs(name, spec, actor),
            enabled=spec.enabled,
            description=spec.label,
        )
        record = record_of(task)
        _audit(actor, "schedule_create", None, record)
    return record


def schedule_update(*, actor: Actor, schedule_id: int, spec: ScheduleInput) -> Record:
    spec = _checked(spec)
    with transaction.atomic():
        task = _get_for_update(schedule_id)
        before = record_of(task)
        cron = task.crontab
        if cron is None or PeriodicTask.objects.filter(crontab=cron).exclude(pk=task.pk).exists():
            cron = CrontabSchedule(timezone=settings.TIME_ZONE)  # never change a row another task uses
        for key, value in spec.crontab.as_dict().items():
            setattr(cron, key, value)
        cron.timezone = settings.TIME_ZONE
        cron.save()
        task.crontab = cron
        task.kwargs = _kwargs(task.name, spec, actor, kwargs_of(task))
        task.enabled = spec.enabled
        task.description = spec.label
        task.save()
        after = record_of(task)
        _audit(actor, "schedule_update", before, after)
    return after


def schedule_set_enabled(*, actor: Actor, schedule_id: int, enabled: bool) -> Record:
    with transaction.atomic():
        task = _get_for_update(schedule_id)
        before = record_of(task)
        task.enabled = enabled
        task.save()  # save(), not update(): beat hears of the change through the model's signal
        after = record_of(task)
        _audit(actor, "schedule_enable" if enabled else "schedule_disable", before, after)
    return after


def schedule_delete(*, actor: Actor, schedule_id: int) -> None:
    with transaction.atomic():
        task = _get_for_update(schedule_id)
        before = record_of(task)
        cron = task.crontab
        task.delete()
        if cron is not None and not PeriodicTask.objects.filter(crontab=cron).exists():
            cron.delete()
        _audit(actor, "schedule_delete", before, None)


def _remember(schedule_id: int, *, job: Job | None, error: str) -> None:
    """Note the last run in the row's kwargs. update(), not save(): this is no change beat must reload."""
    with transaction.atomic():
        task = PeriodicTask.objects.select_for_update().filter(pk=schedule_id).first()
        if task is None:
            return
        data = kwargs_of(task)
        if job is not None:
            data["last_job"] = str(job.pk)
        data["last_error"] = error
        PeriodicTask.objects.filter(pk=schedule_id).update(kwargs=json.dumps(data, sort_keys=True))


def _start(actor: Actor, task: Task) -> Job:
    if job_kind_get(task.kind) is None:
        raise ScheduleError(_("This console has no job %(kind)s.") % {"kind": task.kind})
    return job_start(
        actor=actor,
        kind=task.kind,
        params=task.params,
        domains=task.domains,
        scopes=[dit.domain_dn(d) for d in task.domains],
    )


def _rechecked(record: Record) -> Task:
    try:
        return task_recheck(record.type, record.kind, record.params)
    except ParamsError as exc:
        raise ScheduleError(exc.message, exc.field) from exc


def schedule_run_now(*, actor: Actor, schedule_id: int) -> Job:
    """Start the task's job at once, as the administrator who asked."""
    record = schedule_get_record(schedule_id)
    job = _start(actor, _rechecked(record))
    _remember(record.pk, job=job, error="")
    audit_record(
        actor=actor,
        action="schedule_run_now",
        target=record.name,
        domains=[str(record.params["domain"])] if record.params.get("domain") else [],
        before=record.audit_view(),
        after={"job": str(job.pk)},
        detail=record.label,
    )
    return job


def schedule_get_record(schedule_id: int) -> Record:
    task = ours().select_related("crontab").filter(pk=schedule_id).first()
    if task is None:
        raise ScheduleNotFound(schedule_id)
    return record_of(task)


def _owner_refusal(record: Record) -> str:
    """Why the owner may not run this now ("" when they may)."""
    try:
        standing = standing_for(record.owner_dn)
    except DirectoryError as exc:
        return f"the directory could not be asked about the owner ({exc})"
    if not standing.exists:
        return f"the owner {record.owner} no longer exists"
    if standing.disabled:
        return f"the owner {record.owner} is disabled"
    if not standing.roles.administrator:
        return f"the owner {record.owner} is no longer an administrator"
    return ""


def _refuse(record: Record, reason: str) -> None:
    log.warning("scheduled task %s (%s) refused: %s", record.name, record.label, reason)
    audit_record(
        actor=Actor.system("scheduler"),
        action="schedule_refused",
        target=record.name,
        before=record.audit_view(),
        ok=False,
        detail=reason,
    )
    stamp = timezone.localtime().strftime("%Y-%m-%d %H:%M")
    _remember(record.pk, job=None, error=f"{stamp}: {reason}")


def schedule_fire(*, name: str) -> Job | None:
    """What beat's message runs (in the worker): the task's job as its owner, or a logged refusal."""
    task = ours().select_related("crontab").filter(name=name).first()
    if task is None or not task.enabled:
        log.info("scheduled task %s is gone or disabled; nothing run", name)
        return None
    record = record_of(task)
    reason = _owner_refusal(record)
    if reason:
        _refuse(record, reason)
        return None
    try:
        job = _start(actor_for_job(record.owner, record.owner_dn), _rechecked(record))
    except ScheduleError as exc:
        _refuse(record, exc.message)
        return None
    _remember(record.pk, job=job, error="")
    log.info("scheduled task %s started job %s (%s)", name, job.pk, job.kind)
    return job
