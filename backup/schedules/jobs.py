"""Job kinds of this part (registered by backup.apps): log rotation and temp clean-up, both schedulable. And
the Celery task beat sends for every scheduled task (imported here so the worker registers it: Celery's
autodiscovery looks for `backup.tasks` only)."""

from __future__ import annotations

from typing import Any

from backup.schedules import tasks as _tasks  # noqa: F401 - registers mailadmin.run_scheduled
from backup.schedules.logrotate import ROTATE_LOGS, RotateReport, check_rotate, log_files, rotate_file
from backup.schedules.tempclean import CLEAN_TEMP, check_clean, clean_temp, names_in_use
from mailadmin.actor import Actor
from mailadmin.directory import InvalidName
from mailadmin.jobs.services import JobContext, actor_for_job, job_kind


def _administrator(ctx: JobContext) -> Actor:
    """Housekeeping touches server files: only for someone who is an administrator now."""
    actor = actor_for_job(ctx.job.created_by, ctx.job.created_by_dn)
    if not actor.roles.administrator:
        raise InvalidName("Only administrators run housekeeping jobs.", "actor")
    return actor


def _params(ctx: JobContext) -> dict[str, Any]:
    return ctx.job.params if isinstance(ctx.job.params, dict) else {}


@job_kind(ROTATE_LOGS, "Rotate log files", schedulable=True, check=check_rotate)
def rotate_logs(ctx: JobContext) -> dict[str, Any]:
    _administrator(ctx)
    params = check_rotate(_params(ctx))
    files = log_files(daemons=params["daemons"])
    ctx.progress(0, len(files))
    report = RotateReport(rotated={}, skipped=[], failed={})
    for n, path in enumerate(files, 1):
        ctx.check_cancel()
        try:
            size = rotate_file(path, params["keep"])
        except OSError as exc:
            report.failed[str(path)] = exc.strerror or str(exc)
            ctx.log(f"FAILED {path}: {exc}", "error")
        else:
            if size is None:
                report.skipped.append(str(path))
            else:
                report.rotated[str(path)] = size
                ctx.log(f"Rotated {path} ({size} bytes), keeping {params['keep']} generations.")
        ctx.progress(n)
    ctx.log(f"Done: {len(report.rotated)} rotated, {len(report.skipped)} empty, {len(report.failed)} failed.")
    if report.failed:
        raise RuntimeError(f"{len(report.failed)} log file(s) could not be rotated (see the log).")
    return report.as_json()


@job_kind(CLEAN_TEMP, "Clean up temporary files", schedulable=True, check=check_clean)
def clean_temp_job(ctx: JobContext) -> dict[str, Any]:
    _administrator(ctx)
    params = check_clean(_params(ctx))
    report = clean_temp(older_than_hours=params["older_than_hours"], in_use=names_in_use(str(ctx.job.pk)))
    for path in report.removed[:1000]:
        ctx.log(f"Removed {path}")
    for path in report.kept_in_use[:1000]:
        ctx.log(f"Kept {path}: a waiting or running job uses it.")
    for path, error in report.failed.items():
        ctx.log(f"FAILED {path}: {error}", "error")
    ctx.log(f"Done: {len(report.removed)} removed, {len(report.failed)} failed.")
    ctx.progress(1, 1)
    if report.failed:
        raise RuntimeError(f"{len(report.failed)} item(s) could not be removed (see the log).")
    return report.as_json()
