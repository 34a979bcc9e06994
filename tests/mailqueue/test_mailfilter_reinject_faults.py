"""Faults the real re-injection smtpd cannot produce on demand, injected by a tiny fake SMTP server
(marker `fault`): a pooled connection that died, 421, a refused recipient, silence, 554 after the data,
CR/LF in an address. The Client must retry only before DATA and never send a message twice."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import pytest

from mailqueue.mailfilter import reinject
from mailqueue.mailfilter.reinject import Client, RefusedError, Reinject, ReinjectError

pytestmark = pytest.mark.fault

REFUSED = b"550 5.1.1 <refuse@x.test>: Recipient address rejected: User unknown"
MESSAGE = b"Subject: f\r\n\r\nbody\r\n..dot\r\n"


@dataclass
class Fake:
    """A scripted SMTP server. `mode`: "ok", "close_after_first" (closes after a message's 250),
    "close_on_pooled_mail" (a MAIL on a connection that carried a message: closed unanswered),
    "421_on_pooled_mail", "421_on_mail" (any MAIL), "silent" (not even a greeting), "silent_after_data",
    "drop_after_data" (closes unanswered), "554_after_data", "421_when_idle" (421, close after a message)."""

    mode: str = "ok"
    connections: list[list[bytes]] = field(default_factory=list)  # the lines each connection received
    messages: list[bytes] = field(default_factory=list)  # every message taken (after DATA, before the reply)
    port: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        lines: list[bytes] = []
        self.connections.append(lines)
        carried = 0
        try:
            if self.mode == "silent":
                await reader.read()
                return
            writer.write(b"220 fake ESMTP\r\n")
            while line := await reader.readline():
                lines.append(line)
                verb = line[:4].upper()
                if verb == b"EHLO":
                    writer.write(b"250-fake\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
                elif verb == b"MAIL" and carried and self.mode == "close_on_pooled_mail":
                    return
                elif verb == b"MAIL" and (carried or self.mode == "421_on_mail") and "421" in self.mode:
                    writer.write(b"421 4.3.2 Service shutting down\r\n")
                    return
                elif verb == b"RCPT" and b"refuse" in line:
                    writer.write(REFUSED + b"\r\n")
                elif verb in (b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                    writer.write(b"250 2.0.0 Ok\r\n")
                elif verb == b"DATA":
                    writer.write(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    data = bytearray()
                    while (part := await reader.readline()) not in (b".\r\n", b""):
                        data += part
                    self.messages.append(bytes(data))
                    carried += 1
                    if self.mode == "drop_after_data":
                        return
                    if self.mode == "silent_after_data":
                        await reader.read()
                        return
                    if self.mode == "554_after_data":
                        writer.write(b"554 5.7.1 Message content rejected\r\n")
                        continue
                    writer.write(b"250 2.0.0 Ok: queued as F00\r\n")
                    if self.mode == "421_when_idle":  # Postfix's smtpd_timeout: a 421, then it hangs up
                        writer.write(b"421 4.4.2 fake Error: timeout exceeded\r\n")
                        await writer.drain()
                        return
                    if self.mode == "close_after_first":
                        await writer.drain()
                        return
                elif verb == b"QUIT":
                    writer.write(b"221 2.0.0 Bye\r\n")
                    return
                else:
                    writer.write(b"502 5.5.2 Error: command not recognized\r\n")
                await writer.drain()
        finally:
            writer.close()

    def verbs(self, conn: int) -> list[bytes]:
        return [line.split(b":")[0].split(b" ")[0].rstrip(b"\r\n").upper() for line in self.connections[conn]]


def run(fake: Fake, body: Callable[[Client], Awaitable[None]], timeout: float = 5.0) -> None:
    """Start the fake on a free port, run `body` with a Client for it, close both."""

    async def main() -> None:
        server = await asyncio.start_server(fake.handle, "127.0.0.1", 0)
        fake.port = server.sockets[0].getsockname()[1]
        client = Client(Reinject("127.0.0.1", fake.port, timeout=timeout))
        try:
            await body(client)
        finally:
            client.close()
            server.close()
            await server.wait_closed()

    asyncio.run(main())


def test_fault_pool_sees_closed_connection_and_opens_a_new_one() -> None:
    fake = Fake("close_after_first")

    async def body(client: Client) -> None:
        await client.send("s@x.test", ["r@x.test"], MESSAGE)
        await asyncio.sleep(0.05)  # the close has arrived: the pool must not hand out that connection
        await client.send("s@x.test", ["r@x.test"], MESSAGE)

    run(fake, body)
    assert len(fake.messages) == 2
    assert len(fake.connections) == 2


def test_fault_pooled_connection_dead_before_data_retried_once_on_a_new_one() -> None:
    fake = Fake("close_on_pooled_mail")

    async def body(client: Client) -> None:
        await client.send("s@x.test", ["r@x.test"], MESSAGE)
        await client.send("s@x.test", ["r2@x.test"], MESSAGE)  # the pooled connection dies at MAIL

    run(fake, body)
    assert (
        fake.messages == [b"Subject: f\r\n\r\nbody\r\n...dot\r\n"] * 2
    )  # each once, dot-stuffed on the wire
    assert len(fake.connections) == 2
    assert fake.verbs(0) == [b"EHLO", b"MAIL", b"RCPT", b"DATA", b"MAIL"]  # closed while reading the MAIL
    assert fake.verbs(1) == [b"EHLO", b"MAIL", b"RCPT", b"DATA"]


def test_fault_421_on_pooled_connection_retried() -> None:
    fake = Fake("421_on_pooled_mail")

    async def body(client: Client) -> None:
        await client.send("s@x.test", ["r@x.test"], MESSAGE)
        await client.send("s@x.test", ["r@x.test"], MESSAGE)

    run(fake, body)
    assert len(fake.messages) == 2
    assert len(fake.connections) == 2
    assert b"DATA" in fake.verbs(1)


def test_fault_stale_421_from_idle_timeout_retried() -> None:
    """The 421 waits unread in the pooled connection's buffer, so the pool cannot see the close (at_eof is
    false): the Client sends MAIL, reads the 421, and retries on a new connection."""
    fake = Fake("421_when_idle")

    async def body(client: Client) -> None:
        await client.send("s@x.test", ["r@x.test"], MESSAGE)
        await asyncio.sleep(0.05)
        fake.mode = "ok"
        await client.send("s@x.test", ["r@x.test"], MESSAGE)

    run(fake, body)
    assert len(fake.messages) == 2
    assert len(fake.connections) == 2


def test_fault_idle_connection_not_reused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reinject, "IDLE", 0.05)
    fake = Fake()

    async def body(client: Client) -> None:
        await client.send("s@x.test", ["r@x.test"], MESSAGE)
        await asyncio.sleep(0.1)
        await client.send("s@x.test", ["r@x.test"], MESSAGE)

    run(fake, body)
    assert len(fake.connections) == 2
    assert fake.verbs(0) == [b"EHLO", b"MAIL", b"RCPT", b"DATA"]  # closed by the pool, nothing more sent


def test_fault_pool_keeps_at_most_size_connections() -> None:
    fake = Fake()

    async def body(client: Client) -> None:
        client.size = 2
        await asyncio.gather(*(client.send("s@x.test", [f"r{n}@x.test"], MESSAGE) for n in range(4)))
        assert len(client._idle) == 2
        await asyncio.gather(*(client.send("s@x.test", [f"r{n}@x.test"], MESSAGE) for n in range(2)))

    run(fake, body)
    assert len(fake.messages) == 6
    assert len(fake.connections) == 4  # four at once, then the two kept are used again


def test_fault_421_on_fresh_connection_not_retried() -> None:
    fake = Fake("421_on_mail")

    async def body(client: Client) -> None:
        with pytest.raises(ReinjectError):
            await client.send("s@x.test", ["r@x.test"], MESSAGE)

    run(fake, body)
    assert len(fake.connections) == 1
    assert fake.messages == []


def test_fault_refused_recipient_all_or_nothing() -> None:
    fake = Fake()
    caught: list[RefusedError] = []

    async def body(client: Client) -> None:
        with pytest.raises(RefusedError) as refused:
            await client.send("s@x.test", ["ok@x.test", "refuse@x.test", "ok2@x.test"], MESSAGE)
        caught.append(refused.value)
        await asyncio.sleep(0.05)  # let the fake read what was sent after the refusal

    run(fake, body)
    assert caught[0].reply == REFUSED.decode()
    assert fake.verbs(0) == [b"EHLO", b"MAIL", b"RCPT", b"RCPT", b"RCPT", b"RSET"]  # pipelined, then RSET
    assert fake.messages == []  # DATA never sent


def test_fault_refused_recipient_connection_back_in_pool() -> None:
    fake = Fake()

    async def body(client: Client) -> None:
        with pytest.raises(RefusedError):
            await client.send("s@x.test", ["refuse@x.test"], MESSAGE)
        assert len(client._idle) == 1
        await client.send("s@x.test", ["ok@x.test"], MESSAGE)

    run(fake, body)
    assert len(fake.connections) == 1


def test_fault_refused_recipient_next_message_still_goes() -> None:
    fake = Fake()

    async def body(client: Client) -> None:
        with pytest.raises(RefusedError):
            await client.send("s@x.test", ["refuse@x.test"], MESSAGE)
        await client.send("s@x.test", ["ok@x.test"], MESSAGE)

    run(fake, body)
    assert len(fake.messages) == 1


@pytest.mark.parametrize("mode", ["silent", "silent_after_data"])
def test_fault_no_answer_times_out(mode: str) -> None:
    fake = Fake(mode)
    elapsed: list[float] = []

    async def body(client: Client) -> None:
        start = time.monotonic()
        with pytest.raises(TimeoutError):
            await client.send("s@x.test", ["r@x.test"], MESSAGE)
        elapsed.append(time.monotonic() - start)
        assert client._idle == []

    run(fake, body, timeout=0.5)
    assert 0.45 < elapsed[0] < 1.5
    assert len(fake.connections) == 1  # no retry
    assert len(fake.messages) == (1 if mode == "silent_after_data" else 0)


def test_fault_554_after_data_never_sent_twice() -> None:
    fake = Fake()
    caught: list[RefusedError] = []

    async def body(client: Client) -> None:
        await client.send("s@x.test", ["r@x.test"], MESSAGE)  # a pooled connection for the next one
        fake.mode = "554_after_data"
        with pytest.raises(RefusedError) as refused:
            await client.send("s@x.test", ["r@x.test"], MESSAGE)
        caught.append(refused.value)

    run(fake, body)
    assert caught[0].reply == "554 5.7.1 Message content rejected"
    assert len(fake.messages) == 2  # the first, and the refused one exactly once
    assert len(fake.connections) == 1


def test_fault_connection_dropped_after_data_not_retried() -> None:
    fake = Fake()

    async def body(client: Client) -> None:
        await client.send("s@x.test", ["r@x.test"], MESSAGE)  # pooled now: a retry would be possible
        fake.mode = "drop_after_data"
        with pytest.raises(ReinjectError):
            await client.send("s@x.test", ["r@x.test"], MESSAGE)
        assert client._idle == []

    run(fake, body)
    assert len(fake.messages) == 2  # the smtpd may have the second one: it is not sent again
    assert len(fake.connections) == 1


@pytest.mark.parametrize(
    ("sender", "recipients"),
    [
        ("s@x.test", ["ok@x.test", "evil@x.test>\r\nRCPT TO:<other@x.test"]),
        ("s@x.test\r\nRSET", ["ok@x.test"]),
        ("s@x.test", ["a@x.test\n"]),
        ("s@x.test", ["a\x00@x.test"]),
    ],
)
def test_fault_crlf_in_address_refused_nothing_sent(sender: str, recipients: list[str]) -> None:
    fake = Fake()
    caught: list[RefusedError] = []

    async def body(client: Client) -> None:
        with pytest.raises(RefusedError) as refused:
            await client.send(sender, recipients, MESSAGE)
        caught.append(refused.value)
        await asyncio.sleep(0.05)

    run(fake, body)
    assert caught[0].reply.startswith("501 ")
    assert all(verb == b"EHLO" for conn in range(len(fake.connections)) for verb in fake.verbs(conn))
    assert fake.messages == []


def test_fault_nothing_listening_is_reinject_error() -> None:
    async def main() -> None:
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()
        client = Client(Reinject("127.0.0.1", port, timeout=2))
        with pytest.raises(ReinjectError):
            await client.send("s@x.test", ["r@x.test"], MESSAGE)

    asyncio.run(main())
