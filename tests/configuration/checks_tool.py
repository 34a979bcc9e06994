"""Helpers of the header/body checks tests: the pages as an administrator uses them, and real SMTP."""

from __future__ import annotations

import re
import smtplib
from typing import Any

from django.conf import settings
from django.test import Client

BASE = "/configuration/uce/checks"


def token(response: Any) -> str:
    match = re.search(r'name="token" value="([0-9a-f]{32})"', response.content.decode())
    assert match, response.content.decode()[:3000]
    return match.group(1)


def propose_rule(client: Client, table: str, pattern: str, action: str, text: str = "") -> Any:
    """The add form posted: the confirmation page (200) with the diff and the test box."""
    response = client.post(f"{BASE}/{table}/add/", {"pattern": pattern, "action": action, "text": text})
    assert response.status_code == 200, response.content.decode()[:3000]
    return response


def apply(client: Client, confirm: Any) -> Any:
    response = client.post("/configuration/postfix/apply/", {"token": token(confirm)}, follow=True)
    assert response.status_code == 200
    assert "Applied as version" in response.content.decode(), response.content.decode()[:3000]
    return response


def add_rule(client: Client, table: str, pattern: str, action: str, text: str = "") -> Any:
    return apply(client, propose_rule(client, table, pattern, action, text))


def send(sender: str, recipient: str, subject: str, body: str = "Hello.\r\n") -> tuple[int, str]:
    """One message over SMTP; (250, '') when taken, else the code and text of the refusal at end of DATA."""
    message = f"From: {sender}\r\nTo: {recipient}\r\nSubject: {subject}\r\n\r\n{body}"
    with smtplib.SMTP(settings.SMTP_HOST, int(settings.SMTP_PORT), timeout=20) as smtp:
        try:
            smtp.sendmail(sender, [recipient], message.encode())
        except smtplib.SMTPDataError as exc:
            error = exc.smtp_error
            return exc.smtp_code, error.decode(errors="replace") if isinstance(error, bytes) else error
    return 250, ""
