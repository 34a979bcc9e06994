"""amavisd down while the filter is on (the real process stopped): mail waits in Postfix's deferred queue,
the dashboard shows the filter down, and after amavisd is back a queue flush delivers it; nothing is lost."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings

from mailadmin import postfix
from tests.contentfilter import cftool
from tests.mailqueue.disclaimer_tool import fetch_all, make_user, parse, send, wait_queued

SENDER = "someone@example.org"


def test_amavis_down_mail_waits_then_is_delivered(
    filter_on: Any, domain: str, unique: Callable[[str], str], personas: Any, login: Any
) -> None:
    amavis = filter_on
    uid = unique("dn")
    make_user(domain, uid)
    to = f"{uid}@{domain}"
    amavis.stop()
    try:
        assert not amavis.pidfile.exists()
        send(SENDER, [to], cftool.message(SENDER, to, "while down", "x\n"))
        item = wait_queued(to)
        reasons = " ".join(str(r.get("delay_reason", "")) for r in item["recipients"])  # type: ignore[attr-defined]
        assert f"127.0.0.1]:{amavis.ctx.ports.amavis}" in reasons, reasons
        admin = login(personas.admin)
        assert '<tr class="down" data-service="Content filter (amavisd)">' in admin.get("/").content.decode()
    finally:
        amavis.restart()
    assert '<tr class="up" data-service="Content filter (amavisd)">' in admin.get("/").content.decode()
    assert '<tr class="up" data-service="Virus scanner (clamd)">' in admin.get("/").content.decode()
    postfix.postqueue_flush(settings.POSTFIX_CONFIG_DIR)
    (raw,) = fetch_all(uid, 1)
    msg = parse(raw)
    assert msg["Subject"] == "while down"
    assert msg["X-Virus-Scanned"] is not None
