"""Helpers and fixtures of the relay-rule tests (a module of their own, imported by the test files).

Rules are global to the session's stack, so every test scopes its rules to something only it uses: its own
loopback client address (127.x.y.z: Linux routes all of 127/8 to lo, Postfix sees the address), its own
sender or recipient address. The `relay_rules` fixture deletes the test's rules afterwards through the
service, which publishes the remaining list to the policy service at once.
"""

from __future__ import annotations

import contextlib
import os
import random
import smtplib
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage

import pytest
from django.conf import settings

from mailadmin.actor import Actor
from mailqueue.relayrules import services
from mailqueue.relayrules.models import RelayRule
from tests.accounts.usertool import user_imap

AddRule = Callable[..., RelayRule]


@pytest.fixture(name="relay_rules")
def relay_rules_fixture(db: None, stack: object) -> Iterator[AddRule]:
    actor = Actor.system("tests")
    made: list[int] = []

    def add(event: str, pattern: str, action: str, text: str = "") -> RelayRule:
        rule = services.relayrule_create(actor=actor, event=event, pattern=pattern, action=action, text=text)
        made.append(rule.pk)
        return rule

    yield add
    for pk in made:
        with contextlib.suppress(RelayRule.DoesNotExist):
            services.relayrule_delete(actor=actor, rule_id=pk)


def client_ip() -> str:
    """A loopback address no other test uses."""
    return f"127.{random.randint(1, 254)}.{random.randint(0, 255)}.{random.randint(1, 254)}"  # noqa: S311


def tag() -> str:
    return uuid.uuid4().hex[:10]


@dataclass
class Reply:
    code: int
    text: str


@contextlib.contextmanager
def session(
    *, source: str = "127.0.0.1", submission: bool = False, login: tuple[str, str] | None = None
) -> Iterator[smtplib.SMTP]:
    port = int(os.environ["SUBMISSION_PORT"]) if submission else int(settings.SMTP_PORT)
    with smtplib.SMTP(settings.SMTP_HOST, port, timeout=15, source_address=(source, 0)) as smtp:
        smtp.ehlo("client.test")
        if login is not None:
            smtp.login(*login)
        yield smtp


def rcpt(
    sender: str,
    recipient: str,
    *,
    source: str = "127.0.0.1",
    submission: bool = False,
    login: tuple[str, str] | None = None,
) -> Reply:
    """MAIL FROM + RCPT TO; the RCPT reply (smtpd_delay_reject: every restriction answers there)."""
    with session(source=source, submission=submission, login=login) as smtp:
        code, _ = smtp.mail(sender)
        if code >= 400:
            return Reply(code, _.decode())
        code, text = smtp.rcpt(recipient)
        smtp.rset()
    return Reply(code, text.decode())


def send(
    sender: str,
    recipient: str,
    subject: str,
    *,
    source: str = "127.0.0.1",
    submission: bool = False,
    login: tuple[str, str] | None = None,
) -> None:
    """A whole message; asserts it was accepted (a Discard is accepted too)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = subject
    message.set_content("Relay rule test.\n")
    with session(source=source, submission=submission, login=login) as smtp:
        refused = smtp.send_message(message, from_addr=sender, to_addrs=[recipient])
    assert refused == {}


def fetch_headers(uid: str, password: str, subject: str, timeout: float = 30) -> str:
    """The header block of the message with this subject in the user's INBOX (waits until it is there)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with user_imap(uid, password) as client:
            client.select_folder("INBOX", readonly=True)
            found = client.search(["SUBJECT", subject])
            if found:
                data = client.fetch(found[:1], ["BODY.PEEK[HEADER]"])
                return bytes(next(iter(data.values()))[b"BODY[HEADER]"]).decode(errors="replace")
        time.sleep(0.2)
    raise AssertionError(f"no message {subject!r} reached user/{uid} within {timeout} s")


def absent(uid: str, password: str, subject: str) -> bool:
    with user_imap(uid, password) as client:
        client.select_folder("INBOX", readonly=True)
        return not client.search(["SUBJECT", subject])
