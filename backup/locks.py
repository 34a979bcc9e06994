"""One restore at a time (and no Cyrus recovery during a restore): an exclusive lock on a file under
BACKUP_DIR, taken without waiting. An flock belongs to the open file of the process that holds it, so a worker
that is killed releases it by dying; there is no stale lock to clear by hand."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings


class Busy(Exception):
    """Another restore (or a Cyrus recovery) holds the lock; the message says which."""


def _lock_path() -> Path:
    directory = Path(settings.BACKUP_DIR)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    return directory / ".restore.lock"


@contextmanager
def exclusive(what: str) -> Iterator[None]:
    """Hold the restore lock while the block runs; Busy at once when someone else holds it. `what` (e.g. "the
    restore of ldap_20261207_101500.tar.zst") is written into the file so the refusal can name the holder."""
    fd = os.open(_lock_path(), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 512, 0).decode("utf-8", "replace").strip() or "another restore"
            raise Busy(holder) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, what.encode()[:500], 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _marker(key: str) -> Path:
    if not key.replace("-", "").isalnum():
        raise ValueError(f"not a lock name: {key!r}")
    return _lock_path().with_name(f".running-{key}.lock")


@contextmanager
def running(key: str) -> Iterator[None]:
    """Held by a job for its whole run (a backup): while it is held, the job's worker is alive."""
    path = _marker(key)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        try:
            yield
        finally:
            path.unlink(missing_ok=True)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def gone(key: str) -> bool:
    """True if nobody holds `running(key)`: the job's worker died (or it never started its run)."""
    path = _marker(key)
    try:
        fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW)
    except FileNotFoundError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    path.unlink(missing_ok=True)
    return True
