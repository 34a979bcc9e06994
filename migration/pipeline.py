"""The directory-import pipeline (issue 15): upload → check every entry → report → confirm → create → report.

1. The upload streams into the run's own directory under IMPORT_DIR (mailadmin/uploads.py: 0700 / 0600,
   capped at IMPORT_MAX_BYTES); `import_start` records the run and starts the check as a job.
2. The check (migration/checking.py) parses the whole file with the parser of its kind (PARSERS) and decides
   for each entry, before anything is written: accepted, or refused and why. The rows are the report.
3. Nothing more happens until the importer confirms (a dry run is a report that is never confirmed).
   `import_confirm` starts the creation job (migration/creating.py): each accepted entry through
   accounts.services.user_create, in file order, with progress and Cancel between entries.
4. When the run ends, is discarded or expires, its directory (and with it every clear password) is removed.

The kinds of import (their parsers) are registered in migration/parsers.py.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, BinaryIO
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from accounts.services.folders import check_language
from mailadmin.actor import Actor
from mailadmin.audit.services import audit_record
from mailadmin.directory import InvalidName, dit
from mailadmin.jobs.models import Job
from mailadmin.jobs.services import job_cancel, job_start
from migration.models import ImportRow, ImportRun
from migration.parsers import PARSERS

log = logging.getLogger(__name__)

CHECK_JOB = "migration.check"
CREATE_JOB = "migration.create"


# --- the options of the form ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    """What the form says for every entry; a value in the file wins where the file has one."""

    container_dn: str
    ignore_places: bool = False  # every entry into container_dn, wherever the file puts it
    create_mailbox: bool = True
    quota_kib: int | None = None
    groupware_folders: bool = False
    folder_language: str = "en"
    web_access: bool = False
    send_local_only: bool = False
    receive_local_only: bool = False
    params: dict[str, Any] = field(default_factory=dict)  # the parser's own fields

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Options:
        quota = data.get("quota_kib")
        params = data.get("params")
        options = cls(
            container_dn=str(data.get("container_dn") or ""),
            ignore_places=data.get("ignore_places") is True,
            create_mailbox=data.get("create_mailbox") is not False,
            quota_kib=quota if isinstance(quota, int) and not isinstance(quota, bool) else None,
            groupware_folders=data.get("groupware_folders") is True,
            folder_language=str(data.get("folder_language") or "en"),
            web_access=data.get("web_access") is True,
            send_local_only=data.get("send_local_only") is True,
            receive_local_only=data.get("receive_local_only") is True,
            params=dict(params) if isinstance(params, dict) else {},
        )
        return options.checked()

    def checked(self) -> Options:
        if not dit.valid_dn(self.container_dn) or dit.domain_of(self.container_dn) is None:
            raise InvalidName("Choose the organization or group to import into.", "container")
        if self.quota_kib is not None and self.quota_kib < 0:
            raise InvalidName("A quota is a whole number of KiB, 0 or more.", "quota")
        if self.groupware_folders:
            check_language(self.folder_language)
            if not self.create_mailbox:
                raise InvalidName(
                    "Groupware folders need a mailbox: tick \u201cCreate mailbox\u201d too.",
                    "groupware_folders",
                )
        return self


# --- the run's directory ----------------------------------------------------------------------------------


def run_dir(run_id: UUID | str) -> Path:
    return Path(settings.IMPORT_DIR) / str(UUID(str(run_id)))


def remove_upload(run_id: UUID | str) -> None:
    """The run's directory with every uploaded file (and the clear passwords in them) goes."""
    shutil.rmtree(run_dir(run_id), ignore_errors=True)


def upload_path(run: ImportRun, slot: str) -> Path:
    return run_dir(run.pk) / f"{slot}.upload"


def stored_digest(kind: str, run_id: UUID | str) -> str:
    """sha256 over the stored files of a run, in the order of its parser's slots."""
    digest = hashlib.sha256()
    for slot in PARSERS[kind].slots:
        path = run_dir(run_id) / f"{slot.name}.upload"
        if path.is_file():
            with path.open("rb") as stored:
                for chunk in iter(lambda: stored.read(1024 * 1024), b""):  # noqa: B023 — used at once
                    digest.update(chunk)
    return digest.hexdigest()


