"""One queued message in detail (DLV-01, "click on the Queue ID"): envelope, headers and a safe preview.

Everything here is the sender's text: it is decoded with replacement characters, cut to a size, and the
templates escape it. Only text parts are previewed; nothing is rendered as HTML and no attachment is opened.
"""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass
from email.message import EmailMessage, Message

from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from mailadmin import postfix
from mailqueue.selectors import MailboxDomains, QueuedMessage

PREVIEW_CHARS = 4000
MAX_HEADERS = 200
_ENVELOPE_KEYS = {
    "sender": _("Sender"),
    "recipient": _("Recipient"),
    "original_recipient": _("Original recipient"),
    "message_arrival_time": _("Arrival"),
    "create_time": _("Created"),
}
_NAMED = {
    "client_name": _("Client name"),
    "client_address": _("Client address"),
    "helo_name": _("HELO name"),
    "protocol_name": _("Protocol"),
    "sasl_username": _("SASL user"),
}


@dataclass(frozen=True)
class MessageDetail:
    envelope: list[tuple[str | Promise, str]]
    headers: list[tuple[str, str]]
    preview: str
    preview_kind: str  # "text/plain", "text/html (shown as text)", "" when no text part
    truncated: bool  # postcat's output was cut (the message is larger than we read)
    restricted: bool = False  # someone else's message: envelope cut to the reader's part, no headers or text


def _section(data: bytes, name: bytes) -> bytes:
    """The lines between "*** <name> ..." and the next "*** " marker of postcat's output."""
    start = data.find(b"*** " + name)
    if start < 0:
        return b""
    start = data.find(b"\n", start)
    if start < 0:
        return b""
    end = data.find(b"\n*** ", start)
    return data[start + 1 : end if end >= 0 else len(data)]


def _text(value: object, limit: int = 2000) -> str:
    text = str(value).replace("\x00", "")
    return text if len(text) <= limit else text[:limit] + "…"


def _envelope(raw: bytes, *, limited_to: frozenset[str] | None) -> list[tuple[str | Promise, str]]:
    """postcat's envelope records. `limited_to`: a domain administrator reading someone else's message sees
    only the recipients in these domains, and nothing of the client that sent it."""
    rows: list[tuple[str | Promise, str]] = []
    domain_of = MailboxDomains()
    for line in raw.decode("utf-8", "replace").splitlines():
        key, sep, value = line.partition(": ")
        if not sep:
            continue
        value = value.strip()
        if limited_to is not None:
            if key == "named_attribute":
                continue
            recipient = key in ("recipient", "original_recipient")
            if recipient and domain_of(value) not in limited_to:
                continue
        if key in _ENVELOPE_KEYS:
            rows.append((_ENVELOPE_KEYS[key], _text(value)))
        elif key == "named_attribute":
            name, eq, attr = value.partition("=")
            if eq and name in _NAMED:
                rows.append((_NAMED[name], _text(attr)))
    return rows


def _body_part(msg: Message) -> tuple[Message | None, str]:
    if isinstance(msg, EmailMessage):
        part = msg.get_body(preferencelist=("plain", "html"))
        if part is not None:
            kind = part.get_content_type()
            return part, kind if kind == "text/plain" else f"{kind} (shown as text)"
    return None, ""


def _decode(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, "replace")
    except LookupError:  # an unknown charset name from the sender
        return payload.decode("utf-8", "replace")


def message_detail(msg: QueuedMessage, *, scope: frozenset[str] | None = None) -> MessageDetail:
    """Read the message with postcat (PostfixError if it left the queue meanwhile). `scope`: the reader's
    domains (None: an administrator); for a message that is not theirs the envelope is cut to their part."""
    data, truncated = postfix.postcat(settings.POSTFIX_CONFIG_DIR, msg.queue_id)
    if not msg.actionable and scope is not None:
        # Headers (To, Cc, Received) and text name the recipients the reader may not see.
        envelope = _envelope(_section(data, b"ENVELOPE RECORDS"), limited_to=scope)
        return MessageDetail(envelope, [], "", "", False, restricted=True)
    content = _section(data, b"MESSAGE CONTENTS")
    parsed = email.message_from_bytes(content, policy=email.policy.default)
    headers: list[tuple[str, str]] = []
    for key, raw in parsed.raw_items():
        if len(headers) >= MAX_HEADERS:
            break
        try:
            value = str(parsed.policy.header_fetch_parse(key, raw))  # RFC 2047 words decoded
        except Exception:  # noqa: BLE001 — a malformed header from the sender: show it as it came
            value = raw
        headers.append((_text(key, 200), _text(" ".join(value.split()))))
    part, kind = _body_part(parsed)
    preview = _decode(part) if part is not None else ""
    if len(preview) > PREVIEW_CHARS:
        preview, truncated = preview[:PREVIEW_CHARS], True
    return MessageDetail(
        envelope=_envelope(_section(data, b"ENVELOPE RECORDS"), limited_to=None),
        headers=headers,
        preview=preview.replace("\x00", ""),
        preview_kind=kind,
        truncated=truncated,
    )
