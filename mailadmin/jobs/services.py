"""Starting, running and cancelling jobs. Handlers register by kind; the Celery task is thin."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from mailadmin import directory
from mailadmin.actor import Actor
from mailadmin.audit.services import audit_record
from mailadmin.directory import InvalidName, dit
from mailadmin.jobs.models import Job, JobLogLine

log = logging.getLogger(__name__)


class JobCancelled(Exception):
    """Raised inside a handler by `JobContext.check_cancel` when someone pressed Cancel."""


@dataclass
class JobContext:
    job: Job

    def log(self, text: str, level: str = "info") -> None:
        JobLogLine.objects.create(job=self.job, text=text[:10000], level=level)

    def progress(self, done: int, total: int | None = None) -> None:
        fields = {"done": done}
        if total is not None:
            fields["total"] = total
        Job.objects.filter(pk=self.job.pk).update(**fields)
        self.job.done = done
        if total is not None:
            self.job.total = total

    def check_cancel(self) -> None:
        if Job.objects.filter(pk=self.job.pk, cancel_requested=True).exists():
            raise JobCancelled


Handler = Callable[[JobContext], dict[str, Any] | None]
# Checks a job's parameters and returns them cleaned; raises InvalidName (or ValueError) with a message.
ParamsCheck = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class JobKind:
    kind: str
    title: str
    handler: Handler
    # May "Scheduled tasks" start it (as a custom task)? Only with parameters `check` accepts; a schedulable
    # kind without a checker takes no parameters at all.
    schedulable: bool = False
    check: ParamsCheck | None = None


_REGISTRY: dict[str, JobKind] = {}


def job_kind(
    kind: str, title: str, *, schedulable: bool = False, check: ParamsCheck | None = None
) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        _REGISTRY[kind] = JobKind(kind, title, handler, schedulable, check)
        return handler

    return register


def job_kind_get(kind: str) -> JobKind | None:
    return _REGISTRY.get(kind)


def schedulable_kinds() -> list[JobKind]:
    """The kinds an administrator may schedule, by title."""
    return sorted((k for k in _REGISTRY.values() if k.schedulable), key=lambda k: k.title)


def actor_for_job(username: str, dn: str, ip: str = "") -> Actor:
    """The person who started a job, with their roles as the directory says NOW (not as the form said)."""
    if not dn or not dit.valid_dn(dn):
        raise InvalidName("This job has no valid person behind it.", "actor")
    return Actor(username=username, dn=dn, roles=directory.roles_for(dn), ip=ip)


def job_start(
    *,
    actor: Actor,
    kind: str,
    params: dict[str, Any] | None = None,
    domains: Iterable[str] = (),
    scopes: Iterable[str] = (),
) -> Job:
    """Create the job row and enqueue it once the row is committed. `scopes`: the DNs (entries or subtrees)
    the job touches — what another delegated administrator's scope must cover to read or cancel it."""
    spec = _REGISTRY[kind]
    names = sorted({d.lower() for d in domains})
    job = Job.objects.create(
        scopes=sorted({dit.normalize_dn(s) for s in scopes if dit.valid_dn(s)}),
        kind=kind,
        title=str(spec.title),
        params=params or {},
        created_by=actor.username,
        created_by_dn=actor.dn,
        domains=("," + ",".join(names) + ",") if names else "",
    )
    audit_record(actor=actor, action="job_start", target=str(job.pk), domains=names, after={"kind": kind})
    from mailadmin.jobs.tasks import run_job

    transaction.on_commit(lambda: run_job.delay(str(job.pk)))
    return job


def job_cancel(*, actor: Actor, job: Job) -> None:
    if job.finished:
        return
    Job.objects.filter(pk=job.pk).update(cancel_requested=True)
    # A job still waiting in the queue is cancelled at once; a running one stops at its next check.
    Job.objects.filter(pk=job.pk, state=Job.State.PENDING).update(
        state=Job.State.CANCELLED, finished_at=timezone.now()
    )
    audit_record(actor=actor, action="job_cancel", target=str(job.pk), domains=job.domains.split(","))


def job_run(job_id: str) -> None:
    """Run one job to its end (called by the Celery task). Never raises: the outcome is in the row."""
    claimed = Job.objects.filter(pk=job_id, state=Job.State.PENDING).update(
        state=Job.State.RUNNING, started_at=timezone.now()
    )
    if not claimed:
        return  # cancelled before it started, or delivered twice
    job = Job.objects.get(pk=job_id)
    ctx = JobContext(job)
    spec = _REGISTRY.get(job.kind)
    try:
        if spec is None:
            raise LookupError(f"unknown job kind {job.kind!r}")
        result = spec.handler(ctx)
    except JobCancelled:
        ctx.log("Cancelled.", "warning")
        state, result, error = Job.State.CANCELLED, None, ""
    except Exception as exc:
        log.exception("job %s (%s) failed", job.pk, job.kind)
        ctx.log(f"Failed: {exc}", "error")
        state, result, error = Job.State.FAILED, None, str(exc)
    else:
        state, error = Job.State.SUCCEEDED, ""
    Job.objects.filter(pk=job.pk).update(state=state, result=result, error=error, finished_at=timezone.now())
