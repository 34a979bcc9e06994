"""Handing a filtered message back to Postfix: an asyncio SMTP client for the re-injection smtpd, with a pool
of open connections, on the filter's own event loop (no thread per message).

One message is one transaction: MAIL and every RCPT go in one write (the smtpd offers PIPELINING) and their
answers are read together; DATA is sent only when all of them were accepted, so a message is re-injected for
every recipient or for none (Postfix gets one answer for the whole message and retries it whole).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

IDLE = 30.0  # seconds a connection may wait in the pool (Postfix smtpd_timeout is 300 s)
_BARE_EOL = re.compile(rb"\r\n|\n|\r(?!\n)")
_LEADING_DOT = re.compile(rb"(?m)^\.")


@dataclass(frozen=True)
class Reinject:
    host: str
    port: int
    timeout: float = 60.0


class RefusedError(Exception):
    """The smtpd answered 4xx/5xx (or something unexpected): `reply` is what the filter answers Postfix."""

    def __init__(self, reply: str) -> None:
        super().__init__(reply)
        self.reply = reply


class ReinjectError(Exception):
    """The connection broke or timed out: the message is not re-injected (Postfix tries again)."""


class _Connection:
    """One connection to the smtpd. No timeouts of its own: Client.send puts one over the whole message."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.since = time.monotonic()

    async def reply(self) -> tuple[int, bytes]:
        """One (possibly multi-line) reply: its code and its text."""
        lines = []
        while True:
            line = await self.reader.readline()
            if not line.endswith(b"\n"):
                raise ReinjectError("connection closed by the re-injection smtpd")
            lines.append(line[4:].rstrip(b"\r\n"))
            if line[3:4] != b"-":
                break
        try:
            code = int(line[:3])
        except ValueError as exc:
            raise ReinjectError(f"not an SMTP reply: {line[:40]!r}") from exc
        return code, b" ".join(lines)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


class Client:
    """Re-injects messages over pooled connections. Used from one event loop only."""

    def __init__(self, reinject: Reinject, size: int = 16) -> None:
        self.reinject = reinject
        self.size = size
        self._idle: list[_Connection] = []

    async def send(self, sender: str, recipients: list[str], data: bytes) -> None:
        """Re-inject one message. Raises RefusedError, ReinjectError, OSError or TimeoutError when it was
        not taken. The whole exchange has one deadline: the configured timeout plus a second per MB."""
        async with asyncio.timeout(self.reinject.timeout + len(data) / 1_000_000):
            await self._send(sender, recipients, data)

    async def _send(self, sender: str, recipients: list[str], data: bytes) -> None:
        conn, fresh = await self._get()
        try:
            await self._envelope(conn, sender, recipients)
        except (ReinjectError, OSError):
            conn.close()
            if fresh:
                raise
            # a pooled connection the smtpd closed meanwhile (reload, restart): once more on a new one.
            # Only before DATA: after it, the smtpd may have the message already.
            conn, _fresh = await self._get(reuse=False)
            await self._use(conn, self._envelope(conn, sender, recipients))
        except RefusedError:
            self._put(conn)  # the smtpd said no, and RSET made the connection clean again
            raise
        except BaseException:
            conn.close()
            raise
        await self._use(conn, self._content(conn, data))
        self._put(conn)

    async def _use(self, conn: _Connection, step: Coroutine[Any, Any, None]) -> None:
        """Run one step on `conn`: a refusal leaves it clean for the pool, anything else closes it."""
        try:
            await step
        except RefusedError:
            self._put(conn)
            raise
        except BaseException:
            conn.close()
            raise

    @staticmethod
    async def _envelope(conn: _Connection, sender: str, recipients: list[str]) -> None:
        """MAIL and the RCPTs in one write; every answer must be yes. A refused envelope leaves the
        connection clean for the next message (RSET)."""
        for address in (sender, *recipients):
            if not address.isprintable():  # no CR/LF smuggled into the next command
                raise RefusedError("501 5.1.7 Address the filter cannot pass on")
        commands = [f"MAIL FROM:<{sender}>\r\n".encode()]
        commands += [f"RCPT TO:<{rcpt}>\r\n".encode() for rcpt in recipients]
        await conn.send(b"".join(commands))
        answers = []
        for _ in commands:
            code, text = await conn.reply()
            if code == 421:
                raise ReinjectError("421 from the re-injection smtpd")
            answers.append((code, text))
        refused = next(((c, t) for c, t in answers if c not in (250, 251)), None)
        if refused is not None:
            await conn.send(b"RSET\r\n")
            await conn.reply()
            raise RefusedError(_reply(*refused))

    @staticmethod
    async def _content(conn: _Connection, data: bytes) -> None:
        await conn.send(b"DATA\r\n")
        code, text = await conn.reply()
        if code != 354:
            raise RefusedError(_reply(code, text))
        await conn.send(_dot_stuffed(data))
        code, text = await conn.reply()
        if code != 250:
            raise RefusedError(_reply(code, text))

    async def _get(self, reuse: bool = True) -> tuple[_Connection, bool]:
        now = time.monotonic()
        while reuse and self._idle:
            conn = self._idle.pop()
            if now - conn.since < IDLE and not conn.reader.at_eof():
                return conn, False
            conn.close()  # idle too long: the smtpd would answer 421 to the next command
        try:
            reader, writer = await asyncio.open_connection(self.reinject.host, self.reinject.port)
        except OSError as exc:
            raise ReinjectError(f"cannot connect: {exc}") from exc
        conn = _Connection(reader, writer)
        try:
            code, text = await conn.reply()
            if code != 220:
                raise RefusedError(_reply(code, text))
            await conn.send(b"EHLO mailfilter.localhost\r\n")
            code, text = await conn.reply()
            if code != 250:
                raise RefusedError(_reply(code, text))
        except BaseException:
            conn.close()
            raise
        return conn, True

    def _put(self, conn: _Connection) -> None:
        if len(self._idle) < self.size:
            conn.since = time.monotonic()
            self._idle.append(conn)
        else:
            conn.close()

    def close(self) -> None:
        while self._idle:
            self._idle.pop().close()


def _dot_stuffed(data: bytes) -> bytes:
    """The message as DATA sends it: CRLF line ends, a dot doubled at the start of a line, the final dot."""
    if data.count(b"\n") != data.count(b"\r\n") or data.count(b"\r") != data.count(b"\r\n"):
        data = _BARE_EOL.sub(b"\r\n", data)
        stuffed = _LEADING_DOT.sub(b"..", data)
    else:
        stuffed = data.replace(b"\r\n.", b"\r\n..")
        if stuffed.startswith(b"."):
            stuffed = b"." + stuffed
    if stuffed and not stuffed.endswith(b"\r\n"):
        stuffed += b"\r\n"
    return stuffed + b".\r\n"


def _reply(code: int, text: bytes) -> str:
    clean = text.decode("ascii", errors="replace").replace("\r", " ").replace("\n", " ")[:200]
    if 400 <= code < 600:
        return f"{code} {clean}"
    return "451 4.3.0 Unexpected answer from the re-injection smtpd"
