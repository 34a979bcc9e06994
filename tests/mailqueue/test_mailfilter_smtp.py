"""The filter's SMTP side (DLV-03). DATA: FilterSMTP's bulk reader answers exactly what aiosmtpd's own
line-by-line SMTP.smtp_DATA answers and hands the handler the same bytes (both servers in-process, fed the
same raw byte streams over plain sockets). Re-injection: the Client against the stack's real re-injection
smtpd, read back over IMAP and `postqueue -j`."""

from __future__ import annotations

import asyncio
import os
import random
import re
import smtplib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from mailqueue.mailfilter.reinject import Client, RefusedError, Reinject, _dot_stuffed
from mailqueue.mailfilter.server import FilterSMTP
from tests.mailqueue.disclaimer_tool import fetch_all, make_user, queued

SMALL = 10_000  # bytes: data_size_limit of the "small" pair
BIG = 4_000_000
HEAD = b"EHLO client.test\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@x.test>\r\nDATA\r\n"
QUIT = b"QUIT\r\n"
Key = tuple[type[SMTP], int]  # (server class, size limit)


class Recorder:
    def __init__(self) -> None:
        self.contents: list[bytes | None] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        self.contents.append(envelope.original_content)
        return "250 OK"


class Servers:
    """aiosmtpd's SMTP and FilterSMTP, each with a small and a big size limit, on one loop in a thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.ports: dict[Key, int] = {}
        self.recorders: dict[Key, Recorder] = {}
        self.errors: list[dict[str, Any]] = []
        self.servers: list[asyncio.Server] = []
        self.received: dict[SMTP, int] = {}  # bytes each connection's server side has received
        self.latest: dict[Key, SMTP] = {}
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    async def start(self) -> None:
        self.loop.set_exception_handler(lambda _loop, context: self.errors.append(context))
        for cls in (SMTP, FilterSMTP):
            for limit in (SMALL, BIG):
                recorder = Recorder()

                def factory(cls: type[SMTP] = cls, limit: int = limit, recorder: Recorder = recorder) -> SMTP:
                    proto = cls(recorder, data_size_limit=limit, hostname="h.test", ident="t", loop=self.loop)
                    self.received[proto] = 0
                    self.latest[cls, limit] = proto
                    take = proto.data_received

                    def counted(data: bytes) -> None:  # how far the server has got, for converse(sync=True)
                        take(data)
                        self.received[proto] += len(data)

                    setattr(proto, "data_received", counted)  # noqa: B010
                    return proto

                server = await self.loop.create_server(factory, "127.0.0.1", 0)
                self.servers.append(server)
                self.ports[cls, limit] = server.sockets[0].getsockname()[1]
                self.recorders[cls, limit] = recorder

    def settle(self) -> None:
        """Return once the loop has run what was ready (a task woken by data that arrived has run)."""
        for _ in range(3):
            asyncio.run_coroutine_threadsafe(asyncio.sleep(0), self.loop).result(5)

    def stop(self) -> None:
        for server in self.servers:
            self.loop.call_soon_threadsafe(server.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture(scope="module")
def servers() -> Iterator[Servers]:
    running = Servers()
    running.thread.start()
    asyncio.run_coroutine_threadsafe(running.start(), running.loop).result(10)
    yield running
    running.stop()


def converse(
    servers: Servers, key: Key, pieces: list[bytes], sync: bool = False, timeout: float = 5.0
) -> bytes:
    """Send the pieces, one write each; with `sync`, each only once the server has taken in everything
    before it (so every piece is a read of its own). When they end with QUIT, read every reply until the
    server closes, else just close."""
    with socket.create_connection(("127.0.0.1", servers.ports[key]), timeout=timeout) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sent = 0
        for piece in pieces:
            sock.sendall(piece)
            sent += len(piece)
            deadline = time.monotonic() + 2
            while sync and time.monotonic() < deadline:
                proto = servers.latest.get(key)
                if proto is not None and servers.received.get(proto) == sent:
                    servers.settle()
                    break
                time.sleep(0.0005)
        if not b"".join(pieces).endswith(QUIT):
            return b""
        received = bytearray()
        while chunk := sock.recv(65536):
            received += chunk
        return bytes(received)


def one(
    servers: Servers, cls: type[SMTP], pieces: list[bytes], **kw: Any
) -> tuple[bytes, list[bytes | None]]:
    key = cls, kw.pop("limit", SMALL)
    servers.recorders[key].contents.clear()
    transcript = converse(servers, key, pieces, **kw)
    return transcript, list(servers.recorders[key].contents)


def both(servers: Servers, pieces: list[bytes], **kw: Any) -> tuple[bytes, list[bytes | None]]:
    """The transcript and recorded contents; asserts aiosmtpd and FilterSMTP agree on both."""
    reference = one(servers, SMTP, pieces, **kw)
    assert one(servers, FilterSMTP, pieces, **kw) == reference
    assert not servers.errors
    return reference


def codes(transcript: bytes) -> list[str]:
    """The reply codes after the greeting and EHLO (the last line of each multi-line reply)."""
    lines = [line for line in transcript.split(b"\r\n") if line and line[3:4] != b"-"]
    return [line[:3].decode() for line in lines[2:]]


CASES = {
    "normal": (b"Subject: hi\r\n\r\nHello.\r\n.\r\n", b"Subject: hi\r\n\r\nHello.\r\n"),
    "empty": (b".\r\n", b""),
    "dot_stuffed": (
        b"Subject: d\r\n\r\n..one\r\n...two\r\n..\r\nend\r\n.\r\n",
        b"Subject: d\r\n\r\n.one\r\n..two\r\n.\r\nend\r\n",
    ),
    "first_line_dot": (b"..first\r\nx\r\n.\r\n", b".first\r\nx\r\n"),
    "only_two_dots": (b"..\r\n.\r\n", b".\r\n"),
    "bare_lf": (b"a\nb\n.c\r\nd\rx\r\n.\r\n", b"a\nb\n.c\r\nd\rx\r\n"),
    "bare_lf_dot_line": (b"a\n.\r\n.\r\n", b"a\n.\r\n"),
    "dot_cr": (b"x\r\n.\rfoo\r\n.\r\n", b"x\r\n\rfoo\r\n"),
    "dot_space": (b"x\r\n. \r\n.\r\n", b"x\r\n \r\n"),
    "empty_line": (b"\r\n.\r\n", b"\r\n"),
    "cr_before_crlf": (b"x\r\r\n\r\r\n.\r\n", b"x\r\r\n\r\r\n"),
    "eight_bit_nul": (b"\xff\xfe\x00\r\n\x80.\r\n.\r\n", b"\xff\xfe\x00\r\n\x80.\r\n"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_data_same_answers_and_content(servers: Servers, case: str) -> None:
    body, content = CASES[case]
    transcript, contents = both(servers, [HEAD + body + QUIT])
    assert codes(transcript) == ["250", "250", "354", "250", "221"]
    assert contents == [content]


def test_data_pipelined_commands_after_the_dot(servers: Servers) -> None:
    second = b"MAIL FROM:<c@x.test>\r\nRCPT TO:<d@x.test>\r\nDATA\r\nsecond\r\n.\r\n"
    transcript, contents = both(servers, [HEAD + b"first\r\n.\r\n" + second + QUIT])
    assert codes(transcript) == ["250", "250", "354", "250", "250", "250", "354", "250", "221"]
    assert contents == [b"first\r\n", b"second\r\n"]


@pytest.mark.parametrize("tail", [b"..x\r\n.\r\n", b"x\r\n.\r\n", b".\r\n"])
def test_data_terminator_split_at_every_position(servers: Servers, tail: bytes) -> None:
    stream = HEAD + b"Subject: s\r\n\r\nbody\r\n" + tail
    for cut in range(len(stream) - len(tail) - 2, len(stream)):  # up to the last byte alone
        transcript, contents = both(servers, [stream[:cut], stream[cut:] + QUIT], sync=True)
        assert codes(transcript)[-2:] == ["250", "221"], cut
        assert len(contents) == 1


def test_data_terminator_last_byte_alone(servers: Servers) -> None:
    stream = HEAD + b"Subject: s\r\n\r\nbody\r\n.\r\n"
    both(servers, [stream[:-1], stream[-1:] + QUIT], sync=True, timeout=1)


def test_data_in_tiny_pieces(servers: Servers) -> None:
    message = HEAD + b"..a\r\n\r\n.y\r\n..\r\nb\nc"
    rng = random.Random(4)
    pieces, at = [], 0
    while at < len(message):
        size = rng.randint(1, 5)
        pieces.append(message[at : at + size])
        at += size
    # the end split over three writes
    pieces += [b"\r", b"\n.", b"\r\nQU", b"IT\r\n"]
    transcript, contents = both(servers, pieces, sync=True)
    assert codes(transcript)[-2:] == ["250", "221"]
    assert contents == [b".a\r\n\r\ny\r\n.\r\nb\nc\r\n"]


def test_data_byte_by_byte(servers: Servers) -> None:
    stream = HEAD + b"..x\r\n.\r\n" + QUIT
    both(servers, [bytes([b]) for b in stream], sync=True, timeout=1)


def test_data_long_line_500(servers: Servers) -> None:
    transcript, contents = both(servers, [HEAD + b"x" * 1500 + b"\r\n.\r\n" + QUIT])
    assert codes(transcript)[-2:] == ["500", "221"]
    assert contents == []


@pytest.mark.parametrize(("length", "code"), [(998, "250"), (999, "250"), (1000, "500"), (1001, "500")])
def test_data_line_length_boundary(servers: Servers, length: int, code: str) -> None:
    transcript, _contents = both(servers, [HEAD + b"x" * length + b"\r\n.\r\n" + QUIT])
    assert codes(transcript)[-2] == code


def test_data_over_size_limit_552_and_session_goes_on(servers: Servers) -> None:
    big = (b"y" * 98 + b"\r\n") * 150  # 15,000 bytes > SMALL
    again = b"MAIL FROM:<c@x.test>\r\nRCPT TO:<d@x.test>\r\nDATA\r\nsmall\r\n.\r\n"
    for pieces in (
        [HEAD + big + b".\r\n" + again + QUIT],
        [HEAD, big[:7000], big[7000:] + b".\r\n" + again + QUIT],
    ):
        transcript, contents = both(servers, pieces, sync=True)
        assert codes(transcript) == ["250", "250", "354", "552", "250", "250", "354", "250", "221"]
        assert contents == [b"small\r\n"]


@pytest.mark.parametrize(("size", "code"), [(SMALL - 1, "250"), (SMALL, "250"), (SMALL + 1, "552")])
def test_data_size_limit_boundary(servers: Servers, size: int, code: str) -> None:
    body = (b"z" * 98 + b"\r\n") * (size // 100 - 1) + b"z" * (size % 100 + 98) + b"\r\n"
    assert len(body) == size
    transcript, _contents = both(servers, [HEAD + body + b".\r\n" + QUIT])
    assert codes(transcript)[-2] == code


# Streams where FilterSMTP answers otherwise than aiosmtpd: (stream, aiosmtpd's answer, the bug)
MISMATCH = {
    "dot_stuffed_line_too_long": (
        HEAD + b"." * 1000 + b"\r\n.\r\n",
        "500",
        "FilterSMTP measures line length after dot-unstuffing: a 1000-byte line starting with '.' gets 250 "
        "where aiosmtpd answers 500",
    ),
    "stuffing_dots_over_size": (
        HEAD + b"..\r\n" * (SMALL // 4) + b"\r\n.\r\n",  # SMALL + 2 bytes on the wire, 3/4 unstuffed
        "552",
        "FilterSMTP checks the size limit on the unstuffed content when the end is in the same read, "
        "aiosmtpd counts the bytes as sent: 250 where aiosmtpd answers 552 (in several reads FilterSMTP "
        "counts raw bytes and answers 552: its answer depends on the TCP segmentation)",
    ),
    "long_line_then_over_size": (
        HEAD + b"x" * 1500 + b"\r\n" + b"y\r\n" * 6000 + b".\r\n",
        "500",
        "a message with an over-long line that is also over the size limit: aiosmtpd answers 500 (the "
        "first fault it met), FilterSMTP always 552",
    ),
    "over_size_then_long_line": (
        HEAD + b"y\r\n" * 6000 + b"x" * 1500 + b"\r\n.\r\n",
        "552",
        "the size limit is crossed before the long line comes: 552 (a case the fault order must get right)",
    ),
    "long_line_crosses_the_size_limit": (
        HEAD + b"y\r\n" * 3330 + b"x" * 1500 + b"\r\n" + b"z\r\n" * 3000 + b".\r\n",
        "500",
        "the line that crosses the size limit is itself too long: aiosmtpd meets that first, 500",
    ),
    "crossing_line_arrives_in_pieces": (
        HEAD + b"y\r\n" * 3330 + b"w" * 900 + b"\r\n" + b"z\r\n" * 3000 + b".\r\n",
        "552",
        "the crossing line is long but not too long: 552",
    ),
}


@pytest.mark.parametrize("case", sorted(MISMATCH))
def test_data_aiosmtpd_reference_answer(servers: Servers, case: str) -> None:
    stream, code, _bug = MISMATCH[case]
    transcript, contents = one(servers, SMTP, [stream + QUIT])
    assert codes(transcript)[-2:] == [code, "221"]
    assert contents == []


@pytest.mark.parametrize("case", sorted(MISMATCH))
def test_data_filter_agrees_on_faults(servers: Servers, case: str) -> None:
    """Once answered differently by FilterSMTP (the reason says how), now the same as aiosmtpd."""
    stream, _code, _bug = MISMATCH[case]
    both(servers, [stream + QUIT])


def test_data_one_megabyte_in_64k_writes(servers: Servers) -> None:
    line = b"0123456789" * 7 + b"\r\n"
    body = b"Subject: big\r\n\r\n" + line * (1_000_000 // len(line)) + b"..last\r\n"
    stream = HEAD + body + b".\r\n"
    pieces = [stream[i : i + 65536] for i in range(0, len(stream), 65536)]
    transcript, contents = both(servers, [*pieces, QUIT], limit=BIG)
    assert codes(transcript)[-2:] == ["250", "221"]
    assert contents == [body.replace(b"\r\n..", b"\r\n.")]


def test_data_client_disconnects_mid_data(servers: Servers) -> None:
    for cls in (SMTP, FilterSMTP):
        servers.recorders[cls, SMALL].contents.clear()
        converse(servers, (cls, SMALL), [HEAD + b"Subject: cut\r\n\r\nhalf a mess"], sync=True)
        converse(servers, (cls, SMALL), [HEAD + b"Subject: cut\r\n\r\nline\r\n.\r"], sync=True)
    deadline = time.monotonic() + 5  # until both servers have seen the connections go
    while (
        any(servers.latest[cls, SMALL].transport for cls in (SMTP, FilterSMTP))
        and time.monotonic() < deadline
    ):
        time.sleep(0.01)
    assert all(not servers.recorders[cls, SMALL].contents for cls in (SMTP, FilterSMTP))  # no half message
    transcript, contents = both(servers, [HEAD + b"whole\r\n.\r\n" + QUIT])
    assert contents == [b"whole\r\n"]
    assert not servers.errors


@pytest.mark.parametrize(
    ("stream", "expected"),
    [
        (b"EHLO c.test\r\nMAIL FROM:<a@x.test>\r\nDATA\r\n", "503"),
        (b"EHLO c.test\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@x.test>\r\nDATA x\r\n", "501"),
        (b"EHLO c.test\r\nDATA\r\n", "503"),
        (b"MAIL FROM:<a@x.test>\r\nRCPT TO:<b@x.test>\r\nDATA\r\n", "503"),
    ],
)
def test_data_refused_commands(servers: Servers, stream: bytes, expected: str) -> None:
    transcript, contents = both(servers, [stream + QUIT])
    assert codes(transcript)[-2:] == [expected, "221"]
    assert contents == []


# --- the Client against the real re-injection smtpd ------------------------------------------------------


def _reinject() -> Reinject:
    return Reinject("127.0.0.1", int(os.environ["REINJECT_PORT"]), timeout=20)


def _connects() -> int:
    log = Path(os.environ["POSTFIX_MAILLOG"]).read_text(errors="replace")
    return len(re.findall(r"/reinject/smtpd\[\d+\]: connect from", log))


@pytest.fixture
def mailbox(domain: str, unique: Callable[[str], str]) -> tuple[str, str]:
    uid = unique("rij")
    make_user(domain, uid)
    return uid, f"{uid}@{domain}"


def test_client_delivers_byte_correct_and_reuses_the_connection(mailbox: tuple[str, str]) -> None:
    uid, address = mailbox
    body = b"..\r\n.leading dot\r\n..two\r\n.\r\nend without CRLF."
    messages = [
        b"From: s@x.test\r\nTo: %s\r\nSubject: m%d\r\nDate: Mon, 23 Nov 2026 12:00:00 +0000\r\n"
        b"Message-ID: <m%d.%s>\r\n\r\n%s" % (address.encode(), n, n, address.encode(), body)
        for n in (1, 2)
    ]
    before = _connects()

    async def run() -> list[int]:
        client = Client(_reinject())
        try:
            await client.send("s@x.test", [address], messages[0])
            first = [id(c) for c in client._idle]
            await client.send("s@x.test", [address], messages[1])
            return first + [id(c) for c in client._idle]
        finally:
            client.close()

    pool = asyncio.run(run())
    assert len(pool) == 2 and pool[0] == pool[1]  # one connection, back in the pool, used again
    got = sorted(fetch_all(uid, 2))
    for sent in messages:
        # Postfix prepends Return-Path/Received; the message itself arrives byte for byte (plus the CRLF
        # the Client adds to a last line without one)
        assert any(raw.endswith(sent + b"\r\n") for raw in got), (sent, got)
    deadline = time.monotonic() + 10
    while _connects() - before < 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _connects() - before == 1


def test_client_all_or_nothing_when_postfix_refuses_a_recipient(mailbox: tuple[str, str]) -> None:
    uid, address = mailbox
    # The re-injection smtpd runs with no_unknown_recipient_checks (the first smtpd checked them already), so
    # an unknown address in a hosted domain is taken there and bounced later; what it refuses at RCPT is an
    # address it cannot parse.
    bad = "no body@[999.0.0.1]"

    async def run() -> None:
        client = Client(_reinject())
        try:
            with pytest.raises(RefusedError) as refused:
                await client.send("s@x.test", [address, bad], b"Subject: half\r\n\r\nnever\r\n")
            assert re.fullmatch(r"5\d\d 5\.1\.\d .*", refused.value.reply), refused.value.reply
            await client.send("s@x.test", [address], b"Subject: after\r\n\r\nok\r\n")
        finally:
            client.close()

    asyncio.run(run())
    fetch_all(uid, 1)
    time.sleep(0.3)  # the refused one, had it been taken, would have been queued before the second
    got = fetch_all(uid, 1)
    assert len(got) == 1 and b"Subject: after" in got[0]
    assert queued(address) == []


STUFFING = (
    b"|.|..|.\r\n|a\r\n.\r\nb|a\n.b\n|a\r.b\r|\r\n.\r\n|x\r\n..\r\n...\r\n"
    b"|m\r\ne\n.d\r.c\r\n|no end|\xff.\x00"
)


@pytest.mark.parametrize("data", STUFFING.split(b"|"))
def test_dot_stuffed_agrees_with_smtplib(data: bytes) -> None:
    # smtplib.SMTP.data's own steps on the text (quotedata fixes line ends and doubles leading dots); an
    # empty message it sends as one empty line, the Client as nothing (both are valid)
    quoted = smtplib.quotedata(data.decode("latin-1")).encode("latin-1")
    if quoted[-2:] != b"\r\n" and data:
        quoted += b"\r\n"
    assert _dot_stuffed(data) == quoted + b".\r\n"