def open_uploads(run: ImportRun) -> dict[str, BinaryIO]:
    """Each stored slot of the run, opened for reading (the caller closes them)."""
    opened: dict[str, BinaryIO] = {}
    for slot in PARSERS[run.kind].slots:
        path = upload_path(run, slot.name)
        if path.is_file():
            opened[slot.name] = path.open("rb")  # noqa: SIM115 — closed by the caller
    return opened


# --- the run's life ---------------------------------------------------------------------------------------


def _domains_field(names: Iterable[str]) -> str:
    found = sorted({n.lower() for n in names if n})
    return ("," + ",".join(found) + ",") if found else ""


def import_start(
    *,
    actor: Actor,
    run_id: UUID,
    kind: str,
    filename: str,
    size: int,
    digest: str,
    options: Options,
) -> ImportRun:
    """Record a run whose files are stored in `run_dir(run_id)` already and start its check."""
    import_expire()
    domain = dit.domain_of(options.container_dn) or ""
    with transaction.atomic():
        run = ImportRun.objects.create(
            id=run_id,
            kind=kind,
            filename=filename[:255],
            size=size,
            digest=digest,
            container_dn=options.container_dn,
            options=options.to_json(),
            created_by=actor.username,
            created_by_dn=actor.dn,
            domains=_domains_field([domain]),
            scope=dit.normalize_dn(options.container_dn),
        )
        audit_record(
            actor=actor,
            action="import_upload",
            target=options.container_dn,
            domains=[domain],
            after={"kind": kind, "file": run.filename, "size": size, "run": str(run.pk)},
        )
        job = job_start(
            actor=actor,
            kind=CHECK_JOB,
            params={"run": str(run.pk)},
            domains=[domain],
            scopes=[options.container_dn],
        )
        ImportRun.objects.filter(pk=run.pk).update(check_job=job)
        run.check_job = job
    return run


def import_confirm(*, actor: Actor, run: ImportRun) -> Job:
    """Start creating the accepted entries of a checked run (the job checks the actor's rights again)."""
    with transaction.atomic():
        locked = ImportRun.objects.select_for_update().get(pk=run.pk)
        if locked.status != ImportRun.Status.READY or not locked.accepted:
            raise InvalidName("This import is not waiting for confirmation any more.", "run")
        domain = dit.domain_of(locked.container_dn) or ""
        job = job_start(
            actor=actor,
            kind=CREATE_JOB,
            params={"run": str(locked.pk)},
            domains=[domain],
            scopes=[locked.container_dn],
        )
        ImportRun.objects.filter(pk=locked.pk).update(
            status=ImportRun.Status.RUNNING, confirmed_at=timezone.now(), create_job=job
        )
        audit_record(
            actor=actor,
            action="import_confirm",
            target=locked.container_dn,
            domains=[domain],
            after={"run": str(locked.pk), "accepted": locked.accepted},
        )
    return job


def import_discard(*, actor: Actor, run: ImportRun) -> None:
    """Drop a run that is not creating anything: the report stays, the upload goes."""
    if run.status not in (ImportRun.Status.CHECKING, ImportRun.Status.READY):
        raise InvalidName("Only an import that was not confirmed can be discarded.", "run")
    if run.check_job is not None and not run.check_job.finished:
        job_cancel(actor=actor, job=run.check_job)
    end_run(
        run.pk, ImportRun.Status.DISCARDED, from_states=(ImportRun.Status.CHECKING, ImportRun.Status.READY)
    )
    audit_record(
        actor=actor,
        action="import_discard",
        target=run.container_dn,
        domains=[d for d in run.domains.split(",") if d],
        after={"run": str(run.pk)},
    )


