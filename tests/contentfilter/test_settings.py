"""The page's options change what happens to real mail: bypass virus checks, the kill level with spam
discarded, the spam level refused in the wrong order, and the filter switched off (mail flows as before)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from mailadmin.configfiles import store
from mailadmin.configfiles.change import flow
from mailadmin.configfiles.registry.amavis import AMAVIS
from tests.contentfilter import cftool
from tests.mailqueue.disclaimer_tool import fetch_all, make_user, parse, send

SENDER = "someone@example.org"


@pytest.fixture
def rcpt(domain: str, unique: Callable[[str], str]) -> tuple[str, str]:
    uid = unique("cs")
    make_user(domain, uid)
    return uid, f"{uid}@{domain}"


@pytest.fixture
def settings_restored(stack: Any, filter_on: Any) -> Any:
    before = store.values(stack.layout.menu, "amavis")
    yield stack
    cftool.restore(stack, before)


def test_bypass_virus_checks_delivers_eicar(settings_restored: Any, rcpt: tuple[str, str]) -> None:
    cftool.apply(settings_restored, {"bypass_virus_checks": "yes"})
    uid, to = rcpt
    send(SENDER, [to], cftool.message(SENDER, to, "let it through", "x\n", attachment=cftool.EICAR))
    (raw,) = fetch_all(uid, 1)
    assert cftool.EICAR.encode() in raw.replace(b"\r\n", b"\n") or b"sample.com" in raw


def test_spam_above_kill_level_discarded_below_passes(settings_restored: Any, rcpt: tuple[str, str]) -> None:
    stack = settings_restored
    cftool.apply(stack, {"spam_action": "quarantine", "spam_quarantine_folder": "junk-1"})
    uid, to = rcpt
    send(SENDER, [to], cftool.message(SENDER, to, "gtube killed", f"{cftool.GTUBE}\n"))
    kept = cftool.wait_for_file(stack.layout.quarantine / "junk-1", "Subject: gtube killed")
    assert kept.name.startswith("spam-")
    # GTUBE scores 1000: with the kill level above that it is tagged but delivered
    cftool.apply(stack, {"tag2_level": "1500", "kill_level": "2000"})
    send(SENDER, [to], cftool.message(SENDER, to, "gtube below kill", f"{cftool.GTUBE}\n"))
    (raw,) = fetch_all(uid, 1)
    msg = parse(raw)
    assert msg["Subject"] == "gtube below kill"
    assert msg["X-Spam-Flag"] == "NO"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"tag_level": "9", "kill_level": "5"}, "tag_level"),
        ({"tag2_level": "8", "kill_level": "7.5"}, "tag2_level"),
        ({"kill_level": "lots"}, "kill_level"),
        ({"tag_level": "1e3"}, "tag_level"),
        ({"virus_quarantine_folder": "virus\nquarantine"}, "virus_quarantine_folder"),
        ({"virus_quarantine_folder": "../etc"}, "virus_quarantine_folder"),
        ({"spam_quarantine_folder": "a'b"}, "spam_quarantine_folder"),
        ({"log_level": "9"}, "log_level"),
        ({"max_servers": "0"}, "max_servers"),
        ({"virus_action": "reject; system"}, "virus_action"),
        ({"enabled": "maybe"}, "enabled"),
    ],
)
def test_hostile_values_are_refused_and_nothing_changes(
    stack: Any, changes: dict[str, str], field: str
) -> None:
    svc, menu = stack.service("amavis"), stack.layout.menu
    before = store.load(menu, "amavis")
    conf = svc.config_path("amavisd.conf").read_bytes()
    main_cf = svc.config_path("main.cf").read_bytes()
    with pytest.raises(flow.ChangeRefused) as refused:
        flow.propose(svc, AMAVIS, menu, changes)
    assert field in refused.value.errors, refused.value.errors
    assert store.load(menu, "amavis") == before
    assert svc.config_path("amavisd.conf").read_bytes() == conf
    assert svc.config_path("main.cf").read_bytes() == main_cf


def test_virus_discard_keeps_no_copy(settings_restored: Any, rcpt: tuple[str, str]) -> None:
    stack = settings_restored
    cftool.apply(stack, {"virus_action": "discard"})
    uid, to = rcpt
    start = cftool.log_size(stack.layout.amavis_log)
    send(SENDER, [to], cftool.message(SENDER, to, "virus dropped", "x\n", attachment=cftool.EICAR))
    line = cftool.wait_log(stack.layout.amavis_log, start, "Blocked INFECTED")
    assert to in line and "Quarantined" not in line
    send(SENDER, [to], cftool.message(SENDER, to, "after", "Hello.\n"))
    (raw,) = fetch_all(uid, 1)
    assert parse(raw)["Subject"] == "after"
    folder = stack.layout.quarantine / "virus"
    assert not any(b"Subject: virus dropped" in p.read_bytes() for p in folder.glob("*"))
