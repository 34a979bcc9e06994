"""Which jobs a person may read and cancel.

Administrators: every job. Everyone else: their own jobs, and the jobs whose every touched object (the job's
`scopes`, DNs) lies inside their own domains (domain administrators) or groups (group administrators). A
job that names no scope — a queue action, a check of the whole system — is its owner's and the
administrators' only. So a domain administrator never reads, or cancels, an administrator's job that also
touches another domain.
"""

from __future__ import annotations

import uuid

from django.db.models import Q

from mailadmin.actor import Actor
from mailadmin.directory import dit
from mailadmin.jobs.models import Job

LIST_SIZE = 100
_CANDIDATES = 1000  # rows looked at to fill one list for a delegated administrator


def _owner(actor: Actor, job: Job) -> bool:
    return bool(actor.dn) and bool(job.created_by_dn) and dit.same_dn(job.created_by_dn, actor.dn)


def may_read_job(actor: Actor, job: Job) -> bool:
    if actor.roles.administrator or _owner(actor, job):
        return True
    bases = actor.roles.domains | actor.roles.groups
    scopes = [s for s in job.scopes if isinstance(s, str)]
    return bool(scopes) and bool(bases) and all(any(dit.is_inside(s, b) for b in bases) for s in scopes)


def visible_jobs(actor: Actor) -> list[Job]:
    """The newest jobs the actor may read (at most LIST_SIZE)."""
    jobs = Job.objects.all()
    if actor.roles.administrator:
        return list(jobs[:LIST_SIZE])
    # The database narrows to the actor's own jobs and those filed under one of their domains; the scope
    # check then decides.
    candidates = Q(created_by_dn=actor.dn) if actor.dn else Q(pk__in=[])
    for dn in actor.roles.domains | actor.roles.groups:
        if name := dit.domain_name(dn):
            candidates |= Q(domains__contains=f",{name},")
    found = [job for job in jobs.filter(candidates)[:_CANDIDATES] if may_read_job(actor, job)]
    return found[:LIST_SIZE]


def job_for(actor: Actor, job_id: str) -> Job | None:
    """The job if it exists and the actor may read it; None otherwise (the view answers 404 either way)."""
    try:
        job = Job.objects.get(pk=job_id)
    except (Job.DoesNotExist, ValueError):
        return None
    return job if may_read_job(actor, job) else None


def is_job_id(value: str) -> bool:
    """Whether `value` can be a job's id at all (a UUID): checked before it goes into a query."""
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True
