"""End to end, with real protocols only: a user made by `user_create` logs in over IMAP with the password
slapd holds (Cyrus -> saslauthd -> LDAP), and a message sent over SMTP to Postfix lands in that user's INBOX
(Postfix ldap: tables -> LMTP -> Cyrus)."""

from __future__ import annotations

import smtplib
import time
import uuid
from collections.abc import Callable
from email.message import EmailMessage

import pytest
from django.conf import settings
from imapclient import IMAPClient

from accounts import services
from mailadmin import imap
from mailadmin.actor import Actor
from mailadmin.directory import dit

pytestmark = pytest.mark.django_db
PASSWORD = "Mail-flow-pass-1"


def _inbox_subjects(uid: str, password: str) -> list[str]:
    client = IMAPClient(
        settings.IMAP_HOST, port=int(settings.IMAP_PORT), ssl=bool(settings.IMAP_SSL), timeout=10
    )
    try:
        client.login(uid, password)
        client.select_folder("INBOX", readonly=True)
        found = client.fetch(client.search("ALL"), ["BODY.PEEK[HEADER.FIELDS (SUBJECT)]"])
        return [
            data[b"BODY[HEADER.FIELDS (SUBJECT)]"].decode().split(":", 1)[1].strip()
            for data in found.values()
        ]
    finally:
        client.logout()


def test_new_user_logs_in_and_receives_mail(domain: str, unique: Callable[[str], str]) -> None:
    uid = unique("mia")
    dn = services.user_create(
        actor=Actor.system("tests"),
        container_dn=dit.organization_dn(domain, domain),
        uid=uid,
        password=PASSWORD,
        last_name="Flow",
        create_mailbox=True,
    )
    assert dn
    assert imap.login_check(uid, PASSWORD)
    assert not imap.login_check(uid, "not-the-password")

    subject = f"flow {uuid.uuid4().hex}"
    message = EmailMessage()
    message["From"] = "sender@example.org"
    message["To"] = f"{uid}@{domain}"
    message["Subject"] = subject
    message.set_content("Hello from the mail flow test.\n")
    with smtplib.SMTP(settings.SMTP_HOST, int(settings.SMTP_PORT), timeout=10) as smtp:
        refused = smtp.send_message(message)
    assert refused == {}

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if subject in _inbox_subjects(uid, PASSWORD):
            break
        time.sleep(0.25)
    else:
        pytest.fail(f"the message to {uid}@{domain} did not reach user/{uid} within 30 s")


def test_unknown_recipient_is_refused_at_rcpt(domain: str) -> None:
    with smtplib.SMTP(settings.SMTP_HOST, int(settings.SMTP_PORT), timeout=10) as smtp:
        smtp.ehlo()
        smtp.mail("sender@example.org")
        code, _reply = smtp.rcpt(f"nobody-{uuid.uuid4().hex[:8]}@{domain}")
    assert code >= 500
