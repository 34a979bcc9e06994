"""What the mail import and the mail restore read in a message's header: the flags an archive kept there
(Status, X-Status), the Date, and the key that says "this message is already in the folder" (Message-ID,
Date, size).

The same functions read the archive's copy and what Cyrus returns for the messages already in a folder
(BODY.PEEK[HEADER.FIELDS ...], BODY.PEEK[HEADER]), so both sides compute equal keys for equal messages.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from email.utils import parsedate_tz

# The line endings IMAP carries (CRLF); imaplib turns lone CR and LF into CRLF the same way before APPEND.
_LINE_END = re.compile(rb"\r\n|\r(?!\n)|\n")
_FIELD = re.compile(rb"^([!-9;-~]+)[ \t]*:(.*)$", re.DOTALL)
_SPACES = re.compile(rb"\s+")

SEEN = "\\Seen"
ANSWERED = "\\Answered"
FLAGGED = "\\Flagged"
DRAFT = "\\Draft"
FORWARDED = "$Forwarded"

# Key of a message for "already imported": (Message-ID or "#" + hash of the header, Date, size in octets).
Key = tuple[str, str, int]


def crlf(data: bytes) -> bytes:
    """The message as it will be stored: every line ending CRLF (Cyrus counts RFC822.SIZE this way)."""
    return _LINE_END.sub(b"\r\n", data)


def header_block(data: bytes) -> bytes:
    """The header of a CRLF message up to and including the empty line (what BODY[HEADER] returns)."""
    end = data.find(b"\r\n\r\n")
    return data if end < 0 else data[: end + 4]


def fields(block: bytes) -> dict[bytes, bytes]:
    """The first occurrence of each header field in a header block (lower-case names, unfolded values)."""
    found: dict[bytes, bytes] = {}
    name: bytes | None = None
    value = b""
    for line in _LINE_END.split(block):
        if not line:
            break
        if line[:1] in (b" ", b"\t") and name is not None:
            value += b" " + line.strip()
            continue
        if name is not None and name not in found:
            found[name] = value.strip()
        match = _FIELD.match(line)
        name, value = (match.group(1).lower(), match.group(2)) if match else (None, b"")
    if name is not None and name not in found:
        found[name] = value.strip()
    return found


def _text(value: bytes | None) -> str:
    return _SPACES.sub(b" ", value or b"").strip().decode("utf-8", "replace")


def key_of(message_id: bytes | None, date: bytes | None, size: int, header: bytes | None) -> Key:
    ident = _text(message_id)
    if not ident:
        ident = "#" + hashlib.sha256(header or b"").hexdigest()
    return (ident, _text(date), size)


def message_key(data: bytes) -> Key:
    """The key of a CRLF message."""
    block = header_block(data)
    found = fields(block)
    return key_of(found.get(b"message-id"), found.get(b"date"), len(data), block)


def status_flags(found: dict[bytes, bytes]) -> frozenset[str]:
    """IMAP flags from the Status / X-Status fields that mbox writers (mutt, Thunderbird, readpst) keep.
    D (deleted) is not carried over: a message an archive still holds is one its owner kept."""
    status = found.get(b"status", b"").upper()
    extra = found.get(b"x-status", b"").upper()
    flags = set()
    if b"R" in status:
        flags.add(SEEN)
    if b"A" in extra:
        flags.add(ANSWERED)
    if b"F" in extra:
        flags.add(FLAGGED)
    if b"T" in extra:
        flags.add(DRAFT)
    return frozenset(flags)


def parse_date(value: bytes | None) -> datetime | None:
    """A Date field as an aware datetime; None if it cannot be read. readpst sometimes writes the date twice,
    comma-joined ("Mon, 29 Oct 2001 ... (PST),Mon, 29 Oct ..."): the first one counts."""
    if not value:
        return None
    text = value.decode("ascii", "replace")
    candidates = [text]
    pieces = text.split(",")
    if len(pieces) > 2:
        candidates.append(",".join(pieces[:2]))
    for candidate in candidates:
        parsed = parsedate_tz(candidate)
        if parsed is None:
            continue
        try:
            naive = datetime(*parsed[:6])  # noqa: DTZ001 — the offset is applied below
        except ValueError:
            continue
        offset = parsed[9] or 0
        when = naive.replace(tzinfo=UTC).timestamp() - offset
        if 0 < when < 4102444800:  # 1970..2100: Cyrus stores 32-bit-safe dates
            return datetime.fromtimestamp(when, UTC)
    return None
