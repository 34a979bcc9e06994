"""Outlook PST files through `readpst` (Debian's pst-utils), into a tree of .eml files the readers walk.

readpst runs as an argv list (never a shell) with `-e` (one .eml per message, attachments inline), `-b` (no
RTF copies of bodies), `-t e` (mail only: no contacts or calendars as vCards), `-q`, and `-j 0`: one
process (with its default parallel children, some messages were still being written, or missing, when
it returned: 67 to 71 of the fixture's 71 in five runs). Items Outlook marks
deleted are left out (no `-D`): they are what the user threw away. It gets a wall-clock timeout and is
killed with its process group when it runs over, or when its output grows past the unpacking limit.

Folder names inside a PST are the PST author's: as root, readpst would create them wherever a crafted name
points. So, when the console runs as root, readpst runs as an unprivileged user (MAIL_IMPORT_READPST_USER)
with its working directory set to its own folder inside the import's 0700 directory: it can neither climb
out (no search right on the parent) nor write anywhere else. Its file sizes are capped (prlimit).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import time
from pathlib import Path

from django.conf import settings

from migration.archives.safety import MAX_DEPTH, ArchiveRefused, Member, check_name

POLL_SECONDS = 1.0


def _runner() -> tuple[int, int] | None:
    """(uid, gid) to run readpst as, or None to run it as ourselves (the console does not run as root)."""
    name = str(settings.MAIL_IMPORT_READPST_USER)
    if os.geteuid() != 0 or not name:
        return None
    try:
        entry = pwd.getpwnam(name)
    except KeyError as exc:
        raise ArchiveRefused(f"MAIL_IMPORT_READPST_USER {name!r} does not exist on this server.") from exc
    return entry.pw_uid, entry.pw_gid


def _size(root: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                continue
    return total


def run_readpst(archive: Path, work: Path, *, max_output: int, timeout: float | None = None) -> Path:
    """readpst on `archive`; returns the directory holding its output tree. ArchiveRefused when readpst is
    missing, fails, runs too long or writes too much."""
    binary = str(settings.MAIL_IMPORT_READPST)
    if not Path(binary).is_file():
        raise ArchiveRefused("PST files cannot be imported here: readpst (Debian's pst-utils) is missing.")
    timeout = float(timeout if timeout is not None else settings.MAIL_IMPORT_READPST_SECONDS)
    home = work / "pst"
    home.mkdir(mode=0o700)
    out = home / "out"
    out.mkdir(mode=0o700)
    source = home / "archive.pst"
    os.replace(archive, source)  # same file system: a rename, not a copy
    runner = _runner()
    if runner is not None:
        for path in (home, out, source):
            os.chown(path, *runner)
    argv = ["prlimit", f"--fsize={max_output}", "--nofile=256", "--", binary]
    argv += ["-q", "-j", "0", "-e", "-b", "-t", "e", "-o", "out", "archive.pst"]
    proc = subprocess.Popen(  # noqa: S603 — an argv list of our own, no shell
        argv,
        cwd=home,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
        user=runner[0] if runner else None,
        group=runner[1] if runner else None,
        extra_groups=[] if runner else None,
        env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
    )
    deadline = time.monotonic() + timeout
    reason = ""
    while proc.poll() is None:
        if time.monotonic() > deadline:
            reason = f"readpst did not finish within {timeout:.0f} seconds"
        elif _size(out) > max_output:
            reason = "readpst's output grew past the unpacking limit"
        if reason:
            _kill(proc)
            break
        try:
            proc.wait(timeout=POLL_SECONDS)
        except subprocess.TimeoutExpired:
            continue
    errors = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    if reason:
        raise ArchiveRefused(f"The PST file was refused: {reason}.")
    if proc.returncode != 0:
        last = " ".join(errors.split())[-300:] or f"exit status {proc.returncode}"
        raise ArchiveRefused(f"readpst could not read the PST file: {last}")
    return out


def _kill(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # the session it leads: readpst and any child it forked
    proc.wait()


def tree_members(root: Path) -> list[Member]:
    """The regular files below `root` (readpst's output) as members; links and odd files are skipped, names
    decoded and checked like an archive's."""
    members: list[Member] = []
    for dirpath, dirs, files in os.walk(root, followlinks=False):
        rel = Path(dirpath).relative_to(root)
        if len(rel.parts) > MAX_DEPTH:
            dirs[:] = []
            continue
        for name in sorted(files):
            path = Path(dirpath) / name
            info = path.lstat()
            if not path.is_file() or path.is_symlink():
                continue
            parts = check_name("/".join(os.fsdecode(p) for p in (*rel.parts, name)))
            members.append(Member(parts, path, info.st_size, info.st_mtime))
    return members


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
