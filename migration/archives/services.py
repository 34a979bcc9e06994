"""Writes of the mail archive import: the import's own directory, and starting the job.

Each import works in `MAIL_IMPORT_DIR/<token>` (mode 0700, the token a random hex name the console made):
the upload lands there, archives are unpacked there, readpst writes there, and the job removes the
directory when it ends, whatever happens. A directory whose job never ran (cancelled while waiting, a
worker that died) is swept when the next import starts.
"""

from __future__ import annotations

import re
import shutil
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.core.cache import cache

from mailadmin.actor import Actor
from mailadmin.audit.services import audit_record
from mailadmin.directory import InvalidName
from mailadmin.jobs.models import Job
from mailadmin.jobs.services import job_start
from migration.archives.names import check_into
from migration.archives.safety import Kind
from migration.archives.selectors import ACTIVE, KIND, Target, active_import

_TOKEN = re.compile(r"[0-9a-f]{32}")
STALE_SECONDS = 3600
UPLOAD = "upload"


class ImportBusy(InvalidName):
    """An import into this mailbox is waiting or running already: one at a time."""


def _root() -> Path:
    root = Path(settings.MAIL_IMPORT_DIR)
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    root.chmod(0o700)
    return root


def import_dir_create() -> tuple[str, Path]:
    """A new, empty directory for one import (mode 0700) and its token."""
    token = uuid.uuid4().hex
    path = _root() / token
    path.mkdir(mode=0o700)
    return token, path


def import_dir(token: str) -> Path:
    """The directory of an import, from its token (never from a path someone sent)."""
    if not isinstance(token, str) or not _TOKEN.fullmatch(token):
        raise InvalidName("Not an import's directory.", "token")
    return _root() / token


def import_dir_remove(token: str) -> None:
    shutil.rmtree(import_dir(token), ignore_errors=True)


def import_dirs_sweep() -> int:
    """Remove directories older than STALE_SECONDS that no waiting or running import uses; how many."""
    root = _root()
    busy = {
        str(p.get("token"))
        for p in Job.objects.filter(kind=KIND, state__in=ACTIVE).values_list("params", flat=True)
        if isinstance(p, dict)
    }
    removed = 0
    for path in root.iterdir():
        if _TOKEN.fullmatch(path.name) and path.name not in busy:
            try:
                old = time.time() - path.lstat().st_mtime > STALE_SECONDS
            except FileNotFoundError:
                continue
            if old:
                shutil.rmtree(path, ignore_errors=True)
                removed += 1
    return removed


def upload_cap(target: Target) -> int:
    return int(settings.MAIL_IMPORT_USER_MAX_UPLOAD if target.own else settings.MAIL_IMPORT_MAX_UPLOAD)


def mail_import_start(
    *, actor: Actor, target: Target, token: str, kind: Kind, filename: str, size: int, into: str = ""
) -> Job:
    """Start the import job for an uploaded archive. ImportBusy while another import into the same mailbox
    waits or runs (the upload's directory is removed then)."""
    folder = check_into(into)
    lock = f"mailadmin:mail-import:{target.uid}"
    if not cache.add(lock, "1", timeout=30):
        import_dir_remove(token)
        raise ImportBusy("Another import into this mailbox is starting. Try again in a moment.", "archive")
    try:
        if active_import(uid=target.uid) is not None:
            import_dir_remove(token)
            raise ImportBusy(
                "An import into this mailbox is already waiting or running. Wait until it has finished.",
                "archive",
            )
        params = {
            "token": token,
            "uid": target.uid,
            "dn": target.dn,
            "own": target.own,
            "kind": kind.value,
            "filename": filename[:200],
            "size": size,
            "into": list(folder),
        }
        job = job_start(actor=actor, kind=KIND, params=params, domains=[target.domain], scopes=[target.dn])
    finally:
        cache.delete(lock)
    audit_record(
        actor=actor,
        action="mail_import_start",
        target=target.dn,
        domains=[target.domain],
        after={"archive": filename[:200], "kind": kind.value, "bytes": size, "job": str(job.pk)},
    )
    return job
