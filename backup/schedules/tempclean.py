"""Temp clean-up: what the console's uploads and half-written files leave behind when a job never ran to its
end (a worker killed, an import cancelled while waiting, a backup interrupted).

- IMPORT_DIR and MAIL_IMPORT_DIR hold one directory per import (and a stray file now and then). Each entry
  directly under them is one unit: it goes as a whole when nothing in it — files, sub-directories, links —
  changed for the threshold, and no waiting or running job names it in its parameters (an import's job carries
  its directory's token or run id). A directory import waits for its confirmation up to IMPORT_KEEP_HOURS, so
  nothing there goes before that (plus an hour).
- BACKUP_DIR: only the dot-files `.NAME.partial` a backup writes before it renames the finished file, and
  only after a day at least. Complete backups, the restore lock and everything else stay.

Nothing follows a symlink: ages are read with lstat, a link is removed as a link (its target untouched), and
directories go through shutil.rmtree, which on Linux works on file descriptors and never leaves the tree.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from mailadmin.directory import InvalidName
from mailadmin.jobs.models import Job

CLEAN_TEMP = "housekeeping.clean_temp"
MAX_HOURS = 24 * 366
PARTIAL = re.compile(r"\.[^/]+\.partial")
HOUR = 3600.0


def check_clean(params: Mapping[str, Any]) -> dict[str, Any]:
    """{"older_than_hours": 1–8784}; nothing else."""
    unknown = set(params) - {"older_than_hours"}
    if unknown:
        raise InvalidName(
            _("Unknown parameters: %(names)s.") % {"names": ", ".join(sorted(unknown))}, "older_than_hours"
        )
    hours = params.get("older_than_hours", 24)
    if isinstance(hours, str) and hours.strip().isdigit() and hours.strip().isascii():
        hours = int(hours.strip())
    if not isinstance(hours, int) or isinstance(hours, bool) or not 1 <= hours <= MAX_HOURS:
        raise InvalidName(
            _("Remove what is older than 1 to %(max)d hours.") % {"max": MAX_HOURS}, "older_than_hours"
        )
    return {"older_than_hours": hours}


@dataclass
class CleanReport:
    removed: list[str] = field(default_factory=list)
    kept_in_use: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"removed": self.removed, "kept_in_use": self.kept_in_use, "failed": self.failed}


def names_in_use(exclude: str = "") -> set[str]:
    """Every string a waiting or running job carries in its parameters (tokens, run ids, file names)."""
    names: set[str] = set()
    active = Job.objects.filter(state__in=(Job.State.PENDING, Job.State.RUNNING))
    if exclude:
        active = active.exclude(pk=exclude)
    for params in active.values_list("params", flat=True):
        values: Iterable[Any] = params.values() if isinstance(params, dict) else ()
        for value in values:
            items = value if isinstance(value, list) else [value]
            names.update(str(item) for item in items if isinstance(item, (str, int)))
    return names


def newest_change(path: Path) -> float:
    """The latest mtime of `path` and of everything below it, read with lstat (links not followed)."""
    newest = os.lstat(path).st_mtime
    if stat.S_ISDIR(os.lstat(path).st_mode):
        for root, dirs, files in os.walk(path, followlinks=False):
            for name in (*dirs, *files):
                with contextlib.suppress(FileNotFoundError):
                    newest = max(newest, os.lstat(os.path.join(root, name)).st_mtime)
    return newest


def _remove(path: Path) -> None:
    if stat.S_ISDIR(os.lstat(path).st_mode):
        if not shutil.rmtree.avoids_symlink_attacks:  # pragma: no cover - not on Linux
            raise OSError("this platform's rmtree could follow links; not removing")
        shutil.rmtree(path)
    else:
        os.unlink(path)  # a file, or a link itself


def _sweep_units(root: Path, cutoff: float, in_use: set[str], report: CleanReport) -> None:
    if not root.is_dir():
        return
    for entry in sorted(root.iterdir()):
        try:
            if entry.name in in_use:
                report.kept_in_use.append(str(entry))
                continue
            if newest_change(entry) >= cutoff:
                continue
            _remove(entry)
            report.removed.append(str(entry))
        except FileNotFoundError:
            continue
        except OSError as exc:
            report.failed[str(entry)] = exc.strerror or str(exc)


def _sweep_partials(root: Path, cutoff: float, report: CleanReport) -> None:
    if not root.is_dir():
        return
    for entry in sorted(root.iterdir()):
        try:
            info = os.lstat(entry)
            if not PARTIAL.fullmatch(entry.name) or stat.S_ISDIR(info.st_mode) or info.st_mtime >= cutoff:
                continue
            os.unlink(entry)
            report.removed.append(str(entry))
        except FileNotFoundError:
            continue
        except OSError as exc:
            report.failed[str(entry)] = exc.strerror or str(exc)


def clean_temp(*, older_than_hours: int, in_use: set[str], now: float | None = None) -> CleanReport:
    """Remove what is stale in the console's temp and upload areas (see the module doc)."""
    now = time.time() if now is None else now
    report = CleanReport()
    keep_imports = max(older_than_hours, int(settings.IMPORT_KEEP_HOURS) + 1)
    _sweep_units(Path(settings.IMPORT_DIR), now - keep_imports * HOUR, in_use, report)
    _sweep_units(Path(settings.MAIL_IMPORT_DIR), now - older_than_hours * HOUR, in_use, report)
    _sweep_partials(Path(settings.BACKUP_DIR), now - max(older_than_hours, 24) * HOUR, report)
    return report
