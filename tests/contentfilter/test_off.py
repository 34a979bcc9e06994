"""Filter off (the default): mail flows as before the content filter existed, straight to the disclaimer
filter and delivery, never through amavisd; switching it on and off again goes through the change flow
and its history."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mailadmin.configfiles import store
from tests.contentfilter import cftool
from tests.mailqueue.disclaimer_tool import fetch_all, make_user, parse, send

SENDER = "someone@example.org"


def test_filter_off_mail_flows_as_before(stack: Any, domain: str, unique: Callable[[str], str]) -> None:
    assert store.values(stack.layout.menu, "amavis").get("enabled", "no") == "no"
    main_cf = stack.service("postfix").config_path("main.cf").read_text(encoding="utf-8")
    assert "\ncontent_filter = mailfilter:" in main_cf
    uid = unique("off")
    make_user(domain, uid)
    to = f"{uid}@{domain}"
    start = cftool.log_size(stack.layout.amavis_log)
    send(SENDER, [to], cftool.message(SENDER, to, "no filter", "x\n", attachment=cftool.EICAR))
    (raw,) = fetch_all(uid, 1)
    assert parse(raw)["X-Virus-Scanned"] is None
    assert "Passed" not in stack.layout.amavis_log.read_text(errors="replace")[start:]


def test_switch_on_then_off_is_history(stack: Any) -> None:
    menu = stack.layout.menu
    before = store.load(menu, "amavis")
    try:
        on = cftool.apply(stack, {"enabled": "yes"})
        assert "probe through amavisd" in on.smoke and "clamd PONG" in on.smoke
        assert "postfix" in on.smoke  # main.cf changed: Postfix reloaded and proved too
        main_cf = stack.service("postfix").config_path("main.cf").read_text(encoding="utf-8")
        assert "\ncontent_filter = smtp-amavis:[127.0.0.1]:" in main_cf
        assert store.load_version(menu, "amavis", on.version)["enabled"] == "yes"
    finally:
        cftool.restore(stack, before.values)
    main_cf = stack.service("postfix").config_path("main.cf").read_text(encoding="utf-8")
    assert "\ncontent_filter = mailfilter:" in main_cf
