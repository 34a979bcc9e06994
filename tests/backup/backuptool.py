"""Helpers of the backup tests: a fresh user with mail in several folders, read back as the user sees it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.accounts.usertool import user_imap
from tests.conftest import PASSWORD

BASE = datetime(2019, 6, 1, 9, 0, tzinfo=UTC)


def seed_mail(uid: str, count: int = 5) -> None:
    """`count` messages in the INBOX (every other one \\Seen, the first \\Flagged), two in Projects/2019."""
    with user_imap(uid, PASSWORD) as client:
        client.create_folder("INBOX/Projects")
        client.create_folder("INBOX/Projects/2019")
        for n in range(count):
            flags = (["\\Seen"] if n % 2 == 0 else []) + (["\\Flagged"] if n == 0 else [])
            client.append("INBOX", message(uid, n), flags=flags, msg_time=BASE + timedelta(days=n))
        for n in range(100, 102):
            client.append("INBOX/Projects/2019", message(uid, n), flags=["\\Answered"], msg_time=BASE)


def message(uid: str, n: int) -> bytes:
    return (
        f"From: friend{n}@example.test\r\nTo: {uid}@example.test\r\nSubject: note {n}\r\n"
        f"Message-ID: <n{n}.{uid}@example.test>\r\nDate: Sat, 01 Jun 2019 09:00:00 +0000\r\n\r\nText {n}.\r\n"
    ).encode()


def mailbox_view(uid: str) -> dict[str, list[tuple[str, frozenset[str], str]]]:
    """folder -> [(subject, flags, internal date)] as the user's own client sees it."""
    out: dict[str, list[tuple[str, frozenset[str], str]]] = {}
    with user_imap(uid, PASSWORD) as client:
        for _flags, _sep, name in client.list_folders("", "INBOX*"):
            folder = name if isinstance(name, str) else name.decode()
            client.select_folder(folder, readonly=True)
            uids = client.search(["ALL"])
            rows = client.fetch(uids, ["FLAGS", "INTERNALDATE", "BODY.PEEK[HEADER.FIELDS (SUBJECT)]"])
            out[folder] = (
                sorted(
                    (
                        r[b"BODY[HEADER.FIELDS (SUBJECT)]"].decode().strip(),
                        frozenset(f.decode() for f in r[b"FLAGS"] if f != b"\\Recent"),
                        r[b"INTERNALDATE"].isoformat(),
                    )
                    for r in rows.values()
                )
                if uids
                else []
            )
    return out


def job_result(job: Any) -> dict[str, Any]:
    result = job.result
    assert isinstance(result, dict), job.error
    return result
