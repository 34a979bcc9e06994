"""Writing rendered files: the managed-by header and an all-or-nothing write."""

from __future__ import annotations

import contextlib
import grp
import hashlib
import os
import pwd
import tempfile
import time
from pathlib import Path

HEADER_MARK = "Managed by mailadmin - do not edit"
CHECKSUM_MARK = "checksum: sha256:"


def body_checksum(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def with_header(body: str, *, comment: str = "#", source: str = "") -> str:
    """Prefix `body` with the do-not-edit header.

    The header carries a checksum of the body so a hand edit is noticed (see `is_hand_edited`) instead of
    being silently overwritten. ASCII only: some parsers (LDIF) are fussy about the bytes in comments.
    """
    lines = [
        f"{comment} {HEADER_MARK}: it is rewritten by the console and hand edits are lost.",
    ]
    if source:
        lines.append(f"{comment} Source: {source}")
    lines.append(f"{comment} {CHECKSUM_MARK}{body_checksum(body)}")
    return "\n".join(lines) + "\n" + body


def is_hand_edited(text: str, *, comment: str = "#") -> bool:
    """True when a file written by `with_header` was changed afterwards (or never had the header)."""
    header, body_lines = [], text.splitlines(keepends=True)
    while body_lines and body_lines[0].startswith(comment):
        header.append(body_lines.pop(0))
    prefix = f"{comment} {CHECKSUM_MARK}"
    sums = [line[len(prefix) :].strip() for line in header if line.startswith(prefix)]
    return not sums or sums[-1] != body_checksum("".join(body_lines))


def keep_hand_edit(path: Path) -> Path | None:
    """Before a start re-renders `path`: a copy of it beside it (`<name>.hand-edit-<UTC time>`) when somebody
    edited it by hand, so the edit is never lost without a trace; the Configuration menu shows such an edit
    while it is still in place. None when the file is missing or as the console wrote it."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    if not is_hand_edited(text):
        return None
    copy = path.with_name(f"{path.name}.hand-edit-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}")
    atomic_write(copy, text, mode=0o600)
    return copy


def atomic_write(
    path: Path | str,
    text: str,
    *,
    mode: int = 0o644,
    group: str | None = None,
    owner: str | None = None,
    backdate: float = 0.0,
) -> Path:
    """Replace `path` with `text` so that readers see the old file or the new one, never a torn one.

    The temp file lives in the same directory (rename is atomic only within one file system), gets its final
    mode and owner *before* the content is written (a bind password is never world-readable, not even
    briefly), is fsynced and renamed over the target; the directory is fsynced so the rename survives a crash.

    `backdate` sets the file's times that many seconds into the past. Postfix re-reads a "hot" main.cf
    (changed within the last 2 s) in 300 ms naps until it cools down, which made every start after a render
    2 s slower; the rename is atomic, so there is no half-written file for that wait to protect against.
    """
    target = Path(path)
    uid = pwd.getpwnam(owner).pw_uid if owner else -1
    gid = grp.getgrnam(group).gr_gid if group else -1
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.fchmod(fd, mode)
        if uid != -1 or gid != -1:
            os.fchown(fd, uid, gid)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            fd = -1
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if backdate:
            past = time.time() - backdate
            os.utime(tmp_name, (past, past))
        os.replace(tmp_name, target)
    except BaseException:
        if fd != -1:
            os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    fsync_dir(target.parent)
    return target


def fsync_dir(directory: Path) -> None:
    """Make a rename or a new name in `directory` survive a crash (fsync of the directory itself)."""
    dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
