"""CSV import of accounts (new; the same fields as the LDIF import, TLS-03): one ImportEntry per row.

The file: a header row names the columns (COLUMNS, the LDAP attribute names the LDIF import uses; any
order, any case), then one account per row. UTF-8 with or without a byte order mark; a file that is not
UTF-8 (a Latin-1 or Windows-1252 export) is refused as a whole with a message that says how to save it
as UTF-8, because guessing an encoding silently turns "Müller" into "MÃ¼ller" in the directory. The
delimiter is whichever of `,` `;` and tab the header row holds most of (a German spreadsheet writes `;`).
Quoted cells may hold delimiters, quotes ("") and line breaks.

Rows are numbered as a spreadsheet shows them: the header is row 1, a cell with a line break does not start
a new row. Per row: a wrong number of cells, an unreadable `disabled` value or a missing login or last name
refuses that row (EntryProblem); the rest go on. File-level problems (not UTF-8, no header, missing or unknown
columns, a row over MAX_ROW characters) are an EntryProblem with `where` = FILE_WHERE, and nothing of the file
after them is read: the pipeline refuses the whole file.

Cells are text. A cell that starts with `=` is a name like any other here (a login `=cmd` fails the login
check); the export puts a `'` before such cells so spreadsheets do not run them, and the import takes
exactly that one `'` away again (`unneutralise`), so an export imports unchanged.

Streams: the upload is read in CHUNK-sized pieces and handed to the csv module line by line; no row may grow
past MAX_ROW bytes, so memory stays bounded whatever the file holds.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import BinaryIO

from accounts.services.person import KEY_BY_ATTR
from mailadmin.directory import scheme_of
from migration.entries import FILE_WHERE, EntryProblem, ImportEntry

CHUNK = 64 * 1024
MAX_ROW = 64 * 1024  # bytes of one row, header included
PERSON_ATTRS = KEY_BY_ATTR  # LDAP attribute -> person key
# The columns, in the order the export writes them.
COLUMNS: tuple[str, ...] = (
    "uid",
    "givenName",
    "sn",
    "cn",
    "initials",
    "mail",
    "mailAlias",
    "mailForward",
    *PERSON_ATTRS,  # displayName first, then the manual's other person fields
    "container",
    "disabled",
    "userPassword",
)
REQUIRED = ("uid",)
NAME_COLUMNS = ("sn", "cn")  # at least one of them
_CANONICAL = {name.lower(): name for name in COLUMNS}
_DELIMITERS = (",", ";", "\t")
_EOL = re.compile(rb"\r\n|\n|\r")
_LIST_SPLIT = re.compile(r"[\s;,]+")
# What the export neutralises: a spreadsheet takes a cell starting with one of these for a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_YES = frozenset({"yes", "y", "true", "1", "ja", "x"})
_NO = frozenset({"no", "n", "false", "0", "nein", ""})
_SHOWN_NAME = re.compile(r"[^\w .@-]")


class _FileProblem(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def unneutralise(value: str) -> str:
    """The inverse of the export's `neutralise`: one leading `'` goes if what follows it (after any further
    `'`) would start a formula. Everything else stays as it is."""
    if value.startswith("'") and value.lstrip("'")[:1] in FORMULA_STARTS and value.lstrip("'"):
        return value[1:]
    return value