def import_cancel(*, actor: Actor, run: ImportRun) -> None:
    """Stop the creation between two entries; what was created stays, the report says which."""
    if run.status != ImportRun.Status.RUNNING or run.create_job is None:
        raise InvalidName("This import is not creating accounts.", "run")
    job_cancel(actor=actor, job=run.create_job)
    import_settle(run)


def import_settle(run: ImportRun) -> ImportRun:
    """Bring a run in line with a job that ended without running its handler (cancelled while it waited,
    lost with its worker): a run must never stay `checking` or `running` behind a finished job."""
    pairs = ((ImportRun.Status.CHECKING, run.check_job_id), (ImportRun.Status.RUNNING, run.create_job_id))
    for status, job_id in pairs:
        if run.status != status or job_id is None:
            continue
        job = Job.objects.filter(pk=job_id).first()
        if job is None or job.finished:
            ended = ImportRun.Status.DISCARDED if status == ImportRun.Status.CHECKING else _ended_as(job)
            end_run(run.pk, ended, from_states=(status,), error=(job.error if job else "") or "")
    return ImportRun.objects.get(pk=run.pk)


def _ended_as(job: Job | None) -> str:
    if job is not None and job.state == Job.State.CANCELLED:
        return ImportRun.Status.CANCELLED
    if job is not None and job.state == Job.State.SUCCEEDED:
        return ImportRun.Status.DONE
    return ImportRun.Status.FAILED


def end_run(run_id: UUID, status: str, *, from_states: Iterable[str] = (), error: str = "") -> bool:
    """Move a run to an ended status (only from `from_states`, if given), count its rows again, say what
    the entries that were not reached became, and remove its upload. False if the run was elsewhere."""
    runs = ImportRun.objects.filter(pk=run_id)
    if from_states:
        runs = runs.filter(status__in=list(from_states))
    fields: dict[str, Any] = {"status": status, "finished_at": timezone.now()}
    if error:
        fields["error"] = error[:2000]
    changed = bool(runs.update(**fields))
    if changed and status in (ImportRun.Status.CANCELLED, ImportRun.Status.FAILED):
        # Stored in English like every reason of the report (and the audit log).
        why = "was cancelled" if status == ImportRun.Status.CANCELLED else "stopped"
        ImportRow.objects.filter(run_id=run_id, verdict=ImportRow.Verdict.ACCEPTED).update(
            reason=f"not created: the import {why}"
        )
    if changed:
        count_rows(run_id)
    remove_upload(run_id)
    return changed


def count_rows(run_id: UUID) -> None:
    counts: dict[str, int] = dict(
        ImportRow.objects.filter(run_id=run_id).values_list("verdict").annotate(n=Count("id")).order_by()
    )
    created, failed = counts.get("created", 0), counts.get("failed", 0)
    ImportRun.objects.filter(pk=run_id).update(
        total=sum(counts.values()),
        refused=counts.get("refused", 0),
        accepted=counts.get("accepted", 0) + created + failed,
        created=created,
        failed=failed,
    )


def import_expire(*, now: float | None = None) -> int:
    """End the runs nobody confirmed within IMPORT_KEEP_HOURS and remove directories no run owns any more
    (a crash between upload and record). Returns how many runs expired."""
    limit = timezone.now() - timedelta(hours=int(settings.IMPORT_KEEP_HOURS))
    stale = ImportRun.objects.filter(status=ImportRun.Status.READY, checked_at__lt=limit)
    expired = sum(end_run(run_id, ImportRun.Status.EXPIRED, from_states=(ImportRun.Status.READY,))
                  for run_id in stale.values_list("pk", flat=True)[:1000])  # fmt: skip
    root = Path(settings.IMPORT_DIR)
    if root.is_dir():
        cutoff = (now or time.time()) - 3600
        for child in root.iterdir():
            try:
                run_id = UUID(child.name)
            except ValueError:
                continue  # not ours
            if child.stat().st_mtime > cutoff:
                continue  # an upload may be arriving right now
            if not ImportRun.objects.filter(pk=run_id).exclude(status__in=ImportRun.ENDED).exists():
                shutil.rmtree(child, ignore_errors=True)
    return expired
