"""If the filter is down, mail waits in Postfix's queue and is delivered (with its disclaimer) once the filter
is back: the real filter process of this session's stack is stopped and started again."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from email.mime.text import MIMEText
from typing import Any

import pytest
from django.conf import settings

from mailadmin import postfix
from mailadmin.stack.base import Context, banner
from mailadmin.stack.config import load_ports
from mailadmin.stack.mailfilter import MailFilter
from mailqueue.disclaimers.services import disclaimer_save
from tests.mailqueue.disclaimer_tool import ACTOR, fetch_all, make_user, parse, send, text_parts


@pytest.fixture
def mailfilter(stack: Any) -> Iterator[MailFilter]:
    ports = load_ports(stack.layout)
    assert ports is not None
    svc = MailFilter(Context(config=stack.config, layout=stack.layout, ports=ports, secrets=stack.secrets))
    yield svc
    if not svc.running():  # whatever happened in the test, the session's other tests need the filter
        svc.prepare()
        svc.launch()
        svc.wait_ready(30)


def _queued(recipient: str) -> list[dict[str, Any]]:
    items = [json.loads(line) for line in postfix.postqueue_lines(settings.POSTFIX_CONFIG_DIR)]
    return [i for i in items if any(r.get("address") == recipient for r in i.get("recipients", []))]


def test_filter_down_mail_deferred_then_delivered(
    mailfilter: MailFilter,
    domain: str,
    unique: Callable[[str], str],
    django_capture_on_commit_callbacks: Any,
) -> None:
    sender, rcpt = unique("snd"), unique("rcp")
    make_user(domain, sender)
    make_user(domain, rcpt)
    with django_capture_on_commit_callbacks(execute=True):
        disclaimer_save(actor=ACTOR, owner=domain, text="WAITED-TEXT", html="", outbound_only=False)
    frm, to = f"{sender}@{domain}", f"{rcpt}@{domain}"
    msg = MIMEText("Sent while the filter was down.\n")
    msg["From"], msg["To"], msg["Subject"] = frm, to, "down"

    pid = mailfilter.pid()
    assert pid is not None
    mailfilter.stop()
    assert not mailfilter.running()
    with pytest.raises(OSError):
        banner(mailfilter.ctx.ports.mailfilter, b"220")

    send(frm, [to], msg.as_bytes())  # Postfix accepts it: the filter is its business, not the sender's
    item = postfix_wait(lambda: [i for i in _queued(to) if i.get("queue_name") == "deferred"])
    reason = item["recipients"][0].get("delay_reason", "")
    assert "refused" in reason.lower(), reason

    mailfilter.prepare()
    mailfilter.launch()
    mailfilter.wait_ready(30)
    postfix.postqueue_flush(settings.POSTFIX_CONFIG_DIR, item["queue_id"])
    (raw,) = fetch_all(rcpt, 1)
    (_ctype, _charset, text) = next(text_parts(parse(raw)))
    assert text.count("WAITED-TEXT") == 1
    assert _queued(to) == []


def postfix_wait(find: Callable[[], list[dict[str, Any]]], timeout: float = 20) -> dict[str, Any]:
    import time

    deadline = time.monotonic() + timeout
    while True:
        found = find()
        if found:
            return found[0]
        if time.monotonic() > deadline:
            raise AssertionError("the message did not show up deferred in postqueue -j")
        time.sleep(0.2)
