"""Job kinds of backups and restores: thin handlers that rebuild the actor from the directory, check again
what it may do (the job's word is not trusted), and run the work with the job's progress, Cancel and log.

A restore holds the restore lock (backup.locks) for its whole run and reads the file whole first (every
member against the manifest) before it changes anything. If it fails or is cancelled, what it did is undone
before the job ends; if its worker is killed, `undo_interrupted` (run when a worker starts) undoes it and
says so in the job.
"""

from __future__ import annotations

import logging
import shutil
from datetime import timedelta
from typing import Any

from celery.signals import worker_ready
from django.utils import timezone
from django.utils.translation import gettext as _

from backup import archive, catalogue, locks, making, services
from backup.making import Hooks
from backup.models import Backup
from backup.restoring import mail as mail_restore
from backup.restoring import run as restore_run
from mailadmin.audit.services import audit_record
from mailadmin.jobs.models import Job, JobLogLine
from mailadmin.jobs.selectors import is_job_id
from mailadmin.jobs.services import JobContext, actor_for_job, job_kind

log = logging.getLogger(__name__)


def _hooks(ctx: JobContext) -> Hooks:
    return Hooks(progress=ctx.progress, check_cancel=ctx.check_cancel, log=lambda text: ctx.log(text))


def _params(ctx: JobContext) -> dict[str, Any]:
    return ctx.job.params if isinstance(ctx.job.params, dict) else {}


@job_kind(services.CREATE_JOB, "Backup", schedulable=True, check=services.check_params)
def create(ctx: JobContext) -> dict[str, Any]:
    params = _params(ctx)
    actor = actor_for_job(ctx.job.created_by, ctx.job.created_by_dn)
    what, domain = str(params.get("what", "")), str(params.get("domain", ""))
    users = [str(u) for u in params.get("users") or []]
    compression = str(params.get("compression", ""))
    services.check_create(actor, what, domain, users, compression)
    ctx.log(
        f"Backing up {what}"
        + (f" of {domain}" if domain else "")
        + (f" for {', '.join(users)}" if users else "")
    )
    with locks.running(str(ctx.job.pk)):  # a worker that dies drops it: the next one can tell (below)
        path, manifest = making.make(
            what,
            compression=compression,
            domain=domain,
            users=users,
            made_by=actor.username,
            hooks=_hooks(ctx),
        )
        row = catalogue.register(path, manifest, origin=Backup.Origin.MADE, created_by=actor.username)
    ctx.log(f"Written {row.name} ({row.size} bytes, {manifest.get('members_count', 0)} members)")
    Job.objects.filter(pk=ctx.job.pk).update(result_file=row.name)  # shown on the job's page
    removed = catalogue.apply_retention(row.kind)
    if removed:
        ctx.log(f"Retention removed: {', '.join(removed)}")
    audit_record(
        actor=actor,
        action="backup.create",
        target=row.name,
        domains=row.domain_list(),
        after={"kind": row.kind, "size": row.size, "sha256": row.sha256},
    )
    return {"backup": row.pk, "name": row.name, "size": row.size, "removed": removed, **manifest["counts"]}


@job_kind(services.RESTORE_JOB, "Restore")
def restore(ctx: JobContext) -> dict[str, Any]:
    params = _params(ctx)
    actor = actor_for_job(ctx.job.created_by, ctx.job.created_by_dn)
    backup = Backup.objects.filter(pk=int(params.get("backup") or 0)).first()
    if backup is None:
        raise LookupError(_("The backup is gone from the catalogue."))
    users = [str(u) for u in params.get("users") or []]
    mode = str(params.get("mode", "folder"))
    services.check_restore(actor, backup, users=users, mode=mode)
    result = restore_run.run(backup, actor, users=users, mode=mode, key=str(ctx.job.pk), hooks=_hooks(ctx))
    audit_record(
        actor=actor,
        action="backup.restore",
        target=backup.name,
        domains=backup.domain_list(),
        after={"users": users, "mode": mode},
    )
    return result


