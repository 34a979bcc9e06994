"""Messages out of archives, one at a time: mbox files, Maildir folders, .eml (and MH) files.

Every reader yields `ArchiveMessage`s: the archive folder (path parts), the bytes, the flags and the internal
date, and how far through the archive it is (for the progress bar). Nothing is read whole: an mbox is read
line by line and only the current message is held; a message larger than the limit is passed over without
being kept (`data` None) and reported as refused.

mbox: a message starts at a `From ` line that follows an empty line (or starts the file), looks like a
From_ line (`From <sender> <weekday> <month> <day> <time> <year>`) and is followed by a header line. So a
`From ` line someone typed into a body neither splits the message nor loses it. `>From ` lines are unquoted
the mboxrd way (one `>` removed). No Content-Length is believed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from mailadmin import mailheaders as headers
from migration.archives.names import decode_modified_utf7
from migration.archives.safety import Member

_FROM_LINE = re.compile(
    rb"^From \S*\s+(?:[A-Za-z]{3},?\s+)?([A-Za-z]{3})\s+(\d{1,2})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?"
    rb"\s+(?:([A-Za-z]{1,5}|[+-]\d{4})\s+)?(\d{4})(?:\s+([+-]\d{4}))?"
)
_HEADER_LINE = re.compile(rb"^[!-9;-~]+[ \t]*:")
_QUOTED_FROM = re.compile(rb"^>+From ")
_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTHS = {m: i for i, m in enumerate(_MONTH_NAMES, 1)}
_MAILDIR_INFO = re.compile(r"[:;!]2,([A-Za-z]*)$")
_MAILDIR_TIME = re.compile(r"^(\d{9,10})\.")
_MAILDIR_FLAGS = {
    "S": headers.SEEN,
    "R": headers.ANSWERED,
    "F": headers.FLAGGED,
    "D": headers.DRAFT,
    "P": headers.FORWARDED,
}
_MBOX_SUFFIXES = (".mbox", ".mbx", ".mbs")
# readpst makes up a MIME boundary with a random number, new on every run: the same PST would give other
# bytes (and, when the number has fewer digits, another size) each time and defeat "nothing twice". The
# number is the same for every message of a run, so a fixed one is no less unique.
_LIBPST_BOUNDARY = re.compile(rb"--boundary-LibPST-iamunique-\d+_-_-")
_STABLE_BOUNDARY = b"--boundary-LibPST-iamunique-0000000000_-_-"
_JUNK_PARTS = frozenset({"__MACOSX", ".DS_Store"})
_JUNK_SUFFIXES = (".msf", ".index", ".sqlite", ".db", ".dat", ".log", ".txt", ".json", ".xml", ".html")


@dataclass(frozen=True)
class ArchiveMessage:
    folder: tuple[str, ...]  # the archive's folder, () = its top (the INBOX)
    data: bytes | None  # None: larger than the limit, not read
    size: int
    flags: frozenset[str]
    when: datetime | None  # the internal date to keep; None lets Cyrus use the time of the import
    where: str  # how the log names the message
    done: int  # bytes of the archive read once this message is (progress)


@dataclass(frozen=True)
class Source:
    """One file of an archive that holds mail, and how to read it."""

    kind: str  # "mbox", "maildir", "eml"
    folder: tuple[str, ...]
    member: Member
    pst: bool = False  # written by readpst (see _LIBPST_BOUNDARY)


# --- mbox --------------------------------------------------------------------------------------------------


def _from_line_date(line: bytes) -> datetime | None:
    match = _FROM_LINE.match(line)
    if match is None:
        return None
    month, day, hour, minute, second, zone, year, trailing = match.groups()
    number = _MONTHS.get(month.decode("ascii", "replace").lower())
    if number is None:
        return None
    try:
        when = datetime(int(year), number, int(day), int(hour), int(minute), int(second or 0), tzinfo=UTC)
    except ValueError:
        return None
    offset = trailing or (zone if zone and zone[:1] in b"+-" else None)
    if offset:
        sign = -1 if offset[:1] == b"-" else 1
        seconds = int(offset[1:3]) * 3600 + int(offset[3:5]) * 60
        when = datetime.fromtimestamp(when.timestamp() - sign * seconds, UTC)
    return when


class _Collector:
    """The message being read: its lines (until it grows past the limit), flags and size."""

    def __init__(self, from_line: bytes, limit: int) -> None:
        self.when = _from_line_date(from_line)
        self.limit = limit
        self.lines: list[bytes] | None = []
        self.size = 0
        self.in_header = True
        self.header: list[bytes] = []

    def add(self, line: bytes) -> None:
        if _QUOTED_FROM.match(line):
            line = line[1:]
        if self.in_header:
            if line in (b"\n", b"\r\n"):
                self.in_header = False
            else:
                self.header.append(line)
        self.size += len(line)
        if self.lines is not None:
            if self.size > self.limit:
                self.lines = None
            else:
                self.lines.append(line)

    def finish(self) -> tuple[bytes | None, frozenset[str], datetime | None]:
        if self.lines is not None and self.lines and self.lines[-1] in (b"\n", b"\r\n"):
            self.size -= len(self.lines.pop())  # the empty line that separates it from the next message
        found = headers.fields(b"".join(self.header[:500]))
        when = self.when or headers.parse_date(found.get(b"date"))
        data = b"".join(self.lines) if self.lines is not None else None
        return data, headers.status_flags(found), when


def read_mbox(path: Path, folder: tuple[str, ...], *, limit: int, base: int = 0) -> Iterator[ArchiveMessage]:
    """The messages of one mbox file. `base`: bytes of the archive read before this file (progress)."""
    name = "/".join(folder) or "INBOX"
    count = 0
    offset = 0
    current: _Collector | None = None
    held: bytes | None = None  # a From_ line waiting for the next line to decide
    previous_blank = True

    def emit(collector: _Collector) -> ArchiveMessage:
        nonlocal count
        count += 1
        data, flags, when = collector.finish()
        where = f"message {count} of {name}"
        return ArchiveMessage(folder, data, collector.size, flags, when, where, base + offset)

    with path.open("rb") as f:
        for line in f:
            if held is not None:
                candidate, held = held, None
                if _HEADER_LINE.match(line):
                    if current is not None:
                        yield emit(current)
                    current = _Collector(candidate, limit)
                elif current is not None:
                    current.add(candidate)
            if previous_blank and line.startswith(b"From ") and _FROM_LINE.match(line):
                held = line
            elif current is not None:
                current.add(line)
            offset += len(line)
            previous_blank = line in (b"\n", b"\r\n")
        if held is not None and current is not None:
            current.add(held)
        if current is not None:
            yield emit(current)


def looks_like_mbox(path: Path) -> bool:
    with path.open("rb") as f:
        return bool(_FROM_LINE.match(f.readline(1000)))


# --- trees: Maildir, .eml, MH, mbox files in a zip or tar --------------------------------------------------


def _junk(parts: tuple[str, ...]) -> bool:
    name = parts[-1]
    return (
        any(p in _JUNK_PARTS for p in parts[:-1])
        or (len(parts) >= 2 and parts[-2] == "tmp")  # a Maildir's messages still being delivered
        or name.startswith(("._", "dovecot", "courier", ".DS_Store"))
        or name in ("maildirfolder", "subscriptions", "maildirsize", ".subscriptions")
        or name.lower().endswith(_JUNK_SUFFIXES)
    )


def _mbox_folder(parts: tuple[str, ...]) -> tuple[str, ...]:
    """Thunderbird keeps `Inbox` beside `Inbox.sbd/Sub`; Apple Mail writes `Inbox.mbox/mbox`."""
    dirs = [p[:-4] if p.endswith(".sbd") else p for p in parts[:-1]]
    name = parts[-1]
    if name == "mbox" and dirs and dirs[-1].lower().endswith(".mbox"):
        return (*dirs[:-1], dirs[-1][:-5])
    for suffix in _MBOX_SUFFIXES:
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            return (*dirs, name[: -len(suffix)])
    return (*dirs, name)


def _maildir_folders(wheres: set[tuple[str, ...]]) -> dict[tuple[str, ...], tuple[str, ...]]:
    """The IMAP folder of each directory that holds cur/new. Maildir++ names a folder `.Sub.Folder` beside
    cur/new of the top; other layouts nest folders as directories. The top (INBOX) is the directory no other
    one is above; several tops (a zip of `Inbox/`, `Sent/`) are named by their path below their common
    parent."""
    plain = {w for w in wheres if not (w and w[-1].startswith(".") and len(w[-1]) > 1)}
    tops = [w for w in plain if not any(w[: len(o)] == o and o != w for o in plain)]
    common = _common_prefix(tops) if len(tops) > 1 else (tops[0] if tops else ())
    folders: dict[tuple[str, ...], tuple[str, ...]] = {}
    for where in wheres:
        if where not in plain:
            folders[where] = tuple(decode_modified_utf7(p) for p in where[-1][1:].split(".") if p)
            continue
        top = next((t for t in tops if where[: len(t)] == t), where)
        base = common if len(tops) > 1 else top
        folders[where] = where[len(base) :]
    return folders


def _common_prefix(paths: list[tuple[str, ...]]) -> tuple[str, ...]:
    first = paths[0]
    n = 0
    while n < len(first) and all(len(p) > n and p[n] == first[n] for p in paths):
        n += 1
    return first[:n]


def classify(members: Iterable[Member], *, pst: bool = False) -> tuple[list[Source], list[Member]]:
    """Which members hold mail and how to read them; the rest is returned apart (the log counts it).
    `pst`: the tree is readpst's output, whose top folder is the PST's store ("Personal folders")."""
    sources: list[Source] = []
    ignored: list[Member] = []
    maildir: list[tuple[tuple[str, ...], Member]] = []
    for member in members:
        parts = member.parts[1:] if pst and len(member.parts) > 1 else member.parts
        if not parts or _junk(parts):
            ignored.append(member)
        elif len(parts) >= 2 and parts[-2] in ("cur", "new"):
            maildir.append((parts[:-2], member))
        elif parts[-1].lower().endswith(".eml"):
            sources.append(Source("eml", parts[:-1], member, pst=pst))
        elif parts[-1].lower().endswith(_MBOX_SUFFIXES) or looks_like_mbox(member.path):
            sources.append(Source("mbox", _mbox_folder(parts), member))
        elif parts[-1].isdigit() and _looks_like_message(member.path):
            sources.append(Source("eml", parts[:-1], member))  # an MH folder (readpst -M writes these)
        else:
            ignored.append(member)
    folders = _maildir_folders({where for where, _m in maildir})
    sources += [Source("maildir", folders[where], member) for where, member in maildir]
    sources.sort(key=lambda s: (s.folder, s.kind, _order(s.member.parts[-1])))
    return sources, ignored


def _order(name: str) -> tuple[int, str]:
    digits = re.match(r"\d+", name)
    return (int(digits.group()) if digits else 0, name)


def _looks_like_message(path: Path) -> bool:
    with path.open("rb") as f:
        return bool(_HEADER_LINE.match(f.readline(1000)))


def _file_message(source: Source, *, limit: int, done: int) -> ArchiveMessage:
    member = source.member
    where = "/".join(member.parts)
    mtime = datetime.fromtimestamp(member.mtime, UTC) if member.mtime else None
    if member.size > limit:
        return ArchiveMessage(source.folder, None, member.size, frozenset(), mtime, where, done)
    data = member.path.read_bytes()
    if source.pst:
        data = _LIBPST_BOUNDARY.sub(_STABLE_BOUNDARY, data)
    found = headers.fields(headers.header_block(headers.crlf(data[: 256 * 1024])))
    if source.kind == "maildir":
        name = member.parts[-1]
        info = _MAILDIR_INFO.search(name)
        flags = frozenset(_MAILDIR_FLAGS[c] for c in (info.group(1) if info else "") if c in _MAILDIR_FLAGS)
        stamp = _MAILDIR_TIME.match(name)
        when = datetime.fromtimestamp(int(stamp.group(1)), UTC) if stamp else mtime
    else:
        flags = headers.status_flags(found)
        when = headers.parse_date(found.get(b"date")) or mtime
    return ArchiveMessage(source.folder, data, len(data), flags, when, where, done)


def read_sources(sources: Iterable[Source], *, limit: int) -> Iterator[ArchiveMessage]:
    """Every message of the sources in order; `done` counts the bytes of the files read so far."""
    done = 0
    for source in sources:
        if source.kind == "mbox":
            yield from read_mbox(source.member.path, source.folder, limit=limit, base=done)
        else:
            yield _file_message(source, limit=limit, done=done + source.member.size)
        done += source.member.size
