"""Looking at a user's mailbox the way their mail client does (IMAP as the user) and at delivery the way a
sending server does (SMTP RCPT), for the user and resource tests."""

from __future__ import annotations

import contextlib
import smtplib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from typing import Any

from django.conf import settings
from imapclient import IMAPClient, imap_utf7
from imapclient.response_parser import parse_response

FOLDER_TYPE = b"/shared/vendor/kolab/folder-type"


@contextmanager
def user_imap(uid: str, password: str) -> Iterator[IMAPClient]:
    client = IMAPClient(
        settings.IMAP_HOST, port=int(settings.IMAP_PORT), ssl=bool(settings.IMAP_SSL), timeout=10
    )
    try:
        client.login(uid, password)
        yield client
    finally:
        # The test's own assertions matter, not a failed goodbye.
        with contextlib.suppress(Exception):
            client.logout()


def folders(uid: str, password: str) -> dict[str, set[str]]:
    """The user's own folders (INBOX and below: public folders other tests made are not theirs) as LIST
    shows them to the user, each with its flags (special-use included)."""
    with user_imap(uid, password) as client:
        data = client._raw_command_untagged(  # noqa: SLF001
            b"LIST", [b'""', b'"INBOX*"', b"RETURN", b"(SPECIAL-USE)"], uid=False, response_name="LIST"
        )
    found: dict[str, set[str]] = {}
    for item in data:
        flags, _sep, name = parse_response([item])
        raw = name if isinstance(name, bytes) else str(name).encode()
        found[imap_utf7.decode(raw)] = {f.decode() if isinstance(f, bytes) else str(f) for f in flags}
    return found


def folder_type(client: IMAPClient, folder: str) -> str | None:
    data = client._raw_command_untagged(  # noqa: SLF001
        b"GETMETADATA",
        [b'"' + imap_utf7.encode(folder) + b'"', b"(" + FOLDER_TYPE + b")"],
        uid=False,
        response_name="METADATA",
    )
    for item in data:
        parsed: Any = parse_response([item])
        pairs = parsed[1]
        for key, value in zip(pairs[::2], pairs[1::2], strict=True):
            if key == FOLDER_TYPE and value is not None:
                return str(value.decode())
    return None


def quota_root(uid: str, password: str) -> tuple[int, int] | None:
    """(usage KiB, limit KiB) of STORAGE from GETQUOTAROOT INBOX, as the user."""
    with user_imap(uid, password) as client:
        _roots, quotas = client.get_quota_root("INBOX")
    for quota in quotas:
        if quota.resource.upper() == "STORAGE":
            return int(quota.usage), int(quota.limit)
    return None


def rcpt(address: str) -> int:
    """The SMTP reply code Postfix gives to RCPT TO:<address>."""
    with smtplib.SMTP(settings.SMTP_HOST, int(settings.SMTP_PORT), timeout=10) as smtp:
        smtp.ehlo()
        smtp.mail("sender@example.org")
        code, _reply = smtp.rcpt(address)
    return int(code)


def deliver(address: str, subject: str, body: str = "Hello.\n") -> None:
    message = EmailMessage()
    message["From"] = "sender@example.org"
    message["To"] = address
    message["Subject"] = subject
    message.set_content(body)
    with smtplib.SMTP(settings.SMTP_HOST, int(settings.SMTP_PORT), timeout=10) as smtp:
        assert smtp.send_message(message) == {}


def wait_for_messages(uid: str, password: str, count: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with user_imap(uid, password) as client:
            if client.folder_status("INBOX", ["MESSAGES"])[b"MESSAGES"] >= count:
                return
        time.sleep(0.25)
    raise AssertionError(f"{count} message(s) did not reach user/{uid} within {timeout} s")
