"""Job kinds of the import pipeline: checking an upload (the report) and creating its accepted entries.

Thin handlers: load the run named by the job, rebuild the actor from the directory (never from the job's
word about roles), call the pipeline, and leave the run in an ended or waiting state whatever happens.
Registered by `migration.apps.MigrationConfig.ready`.
"""

from __future__ import annotations

import logging
from typing import Any

from mailadmin.jobs.services import JobCancelled, JobContext, actor_for_job, job_kind
from migration.checking import check_run
from migration.creating import ImportStopped, create_run
from migration.models import ImportRun
from migration.pipeline import CHECK_JOB, CREATE_JOB, end_run

log = logging.getLogger(__name__)


def _run(ctx: JobContext, status: str) -> ImportRun:
    params = ctx.job.params if isinstance(ctx.job.params, dict) else {}
    run = ImportRun.objects.filter(pk=str(params.get("run", "")), status=status).first()
    if run is None:
        raise LookupError("The import this job belongs to is gone or not in the right state.")
    return run


@job_kind(CHECK_JOB, "Check an import file")
def check(ctx: JobContext) -> dict[str, Any]:
    run = _run(ctx, ImportRun.Status.CHECKING)
    try:
        actor = actor_for_job(ctx.job.created_by, ctx.job.created_by_dn)
        ctx.log(f"Checking {run.filename} ({run.size} bytes) for {run.container_dn}")
        run = check_run(run, actor, tick=ctx.progress, cancelled=ctx.check_cancel)
    except JobCancelled:
        end_run(run.pk, ImportRun.Status.DISCARDED, from_states=(ImportRun.Status.CHECKING,))
        raise
    except Exception as exc:
        end_run(run.pk, ImportRun.Status.FAILED, from_states=(ImportRun.Status.CHECKING,), error=str(exc))
        raise
    ctx.progress(1, 1)
    ctx.log(f"{run.total} entries: {run.accepted} accepted, {run.refused} refused.")
    return {"run": str(run.pk), "total": run.total, "accepted": run.accepted, "refused": run.refused}


@job_kind(CREATE_JOB, "Import accounts")
def create(ctx: JobContext) -> dict[str, Any]:
    run = _run(ctx, ImportRun.Status.RUNNING)
    try:
        actor = actor_for_job(ctx.job.created_by, ctx.job.created_by_dn)
        ctx.log(f"Creating the accepted entries of {run.filename} in {run.container_dn}")
        counts = create_run(run, actor, progress=ctx.progress, cancelled=ctx.check_cancel, say=ctx.log)
    except JobCancelled:
        end_run(run.pk, ImportRun.Status.CANCELLED, from_states=(ImportRun.Status.RUNNING,))
        raise
    except ImportStopped as exc:
        end_run(run.pk, ImportRun.Status.FAILED, from_states=(ImportRun.Status.RUNNING,), error=str(exc))
        raise
    except Exception as exc:
        end_run(run.pk, ImportRun.Status.FAILED, from_states=(ImportRun.Status.RUNNING,), error=str(exc))
        raise
    end_run(run.pk, ImportRun.Status.DONE, from_states=(ImportRun.Status.RUNNING,))
    ctx.log(f"Done: {counts['created']} created, {counts['failed']} failed.")
    return {"run": str(run.pk), **counts}
