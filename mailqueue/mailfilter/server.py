"""The SMTP side of the filter: Postfix's `mailfilter` transport delivers here; every message goes back into
Postfix through the re-injection smtpd (which has no content_filter, so nothing loops).

The filter answers 250 only after the re-injection smtpd accepted the message, so Postfix deletes its
copy only once the next copy is safe in the queue; any failure is a 4xx and Postfix tries again later. If the
filter is not running at all, Postfix's smtp client gets "connection refused" and defers: mail waits, never
lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import smtplib
import threading
import time
from dataclasses import dataclass
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from mailqueue.mailfilter.choose import Chooser
from mailqueue.mailfilter.rewrite import Disclaimer, add_disclaimer

log = logging.getLogger("mailadmin.mailfilter")
IDLE = 30.0  # seconds a re-injection connection may wait in the pool (Postfix smtpd_timeout is 300 s)


@dataclass(frozen=True)
class Reinject:
    host: str
    port: int
    timeout: float = 60.0


class RefusedError(Exception):
    def __init__(self, reply: str) -> None:
        super().__init__(reply)
        self.reply = reply


class _Pool:
    """Open connections to the re-injection smtpd, reused message after message (saves a connect, a banner
    and an EHLO per message). A connection that failed is never returned."""

    def __init__(self, reinject: Reinject, size: int = 16) -> None:
        self.reinject = reinject
        self.size = size
        # a plain list under a lock (the stdlib `queue` name is shadowed by bench/queue.py for mypy)
        self._idle: list[tuple[smtplib.SMTP, float]] = []
        self._lock = threading.Lock()

    def get(self) -> tuple[smtplib.SMTP, bool]:
        """(connection, fresh). Connections idle for more than IDLE seconds are closed, well before the
        smtpd's own idle timeout would answer 421 to the next command."""
        now = time.monotonic()
        stale = []
        found = None
        with self._lock:
            while self._idle:
                smtp, since = self._idle.pop()
                if now - since < IDLE:
                    found = smtp
                    break
                stale.append(smtp)
        for smtp in stale:
            _close(smtp)
        if found is not None:
            return found, False
        smtp = smtplib.SMTP(self.reinject.host, self.reinject.port, timeout=self.reinject.timeout)
        smtp.ehlo("mailfilter.localhost")
        return smtp, True

    def put(self, smtp: smtplib.SMTP) -> None:
        with self._lock:
            if len(self._idle) < self.size:
                self._idle.append((smtp, time.monotonic()))
                return
        _close(smtp)


def _close(smtp: smtplib.SMTP) -> None:
    with contextlib.suppress(OSError, smtplib.SMTPException):
        smtp.quit()
    with contextlib.suppress(OSError):
        smtp.close()


class FilterHandler:
    def __init__(self, chooser: Chooser, reinject: Reinject) -> None:
        self.chooser = chooser
        self.reinject = reinject
        self.pool = _Pool(reinject)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        loop = asyncio.get_running_loop()
        # LDAP lookups and the re-injection block: a worker thread keeps the other connections moving.
        return await loop.run_in_executor(None, self.process, envelope)

    def process(self, envelope: Envelope) -> str:
        sender = envelope.mail_from or ""
        recipients = list(envelope.rcpt_tos)
        raw = envelope.original_content or b""
        try:
            batches = self.batches(sender, recipients, raw)
            for rcpts, data in batches:
                self.send(sender, rcpts, data)
        except RefusedError as exc:
            return exc.reply
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("re-injection to %s:%s failed: %s", self.reinject.host, self.reinject.port, exc)
            return "451 4.3.0 Re-injection failed, try again later"
        except Exception:  # never lose mail over a bug: Postfix keeps it and retries
            log.exception("filter error")
            return "451 4.3.0 Content filter error, try again later"
        return "250 2.0.0 Ok: filtered"

    def batches(self, sender: str, recipients: list[str], raw: bytes) -> list[tuple[list[str], bytes]]:
        """One copy with the disclaimer for the recipients who get it, one as it came for the rest."""
        chosen = self.chooser.for_sender(sender)
        if chosen is None:
            return [(recipients, raw)]
        if chosen.outbound_only:
            with_it = [r for r in recipients if not self.chooser.hosted(r)]
        else:
            with_it = recipients
        without = [r for r in recipients if r not in with_it]
        out: list[tuple[list[str], bytes]] = []
        if with_it:
            changed = add_disclaimer(raw, Disclaimer(key=chosen.dn, text=chosen.text, html=chosen.html))
            out.append((with_it, changed if changed is not None else raw))
        if without:
            out.append((without, raw))
        return out

    def send(self, sender: str, recipients: list[str], data: bytes) -> None:
        smtp, fresh = self.pool.get()
        try:
            code, reply = smtp.mail(sender)
            if code == 421 and not fresh:
                raise smtplib.SMTPServerDisconnected("421 on a pooled connection")
        except (OSError, smtplib.SMTPServerDisconnected):
            _close(smtp)
            if fresh:
                raise
            # a pooled connection the smtpd closed meanwhile (reload, restart): once more on a new one
            smtp, _fresh = self.pool.get()
            code, reply = smtp.mail(sender)
        try:
            self._transaction(smtp, code, reply, recipients, data)
        except BaseException:
            _close(smtp)
            raise
        self.pool.put(smtp)

    @staticmethod
    def _transaction(smtp: smtplib.SMTP, code: int, reply: bytes, recipients: list[str], data: bytes) -> None:
        if code != 250:
            raise RefusedError(_reply(code, reply))
        for rcpt in recipients:
            code, reply = smtp.rcpt(rcpt)
            if code not in (250, 251):
                # all or nothing: Postfix gets one answer for the whole message
                raise RefusedError(_reply(code, reply))
        code, reply = smtp.data(data)
        if code != 250:
            raise RefusedError(_reply(code, reply))


def _reply(code: int, reply: bytes) -> str:
    text = reply.decode("ascii", errors="replace").replace("\r", " ").replace("\n", " ")[:200]
    if 400 <= code < 600:
        return f"{code} {text}"
    return "451 4.3.0 Unexpected answer from the re-injection smtpd"


class FilterSMTP(SMTP):
    """aiosmtpd's SMTP with a fast path for the plain `<local@domain>` addresses Postfix sends.

    aiosmtpd parses every MAIL FROM and RCPT TO with the email package's RFC 5322 parser and defines a class
    on each call: a tenth of the filter's time. Anything not plainly `<address>` (quotes, a source route,
    white space, escapes) still goes through aiosmtpd's own parser.
    """

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        text = arg.lstrip()
        end = text.find(">")
        if text.startswith("<") and end > 0 and not self.local_part_limit:
            address = text[1:end]
            plain = address.isascii() and address.isprintable() and _NOT_PLAIN.isdisjoint(address)
            if plain and address.count("@") == 1:
                return address, text[end + 1 :].lstrip()
        return super()._getaddr(arg)


_NOT_PLAIN = frozenset('"\\ \t,:;<>()[]')


async def serve(
    handler: FilterHandler, host: str, port: int, *, data_size_limit: int, ready: Any = None
) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: FilterSMTP(
            handler,
            hostname="mailfilter.localhost",
            data_size_limit=data_size_limit,
            decode_data=False,
            enable_SMTPUTF8=False,
            ident="mailadmin mailfilter",
        ),
        host=host,
        port=port,
        reuse_address=True,
    )
    if ready is not None:
        ready()
    async with server:
        await server.serve_forever()
