"""Log rotation: the console's own logs (settings.LOG_DIR) and the private stack's daemon logs.

Copy-truncate, like logrotate's `copytruncate`: the file's content is copied into `NAME.1.gz` and the file is
cut to nothing in place, so every writer keeps its open descriptor and goes on writing at the (new) end.
Every writer of these files appends (O_APPEND: the stack starts its daemons with their output opened "ab",
Python's and Celery's handlers and gunicorn open their logs in append mode), which is what makes this safe.
Rename + reopen would need each daemon signalled or restarted, and slapd's or Cyrus's stdout cannot be
reopened at all. The price: a line written between the last read and the cut is lost; the cut follows the
last read at once, so the window is microseconds.

Generations: `NAME.1.gz` is the newest, `NAME.<keep>.gz` the oldest kept; older ones are removed. Nothing
here follows a symlink: a log that is a link, a FIFO or a device is skipped, and the copy is written under a
dot-name with O_NOFOLLOW, fsynced and renamed into place.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from mailadmin.configfiles.files import fsync_dir
from mailadmin.directory import InvalidName
from mailadmin.stack import Stack, StackError

ROTATE_LOGS = "housekeeping.rotate_logs"
CHUNK = 1024 * 1024
MAX_KEEP = 100
# The stack's daemons whose logs are rotated (each one's own list: Service.logs()).
DAEMONS = (
    "syslog",
    "slapd",
    "saslauthd",
    "cyrus",
    "postfix",
    "mailfilter",
    "redis",
    "postgres",
    "policyd",
    "nginx",
    "proftpd",
)


def check_rotate(params: Mapping[str, Any]) -> dict[str, Any]:
    """{"keep": 1–100 generations, "daemons": also the stack's daemon logs}; nothing else."""
    unknown = set(params) - {"keep", "daemons"}
    if unknown:
        raise InvalidName(_("Unknown parameters: %(names)s.") % {"names": ", ".join(sorted(unknown))}, "keep")
    keep = params.get("keep", 7)
    if isinstance(keep, str) and keep.strip().isdigit() and keep.strip().isascii():
        keep = int(keep.strip())
    if not isinstance(keep, int) or isinstance(keep, bool) or not 1 <= keep <= MAX_KEEP:
        raise InvalidName(_("Keep 1 to %(max)d old generations of each log.") % {"max": MAX_KEEP}, "keep")
    daemons = params.get("daemons", True)
    if not isinstance(daemons, bool):
        raise InvalidName(_("“daemons” is true or false."), "daemons")
    return {"keep": keep, "daemons": daemons}


def _regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def _inside(path: Path, root: Path) -> bool:
    return Path(os.path.realpath(path.parent)).is_relative_to(root)


def log_files(*, daemons: bool) -> list[Path]:
    """The files rotation works on: `*.log` directly in LOG_DIR, and (daemons=True) the logs each daemon of
    the console's stack declares, if they lie inside the stack's directory. Regular files only, each once."""
    found: list[Path] = []
    log_dir = Path(settings.LOG_DIR)
    if log_dir.is_dir():
        found += sorted(p for p in log_dir.iterdir() if p.name.endswith(".log") and _regular(p))
    if daemons and settings.STACK_DIR:
        try:
            stack = Stack.open(str(settings.STACK_DIR))
        except (OSError, StackError, ValueError):
            stack = None
        if stack is not None:
            root = stack.layout.root
            for name in DAEMONS:
                try:
                    logs = stack.service(name).logs()
                except StackError:
                    continue
                found += [p for p in logs if _regular(p) and _inside(p, root)]
    unique: dict[str, Path] = {}
    for path in found:
        unique.setdefault(os.path.realpath(path), path)
    return list(unique.values())


def generation(path: Path, n: int) -> Path:
    return path.with_name(f"{path.name}.{n}.gz")


_GENERATION = re.compile(r"\.([0-9]{1,6})\.gz")


def _shift(path: Path, keep: int) -> None:
    """Make room for a new NAME.1.gz: drop what is beyond `keep - 1`, move the others up by one."""
    prefix = path.name
    for entry in path.parent.iterdir():
        if entry.name.startswith(prefix):
            match = _GENERATION.fullmatch(entry.name[len(prefix) :])
            if match and int(match.group(1)) >= keep:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry)  # a link is removed itself, never its target
    for n in range(keep - 1, 0, -1):
        older = generation(path, n)
        if os.path.lexists(older):
            os.rename(older, generation(path, n + 1))


def _copy(src: int, out: gzip.GzipFile) -> int:
    copied = 0
    while chunk := os.read(src, CHUNK):
        out.write(chunk)
        copied += len(chunk)
    return copied


def rotate_file(path: Path, keep: int) -> int | None:
    """Copy-truncate one log into NAME.1.gz; the bytes rotated, or None when there was nothing to do (empty,
    missing, or not a regular file)."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size == 0:
            return None
        tmp = path.with_name(f".{path.name}.rotating")
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        out_fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            with os.fdopen(out_fd, "wb") as raw:
                os.fchmod(raw.fileno(), stat.S_IMODE(info.st_mode))
                if os.geteuid() == 0:  # the daemon's own user keeps reading its old logs
                    with contextlib.suppress(OSError):
                        os.fchown(raw.fileno(), info.st_uid, info.st_gid)
                stamp = int(info.st_mtime)
                with gzip.GzipFile(filename=path.name, mode="wb", fileobj=raw, mtime=stamp) as gz:
                    copied = _copy(fd, gz)
                    gz.flush()
                    os.fsync(raw.fileno())
                    # The catch-up read and the cut back to back: what was appended meanwhile is kept.
                    copied += _copy(fd, gz)
                    os.ftruncate(fd, 0)
                raw.flush()
                os.fsync(raw.fileno())
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        _shift(path, keep)
        os.rename(tmp, generation(path, 1))
        fsync_dir(path.parent)
        return copied
    finally:
        os.close(fd)


@dataclass
class RotateReport:
    rotated: dict[str, int]
    skipped: list[str]
    failed: dict[str, str]

    def as_json(self) -> dict[str, Any]:
        return {"rotated": self.rotated, "skipped": self.skipped, "failed": self.failed}
