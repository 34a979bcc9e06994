"""Helpers for the disclaimer tests: accounts with mailboxes, sending real SMTP, reading what Cyrus stored."""

from __future__ import annotations

import json
import smtplib
import time
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from email.policy import compat32

from django.conf import settings

from mailadmin import postfix
from mailadmin.actor import Actor
from mailadmin.directory import dit
from tests.accounts.usertool import user_imap
from tests.conftest import PASSWORD

ACTOR = Actor.system("tests")


def make_user(domain: str, uid: str, *, container: str | None = None) -> str:
    """A user with a mailbox, address uid@domain; returns the DN."""
    from accounts import services

    return services.user_create(
        actor=ACTOR,
        container_dn=container or dit.organization_dn(domain, domain),
        uid=uid,
        password=PASSWORD,
        last_name=uid.title(),
        create_mailbox=True,
    )


def send(sender: str, recipients: list[str], raw: bytes) -> None:
    with smtplib.SMTP(settings.SMTP_HOST, int(settings.SMTP_PORT), timeout=15) as smtp:
        refused = smtp.sendmail(sender, recipients, raw)
    assert refused == {}


def fetch_all(uid: str, count: int = 1, timeout: float = 30) -> list[bytes]:
    """The raw messages in user/<uid>'s INBOX once there are `count` of them."""
    deadline = time.monotonic() + timeout
    while True:
        with user_imap(uid, PASSWORD) as client:
            client.select_folder("INBOX", readonly=True)
            ids = client.search("ALL")
            if len(ids) >= count:
                data = client.fetch(ids, ["RFC822"])
                return [data[i][b"RFC822"] for i in sorted(data)]
        if time.monotonic() > deadline:
            raise AssertionError(f"{count} message(s) did not reach user/{uid} within {timeout} s")
        time.sleep(0.2)


def parse(raw: bytes) -> Message:
    return message_from_bytes(raw, policy=compat32)


def text_parts(msg: Message) -> Iterator[tuple[str, str, str]]:
    """(content type, charset, decoded text) of every text/plain and text/html part."""
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype in ("text/plain", "text/html"):
            charset = part.get_content_charset() or "us-ascii"
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            yield ctype, charset, payload.decode(charset)


def queued(recipient: str) -> list[dict[str, object]]:
    """Messages in the Postfix queue (postqueue -j) with this recipient."""
    found = []
    for line in postfix.postqueue_lines(settings.POSTFIX_CONFIG_DIR):
        item = json.loads(line)
        if any(r.get("address") == recipient for r in item.get("recipients", [])):
            found.append(item)
    return found


def wait_queued(recipient: str, timeout: float = 20) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while True:
        items = queued(recipient)
        if items and items[0].get("queue_name") == "deferred":
            return items[0]
        if time.monotonic() > deadline:
            raise AssertionError(f"no deferred message for {recipient} within {timeout} s: {items}")
        time.sleep(0.2)


def drop(queue_id: str) -> None:
    postfix.postsuper(settings.POSTFIX_CONFIG_DIR, "delete", [queue_id])
