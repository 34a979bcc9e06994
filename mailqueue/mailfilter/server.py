"""The SMTP side of the filter: Postfix's `mailfilter` transport delivers here; every message goes back into
Postfix through the re-injection smtpd (which has no content_filter, so nothing loops).

The filter answers 250 only after the re-injection smtpd accepted the message, so Postfix deletes its
copy only once the next copy is safe in the queue; any failure is a 4xx and Postfix tries again later. If the
filter is not running at all, Postfix's smtp client gets "connection refused" and defers: mail waits, never
lost.

Everything runs on one event loop: reading, rewriting and re-injecting a message cost no thread hop. Only what
may block goes to a worker thread: a disclaimer lookup that is not cached (LDAP), and rewriting a big message.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.smtp import MISSING, SMTP, Envelope, Session

from mailqueue.mailfilter.choose import Chooser
from mailqueue.mailfilter.dataread import Refused, read_data
from mailqueue.mailfilter.reinject import Client, RefusedError, Reinject, ReinjectError
from mailqueue.mailfilter.rewrite import Disclaimer, add_disclaimer

__all__ = ["FilterHandler", "FilterSMTP", "Reinject", "serve"]

log = logging.getLogger("mailadmin.mailfilter")
BIG = 256 * 1024  # bytes: a message this size is rewritten in a worker thread, not on the event loop


class FilterHandler:
    def __init__(self, chooser: Chooser, reinject: Reinject) -> None:
        self.chooser = chooser
        self.reinject = reinject
        self.client = Client(reinject)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        sender = envelope.mail_from or ""
        recipients = list(envelope.rcpt_tos)
        raw = envelope.original_content or b""
        try:
            if len(raw) < BIG and self.chooser.cached(sender, recipients):
                batches = self.batches(sender, recipients, raw)
            else:
                loop = asyncio.get_running_loop()
                batches = await loop.run_in_executor(None, self.batches, sender, recipients, raw)
            for rcpts, data in batches:
                await self.client.send(sender, rcpts, data)
        except RefusedError as exc:
            return exc.reply
        except (OSError, TimeoutError, ReinjectError) as exc:
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


class FilterSMTP(SMTP):
    """aiosmtpd's SMTP with two fast paths, both answering exactly what aiosmtpd answers (tests compare them).

    Addresses: aiosmtpd parses every MAIL FROM and RCPT TO with the email package's RFC 5322 parser and
    defines a class on each call (a tenth of the filter's time); a plain `<local@domain>`, which is what
    Postfix sends, is taken as it is. Anything else (quotes, a source route, white space, escapes) still goes
    through aiosmtpd's own parser.

    DATA: aiosmtpd reads the message a line at a time, an await and a list append per line (a quarter of the
    filter's time); dataread.read_data takes what has arrived in one go, with the same answers.
    """

    async def smtp_DATA(self, arg: str) -> None:  # noqa: N802
        if not isinstance(getattr(self._reader, "_buffer", None), bytearray) or self._decode_data:
            await super().smtp_DATA(arg)  # an asyncio without the buffer this reads: aiosmtpd's own way
            return
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        envelope = self.envelope
        if envelope is None or not envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        try:
            content = await read_data(
                self._reader, size_limit=self.data_size_limit or 0, line_limit=self.line_length_limit
            )
        except asyncio.CancelledError:
            log.info("connection lost during DATA")
            self._writer.close()
            raise
        if isinstance(content, Refused):
            await self.push(content)
            self._set_post_data_state()
            return
        envelope.content = content
        envelope.original_content = content
        status = await self._call_handler_hook("DATA")
        self._set_post_data_state()
        await self.push("250 OK" if status is MISSING else status)

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
