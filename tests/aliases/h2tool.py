"""Helpers of the address tests (H2): users with mailboxes, a remote MX sink on the relay port, SMTP/IMAP."""

from __future__ import annotations

import smtplib
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from django.conf import settings

from accounts import services
from mailadmin import postfix
from mailadmin.actor import Actor
from mailadmin.directory import dit
from tests.accounts.usertool import user_imap

PASSWORD = "Persona-pass-1"
ACTOR = Actor.system("tests")


def make_user(domain: str, uid: str, *, mailbox: bool = True, **extra: Any) -> str:
    container = dit.organization_dn(domain, domain)
    services.user_create(
        actor=ACTOR,
        container_dn=container,
        uid=uid,
        password=PASSWORD,
        last_name=uid.title(),
        create_mailbox=mailbox,
        **extra,
    )
    return dit.account_dn(container, uid)


def send(to: str | list[str], subject: str, *, sender: str = "sender@example.org") -> None:
    rcpts = [to] if isinstance(to, str) else to
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(rcpts)
    message["Subject"] = subject
    message.set_content("Hello.\n")
    with smtplib.SMTP(settings.SMTP_HOST, int(settings.SMTP_PORT), timeout=10) as smtp:
        assert smtp.send_message(message, from_addr=sender, to_addrs=rcpts) == {}


def rcpt_code(address: str, *, sender: str = "sender@example.org") -> int:
    with smtplib.SMTP(settings.SMTP_HOST, int(settings.SMTP_PORT), timeout=10) as smtp:
        smtp.ehlo()
        smtp.mail(sender)
        code, _reply = smtp.rcpt(address)
    return int(code)


def subjects(uid: str, *, password: str = PASSWORD) -> list[str]:
    with user_imap(uid, password) as client:
        client.select_folder("INBOX", readonly=True)
        ids = client.search(["ALL"])
        if not ids:
            return []
        data = client.fetch(ids, ["BODY.PEEK[HEADER.FIELDS (SUBJECT)]"])
    out = []
    for item in data.values():
        raw = item[b"BODY[HEADER.FIELDS (SUBJECT)]"].decode(errors="replace")
        out.append(raw.partition(":")[2].strip())
    return out


def wait_subject(uid: str, subject: str, *, count: int = 1, timeout: float = 30) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        found = subjects(uid)
        if found.count(subject) >= count:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{subject!r} x{count} did not reach user/{uid} within {timeout} s: {found}")
        time.sleep(0.2)


def subject() -> str:
    return f"h2-{uuid.uuid4().hex[:12]}"


@dataclass
class Sink:
    """What the remote MX (aiosmtpd on Postfix's relay port) received: (rcpt list, raw message)."""

    got: list[tuple[list[str], bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd API)
        with self.lock:
            self.got.append(([r.lower() for r in envelope.rcpt_tos], bytes(envelope.content)))
        return "250 OK"

    def wait_for(self, rcpt: str, marker: str, timeout: float = 30) -> None:
        """Poll; now and then flush the queue: when an earlier test of the session left remote mail deferred
        (nothing listens on the relay port then), qmgr holds the relay destination as dead and defers new
        mail to it without trying. `postqueue -f` revives dead destinations."""
        deadline = time.monotonic() + timeout
        next_flush = time.monotonic() + 2
        while time.monotonic() < deadline:
            with self.lock:
                for rcpts, content in self.got:
                    if rcpt.lower() in rcpts and marker.encode() in content:
                        return
            if time.monotonic() > next_flush:
                flush_queue()
                next_flush = time.monotonic() + 3
            time.sleep(0.1)
        raise AssertionError(f"the remote MX did not receive {marker} for {rcpt}")

    def has(self, marker: str) -> bool:
        with self.lock:
            return any(marker.encode() in content for _r, content in self.got)


def flush_queue() -> None:
    subprocess.run(
        ["/usr/sbin/postqueue", "-c", str(settings.POSTFIX_CONFIG_DIR), "-f"],
        capture_output=True,
        timeout=30,
        check=False,
    )


def relay_port() -> int:
    """Where Postfix sends remote mail, read from the running main.cf (`relayhost = [127.0.0.1]:port`)."""
    relayhost = postfix.postconf_n(settings.POSTFIX_CONFIG_DIR)["relayhost"]
    return int(relayhost.rpartition(":")[2])


@contextmanager
def remote_mx() -> Iterator[Sink]:
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=relay_port())
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()