class _Lines:
    """The upload as text lines (line ends kept, for quoted line breaks), read in chunks.

    Lines are split as bytes and each one is decoded as UTF-8 on its own (a CR or LF byte is never part of a
    multi-byte UTF-8 character), so a bad byte is reported with its row and the rows before it stand.
    `pending` counts the bytes handed out since `record_done()`: a row longer than MAX_ROW is a file
    problem, as the end of a quoted cell can only be found by reading on."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.pending = 0
        self.row = 1  # the row being read, for messages
        self.first = True

    def record_done(self) -> None:
        self.pending = 0

    def _hand_out(self, raw: bytes) -> str:
        self.pending += len(raw)
        if self.pending > MAX_ROW:
            raise _FileProblem(
                f"Row {self.row} is longer than {MAX_ROW // 1024} KiB (a quote that is never closed?); "
                "the file is refused from there on."
            )
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _FileProblem(
                f"The file is not UTF-8 text (row {self.row} holds a byte that is not UTF-8; Latin-1 and "
                "Windows files are refused rather than guessed). Save it as \u201cCSV UTF-8\u201d in your "
                "spreadsheet, or convert it with: iconv -f latin1 -t utf-8 old.csv > new.csv"
            ) from exc
        if self.first:
            self.first = False
            line = line.removeprefix("\ufeff")  # the byte order mark Excel writes
        return line

    def __iter__(self) -> Iterator[str]:
        buffer = b""
        while True:
            chunk = self.stream.read(CHUNK)
            if not isinstance(chunk, bytes):
                raise _FileProblem("The upload could not be read as a file.")
            buffer += chunk
            start = 0
            for match in _EOL.finditer(buffer):
                if match.group() == b"\r" and match.end() == len(buffer) and chunk:
                    break  # a CR at the end of a chunk may be the first half of CRLF
                yield self._hand_out(buffer[start : match.end()])
                start = match.end()
            buffer = buffer[start:]
            if self.pending + len(buffer) > MAX_ROW:
                self._hand_out(buffer)  # raises
            if not chunk:
                if buffer:
                    yield self._hand_out(buffer)
                return


def _count_outside_quotes(line: str, char: str) -> int:
    count, quoted = 0, False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif ch == char and not quoted:
            count += 1
    return count


def _shown(name: str) -> str:
    """A column name as a message may show it: no markup or control characters, at most 40 characters."""
    cleaned = _SHOWN_NAME.sub("?", name)
    return cleaned[:40] + ("\u2026" if len(cleaned) > 40 else "")


def _header(cells: list[str]) -> tuple[list[str | None], list[str]]:
    """(column name per position (None: unnamed), file problems)."""
    names: list[str | None] = []
    unknown: list[str] = []
    seen: set[str] = set()
    problems: list[str] = []
    for cell in cells:
        raw = cell.strip().removeprefix("\ufeff")
        if not raw:
            names.append(None)
            continue
        name = _CANONICAL.get(raw.lower())
        if name is None:
            unknown.append(_shown(raw))
        elif name in seen:
            problems.append(f"The column {name} appears twice in the header row.")
        else:
            seen.add(name)
        names.append(name)
    if unknown:
        problems.append(
            "Unknown columns in the header row: " + ", ".join(unknown) + ". The columns are: "
            + ", ".join(COLUMNS) + "."
        )  # fmt: skip
    missing = [c for c in REQUIRED if c not in seen]
    if not any(c in seen for c in NAME_COLUMNS):
        missing.append("sn (or cn)")
    if missing:
        problems.append("The header row lacks the required columns: " + ", ".join(missing) + ".")
    return names, problems


def _split_list(value: str) -> tuple[str, ...]:
    return tuple(part for part in _LIST_SPLIT.split(value) if part)


def _entry(where: str, row: Mapping[str, str]) -> ImportEntry | EntryProblem:
    uid = row.get("uid", "")
    if not uid:
        return EntryProblem(where, "The row has no login name (uid).")
    last, first = row.get("sn", ""), row.get("givenName", "")
    if not last:
        # cn alone: its last word is the last name, the words before it the first name
        words = row.get("cn", "").split()
        if not words:
            return EntryProblem(where, "The row has no last name (sn) and no name (cn).", uid)
        last, first = words[-1], first or " ".join(words[:-1])
    disabled = row.get("disabled", "").lower()
    if disabled not in _YES and disabled not in _NO:
        return EntryProblem(where, "The column disabled takes yes or no.", uid)
    secret = row.get("userPassword", "")
    hashed = bool(scheme_of(secret))
    return ImportEntry(
        where=where,
        uid=uid,
        last_name=last,
        first_name=first,
        initials=row.get("initials", ""),
        mail=row.get("mail", ""),
        aliases=_split_list(row.get("mailAlias", "")),
        forwards=_split_list(row.get("mailForward", "")),
        person={key: row[attr] for attr, key in PERSON_ATTRS.items() if row.get(attr)},
        password="" if hashed else secret,
        password_hash=secret if hashed else "",
        container_dn=row.get("container", ""),
        disabled=disabled in _YES,
    )


def _row(where: str, names: list[str | None], cells: list[str]) -> ImportEntry | EntryProblem:
    if len(cells) != len(names):
        at = names.index("uid")  # the header has it (checked): name the row's login if it has that cell
        return EntryProblem(
            where,
            f"The row has {len(cells)} cells; the header row names {len(names)} columns.",
            cells[at].strip() if at < len(cells) else "",
        )
    row: dict[str, str] = {}
    for name, cell in zip(names, cells, strict=True):
        if name is None:
            if cell.strip():
                return EntryProblem(where, "The row has a value in a column without a name.")
            continue
        # A password is taken exactly as written; every other cell loses surrounding spaces.
        row[name] = cell if name == "userPassword" else unneutralise(cell.strip())
    return _entry(where, row)


def _delimiter(header_line: str) -> str:
    counts = {d: _count_outside_quotes(header_line, d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def parse_csv(stream: BinaryIO, *, where_prefix: str = "row") -> Iterator[ImportEntry | EntryProblem]:
    """One ImportEntry or EntryProblem per data row of the CSV upload `stream` (see the module doc)."""
    lines = _Lines(stream)
    try:
        yield from _parse(lines, where_prefix)
    except _FileProblem as exc:
        yield EntryProblem(FILE_WHERE, exc.reason)


def _parse(lines: _Lines, where_prefix: str) -> Iterator[ImportEntry | EntryProblem]:
    source = iter(lines)
    header_line = next((line for line in source if line.strip()), None)
    if header_line is None:
        raise _FileProblem(
            "The file is empty: it needs a header row naming the columns, then one row per account."
        )
    reader = csv.reader(_chain(header_line, source), delimiter=_delimiter(header_line))
    try:
        cells = next(reader)
    except csv.Error as exc:
        raise _FileProblem(f"The header row cannot be read as CSV ({exc}).") from exc
    lines.record_done()
    names, problems = _header(cells)
    if problems:
        for reason in problems:
            yield EntryProblem(FILE_WHERE, reason)
        return
    while True:
        lines.row += 1
        where = f"{where_prefix} {lines.row}"
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            lines.record_done()
            yield EntryProblem(where, f"The row cannot be read as CSV ({exc}).")
            continue
        lines.record_done()
        if not any(cell.strip() for cell in cells):
            continue  # an empty row (a spreadsheet's trailing lines)
        yield _row(where, names, cells)


def _chain(first: str, rest: Iterable[str]) -> Iterator[str]:
    yield first
    yield from rest