@job_kind(services.UPLOAD_JOB, "Check an uploaded backup")
def upload(ctx: JobContext) -> dict[str, Any]:
    params = _params(ctx)
    actor = actor_for_job(ctx.job.created_by, ctx.job.created_by_dn)
    if not actor.roles.administrator:
        raise PermissionError("administrators only")
    directory = services.incoming_dir(str(params.get("upload", "")))
    path = directory / "backup.upload"
    try:
        size = path.stat().st_size
        ctx.progress(0, size)
        seen = 0

        def tick(n: int) -> None:
            nonlocal seen
            seen += n
            ctx.progress(min(seen, size), size)

        try:
            manifest = archive.inspect(path, making.limits(), tick=tick)
        except archive.BackupRefused as exc:
            ctx.log(f"Refused: {exc}", "error")
            raise
        row = catalogue.take_upload(path, manifest, created_by=actor.username)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    ctx.log(f"Accepted as {row.name}")
    Job.objects.filter(pk=ctx.job.pk).update(result_file=row.name)
    audit_record(
        actor=actor,
        action="backup.upload",
        target=row.name,
        after={"sha256": row.sha256, "original": str(params.get("original", ""))},
    )
    return {"backup": row.pk, "name": row.name}


@job_kind(services.ADOPT_JOB, "List backup files copied in by hand", schedulable=True)
def adopt(ctx: JobContext) -> dict[str, Any]:
    actor = actor_for_job(ctx.job.created_by, ctx.job.created_by_dn)
    if not actor.roles.administrator:
        raise PermissionError("administrators only")
    found = catalogue.strays()
    ctx.progress(0, len(found))
    listed, refused = [], []
    for number, path in enumerate(found, 1):
        ctx.check_cancel()
        try:
            row = catalogue.adopt(path, making.limits(), created_by=actor.username)
        except (archive.BackupRefused, OSError) as exc:
            refused.append(path.name)
            ctx.log(f"{path.name}: not listed ({exc})", "warning")
        else:
            listed.append(row.name)
            ctx.log(f"{row.name}: listed")
            audit_record(actor=actor, action="backup.adopt", target=row.name, after={"sha256": row.sha256})
        ctx.progress(number, len(found))
    if not found:
        ctx.log("No file in the directory is missing from the catalogue.")
    return {"listed": listed, "refused": refused}


def undo_interrupted() -> list[str]:
    """Run when a worker starts: restores whose worker died are undone (their journals played backwards) and
    their jobs marked failed with a sentence saying so; the directory's unfinished swap goes back too."""
    said: list[str] = []
    _fail_dead_backups(said)
    try:
        with locks.exclusive("undoing interrupted restores"):
            _undo_all(said)
    except locks.Busy:
        pass  # a restore is running in another worker: its journal is alive
    return said


def _fail_dead_backups(said: list[str]) -> None:
    """Backups whose worker died: nothing of theirs is in the catalogue (their partial file is a dot-file the
    temp clean-up removes); the job says so instead of showing "running" for ever."""
    settled = timezone.now() - timedelta(seconds=60)  # a job just claimed may not hold its lock yet
    text = _("The worker stopped during this backup; nothing was added to the catalogue.")
    for job in Job.objects.filter(kind=services.CREATE_JOB, state=Job.State.RUNNING, started_at__lt=settled):
        if locks.gone(str(job.pk)):
            JobLogLine.objects.create(job=job, text=text, level="error")
            Job.objects.filter(pk=job.pk, state=Job.State.RUNNING).update(
                state=Job.State.FAILED, error=text, finished_at=timezone.now()
            )
            said.append(str(job.pk))


def _undo_all(said: list[str]) -> None:
    from backup.stackref import NoStack, open_stack

    try:
        if open_stack().service("slapd").recover_interrupted_restore():  # type: ignore[attr-defined]
            said.append("slapd")
    except NoStack:
        pass
    for journal_file in sorted(catalogue.directory().glob(".restore-*.journal")):
        job_id = journal_file.name.removeprefix(".restore-").removesuffix(".journal")
        job = Job.objects.filter(pk=job_id).first() if is_job_id(job_id) else None
        journal = mail_restore.Journal.load(journal_file)
        lines: list[str] = []
        mail_restore.undo(journal, log=lines.append)
        text = _(
            "The worker stopped during this restore; what it had restored was taken back: the live data is "
            "as it was before."
        )
        if job is not None:
            for line in lines:
                JobLogLine.objects.create(job=job, text=line, level="warning")
            JobLogLine.objects.create(job=job, text=text, level="error")
            Job.objects.filter(pk=job.pk, state__in=[Job.State.RUNNING, Job.State.PENDING]).update(
                state=Job.State.FAILED, error=text, finished_at=timezone.now()
            )
        said.append(job_id)


@worker_ready.connect
def _on_worker_ready(**_kwargs: object) -> None:
    try:
        undone = undo_interrupted()
    except Exception:
        log.exception("undoing interrupted restores failed")
        return
    if undone:
        log.warning("interrupted restores undone: %s", ", ".join(undone))


__all__ = ["create", "restore", "undo_interrupted", "upload"]
