"""Real deferred mail for the queue tests, and the queue as Postfix itself shows it.

Mail to a remote domain, submitted on the stack's SMTP port from 127.0.0.1 (mynetworks), is relayed to the
stack's dead relay port and defers at once with "connection refused". Each test makes its own messages
with a unique sender and looks only at those: the queue is shared by the whole session.
"""

from __future__ import annotations

import json
import os
import smtplib
import subprocess
import time
from pathlib import Path

from django.conf import settings


def raw_queue() -> list[dict[str, object]]:
    """`postqueue -j`, read directly (not through the console's code)."""
    out = subprocess.run(
        ["/usr/sbin/postqueue", "-c", settings.POSTFIX_CONFIG_DIR, "-j"],
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def by_sender(sender: str) -> list[dict[str, object]]:
    return [m for m in raw_queue() if m["sender"] == sender]


def by_id(queue_id: str) -> dict[str, object] | None:
    return next((m for m in raw_queue() if m["queue_id"] == queue_id), None)


def send(sender: str, recipients: list[str], subject: str = "Queued", body: str = "Hello.\n") -> None:
    message = f"From: {sender}\r\nTo: {', '.join(recipients)}\r\nSubject: {subject}\r\n\r\n{body}"
    with smtplib.SMTP(settings.SMTP_HOST, int(settings.SMTP_PORT), timeout=10) as smtp:
        smtp.sendmail(sender, recipients, message.encode())


def deferred(sender: str, recipients: list[str], count: int = 1, **kw: str) -> list[str]:
    """Send `count` messages and wait until Postfix has deferred them all (with a reason); their ids."""
    for _n in range(count):
        send(sender, recipients, **kw)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        mine = by_sender(sender)
        ready = [
            m
            for m in mine
            if m["queue_name"] == "deferred" and all(r.get("delay_reason") for r in m["recipients"])  # type: ignore[attr-defined]
        ]
        if len(ready) == count:
            return [str(m["queue_id"]) for m in ready]
        time.sleep(0.1)
    raise AssertionError(f"not deferred in time: {by_sender(sender)}")


def queue_of(queue_id: str) -> str | None:
    found = by_id(queue_id)
    return str(found["queue_name"]) if found else None


def maillog_size() -> int:
    return Path(os.environ["POSTFIX_MAILLOG"]).stat().st_size


def maillog_since(offset: int) -> str:
    with Path(os.environ["POSTFIX_MAILLOG"]).open("rb") as log:
        log.seek(offset)
        return log.read().decode(errors="replace")


def purge(sender: str) -> None:
    """Delete a test's leftovers (postsuper directly, ids on stdin)."""
    ids = "".join(f"{m['queue_id']}\n" for m in by_sender(sender))
    if ids:
        subprocess.run(
            ["/usr/sbin/postsuper", "-c", settings.POSTFIX_CONFIG_DIR, "-d", "-"],
            input=ids.encode(),
            capture_output=True,
            check=False,
            timeout=60,
        )
