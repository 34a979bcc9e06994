"""amavisd down while the filter is on (the real process stopped): mail waits in Postfix's deferred queue,
the dashboard shows the filter down, and after amavisd is back a queue flush delivers it; nothing is lost."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings

from mailadmin import postfix
from mailadmin.configfiles import store
from tests.contentfilter import cftool
from tests.mailqueue.disclaimer_tool import drop, fetch_all, make_user, parse, queued, send, wait_queued

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


def test_switching_off_frees_mail_waiting_for_amavis_and_leaves_the_hold_queue(
    stack: Any, filter_on: Any, domain: str, unique: Callable[[str], str]
) -> None:
    """Mail deferred because amavisd did not answer is requeued when the page switches the filter off (and is
    then delivered unscanned); a message an administrator put on hold stays on hold."""
    amavis = filter_on
    waiting, held = unique("wt"), unique("hd")
    for uid in (waiting, held):
        make_user(domain, uid)
    amavis.stop()
    try:
        send(SENDER, [f"{held}@{domain}"], cftool.message(SENDER, f"{held}@{domain}", "held", "x\n"))
        held_id = str(wait_queued(f"{held}@{domain}")["queue_id"])
        postfix.postsuper(settings.POSTFIX_CONFIG_DIR, "hold", [held_id])
        send(SENDER, [f"{waiting}@{domain}"], cftool.message(SENDER, f"{waiting}@{domain}", "waiting", "x\n"))
        wait_queued(f"{waiting}@{domain}")
        cftool.apply(stack, {"enabled": "no"})  # restarts amavisd too; the requeue is the point
        (raw,) = fetch_all(waiting, 1)
        assert parse(raw)["X-Virus-Scanned"] is None  # it took the filter main.cf has now
        (item,) = queued(f"{held}@{domain}")
        assert item["queue_name"] == "hold"
        drop(held_id)
    finally:
        if not amavis.pidfile.exists():
            amavis.restart()
        cftool.apply(stack, {"enabled": "yes"})  # the module's other tests expect it on


def test_a_change_brings_amavis_back_and_what_waited_goes_at_once(
    stack: Any, filter_on: Any, domain: str, unique: Callable[[str], str]
) -> None:
    """A message deferred while amavisd was away is tried again as soon as a change restarts amavisd,
    not after Postfix's back-off (minutes): the test's 30 s wait would not see it otherwise."""
    amavis = filter_on
    uid = unique("rt")
    make_user(domain, uid)
    to = f"{uid}@{domain}"
    before = store.values(stack.layout.menu, "amavis")
    amavis.stop()
    try:
        send(SENDER, [to], cftool.message(SENDER, to, "waited", "x\n"))
        wait_queued(to)
        cftool.apply(stack, {"log_level": "3"})
        (raw,) = fetch_all(uid, 1)
        assert parse(raw)["X-Virus-Scanned"] is not None
    finally:
        if not amavis.pidfile.exists():
            amavis.restart()
        cftool.restore(stack, before)
