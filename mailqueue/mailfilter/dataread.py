"""Reading an SMTP DATA section in bulk, with the answers aiosmtpd gives (tests compare the two).

aiosmtpd reads DATA a line per await; this takes whatever has arrived in one go, looks for the CRLF.CRLF end
and consumes no byte past it (what follows is the next command). The limits are judged as aiosmtpd judges
them, on the lines as sent (before dot-unstuffing): a line longer than the line-length limit answers 500, a
message over the size limit 552, and when a message has both faults, the one aiosmtpd meets first wins. Both
answers come only after the whole message was read; past the size limit the message is not kept.
"""

from __future__ import annotations

import asyncio

TOO_LONG = "500 Line too long (see RFC5321 4.5.3.1.6)"
TOO_MUCH = "552 Error: Too much mail data"
_END = b"\r\n.\r\n"


class Refused(str):
    """The reply for a message that broke a limit."""


async def read_data(reader: asyncio.StreamReader, *, size_limit: int, line_limit: int) -> bytes | Refused:
    """The dot-unstuffed message, or the reply when it broke a limit. `line_limit` counts the CRLF (aiosmtpd's
    line_length_limit); a `size_limit` of 0 means none."""
    buffer: bytearray = reader._buffer  # type: ignore[attr-defined]
    longest = line_limit - 2  # longest line without its CRLF
    # A CRLF before the first line, so that an empty message (".\r\n") and a dot-stuffed first line look like
    # any other line; taken off at the end.
    data = bytearray(b"\r\n")
    over: _Overflow | None = None
    while True:
        if not buffer:
            more = await reader.read(1)  # waits for the next bytes; the rest of them stay in the buffer
            if not more:
                raise asyncio.CancelledError  # the client went away mid-message
            if over is not None:
                over.feed(more)
            data += more
            if data.endswith(_END):  # this byte was the last of the end
                break
            continue
        tail = bytes(data[-4:])
        found = (tail + buffer).find(_END)
        chunk = await reader.readexactly(len(buffer) if found < 0 else found + len(_END) - len(tail))
        if over is not None:
            over.feed(chunk)
        data += chunk
        if found >= 0:
            break
        # Over the limit for certain (even if the last 3 bytes turn out to be the end): decide the fault
        # from what is here, and keep no more of the message than an end spanning two reads needs.
        if size_limit and over is None and len(data) - 5 > size_limit:
            over = _Overflow(bytes(data[2:]), size_limit, longest)
        if over is not None:
            del data[:-4]
    if over is not None:
        return Refused(over.reply())
    stuffed = bytes(data[2:-3])
    if size_limit and len(stuffed) > size_limit:
        return Refused(_Overflow(stuffed, size_limit, longest).reply())
    if len(stuffed) > longest and max(len(line) for line in stuffed.split(b"\r\n")) > longest:
        return Refused(TOO_LONG)
    return bytes(data[:-3]).replace(b"\r\n.", b"\r\n")[2:]  # with the leading CRLF: the first line too


class _Overflow:
    """Which fault aiosmtpd would report for a message over the size limit: it counts whole lines, so the
    limit is crossed by the line holding byte number `limit`; a too-long line before it, or that line itself
    being too long, makes it 500 instead of 552. The crossing line may still be arriving: `feed` follows it
    until its CRLF (or until it is too long) without keeping it."""

    def __init__(self, prefix: bytes, limit: int, longest: int) -> None:
        self.longest = longest
        self.decided: str | None = None
        self.pending = 0
        self.last = b""
        start = prefix.rfind(b"\r\n", 0, limit)
        start = 0 if start < 0 else start + 2  # where the line holding byte `limit` begins
        if start and max(len(line) for line in prefix[: start - 2].split(b"\r\n")) > longest:
            self.decided = TOO_LONG
            return
        end = prefix.find(b"\r\n", start)
        if end >= 0:
            self.decided = TOO_LONG if end - start > longest else TOO_MUCH
            return
        self.pending = len(prefix) - start  # bytes of the crossing line so far
        self.last = prefix[-1:]
        self._check_pending()

    def feed(self, chunk: bytes) -> None:
        if self.decided is not None or not chunk:
            return
        found = (self.last + chunk).find(b"\r\n")
        if found >= 0:
            length = self.pending + found - len(self.last)  # up to the CR
            self.decided = TOO_LONG if length > self.longest else TOO_MUCH
            return
        self.pending += len(chunk)
        self.last = chunk[-1:]
        self._check_pending()

    def _check_pending(self) -> None:
        # a CR at the end may be half of the CRLF: only count it as line once more has come
        if self.pending - (self.last == b"\r") > self.longest:
            self.decided = TOO_LONG

    def reply(self) -> str:
        return self.decided or TOO_MUCH
