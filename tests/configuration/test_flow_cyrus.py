"""The Configuration menu's change flow on the stack's running Cyrus (mailadmin/stack/cyrus_menu.py): what a
change does is read back from Cyrus itself (`cyr_info conf`, a refused login), never from our own files."""

from __future__ import annotations

import imaplib
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mailadmin.configfiles import ConfigValueError, store
from mailadmin.configfiles.change import flow
from mailadmin.configfiles.cyrus import CyrusParams, render_imapd_conf
from mailadmin.configfiles.registry import Group, Kind, Param, Registry
from mailadmin.configfiles.registry.cyrus import CYRUS
from mailadmin.stack.base import CYRUS_ADMIN


def live_conf(cyrus: Any) -> dict[str, str]:
    """What Cyrus reads from the running imapd.conf (non-default values only), asked of cyr_info directly."""
    out = subprocess.run(
        [str(cyrus.ctx.config.cyrus_bin_dir / "cyr_info"), "-C", str(cyrus.layout.imapd_conf), "conf"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    return dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)


@pytest.fixture
def cyrus(stack: Any) -> Iterator[Any]:
    """The stack's Cyrus; whatever a test changed through the menu goes back to what it was."""
    svc = stack.service("cyrus")
    menu = stack.layout.menu
    before = store.load(menu, "cyrus")
    yield svc
    now = store.load(menu, "cyrus")
    if now.values != before.values:
        proposal = flow.propose(svc, CYRUS, menu, before.values, replace_all=True)
        assert flow.apply(svc, CYRUS, menu, proposal).applied
    assert svc.render(before.values)["imapd.conf"] == svc.layout.imapd_conf.read_text()


def test_change_reaches_the_running_cyrus(cyrus: Any, stack: Any) -> None:
    menu = stack.layout.menu
    conf = cyrus.layout.imapd_conf
    mode, gid = conf.stat().st_mode & 0o7777, conf.stat().st_gid
    assert "imapidletimeout" not in live_conf(cyrus)

    proposal = flow.propose(
        cyrus, CYRUS, menu, {"timeout": "45m", "imapidletimeout": "40m", "autocreate_quota": "2048"}
    )
    rows = {row.name: row for row in proposal.rows}
    assert set(rows) == {"timeout", "imapidletimeout", "autocreate_quota"}
    assert rows["timeout"].default == "32m"  # Cyrus's own default (cyr_info conf-default)
    assert rows["timeout"].running is None and rows["timeout"].proposed == "45m"
    assert rows["autocreate_quota"].running is None  # the renderer's -1 is Cyrus's default
    assert "+timeout: 45m" in proposal.file_diffs["imapd.conf"]

    outcome = flow.apply(cyrus, CYRUS, menu, proposal)
    assert outcome.applied, outcome.reason
    assert outcome.smoke.startswith("IMAP LOGIN")
    assert "LHLO 250" in outcome.smoke
    live = live_conf(cyrus)
    assert (live["timeout"], live["imapidletimeout"], live["autocreate_quota"]) == ("45m", "40m", "2048")
    # the file keeps the stack's mode and group (ptloader's bind password is in it)
    assert (conf.stat().st_mode & 0o7777, conf.stat().st_gid) == (mode, gid)
    # what the stack's next start writes is what runs now
    assert cyrus.render(cyrus.stored())["imapd.conf"] == conf.read_text()
    assert cyrus.params().menu == cyrus.stored()
    # a fresh imapd (every connection gets one) serves with the new file
    with imaplib.IMAP4("127.0.0.1", cyrus.ctx.ports.imap, timeout=10) as imap:
        imap.login(cyrus.ctx.config.cyrus_admin, cyrus.ctx.secrets.get(CYRUS_ADMIN))
        imap.logout()

    # back to the renderer's values: removed from the stored values, gone from what Cyrus reads
    back = flow.propose(
        cyrus, CYRUS, menu, {"timeout": None, "imapidletimeout": None, "autocreate_quota": None}
    )
    assert flow.apply(cyrus, CYRUS, menu, back).applied
    live = live_conf(cyrus)
    assert "imapidletimeout" not in live and "autocreate_quota" not in live
    assert live.get("timeout", "32m") == "32m"


def test_a_change_that_breaks_logins_is_rolled_back(cyrus: Any, stack: Any) -> None:
    """maxlogins_per_user 1 while the admin has a session open: imapd refuses the smoke test's login ("Too
    many open connections"), so the flow puts the previous imapd.conf back and Cyrus serves again."""
    menu = stack.layout.menu
    conf = cyrus.layout.imapd_conf
    before_bytes = conf.read_bytes()
    before = store.load(menu, "cyrus")
    held = imaplib.IMAP4("127.0.0.1", cyrus.ctx.ports.imap, timeout=10)
    try:
        held.login(cyrus.ctx.config.cyrus_admin, cyrus.ctx.secrets.get(CYRUS_ADMIN))
        proposal = flow.propose(cyrus, CYRUS, menu, {"maxlogins_per_user": "1"})
        outcome = flow.apply(cyrus, CYRUS, menu, proposal)
    finally:
        held.logout()
    assert not outcome.applied
    assert "Too many open connections" in outcome.reason, outcome.reason
    assert outcome.rollback_problem == ""
    assert conf.read_bytes() == before_bytes
    assert store.load(menu, "cyrus") == before
    assert "maxlogins_per_user" not in live_conf(cyrus)
    assert cyrus.smoke().startswith("IMAP LOGIN")


def _local_registry(*params: Param) -> Registry:
    """Parameters the real registry would never let through, to make Cyrus itself say no."""
    return Registry(service="cyrus", title="test", file="imapd.conf", groups=[Group("t", "t")], params=params)


@pytest.mark.parametrize(
    ("param", "value", "said"),
    [
        # a key Cyrus does not know: `cyr_info conf-lint` names it
        (Param("no_such_cyrus_option", Kind.TEXT, "t", "test"), "1", "no_such_cyrus_option"),
        # a known key with a value Cyrus cannot parse: `cyr_info conf` stops with a fatal error
        (Param("delete_mode", Kind.TEXT, "t", "test"), "sometimes", "invalid value 'sometimes'"),
        (Param("timeout", Kind.TEXT, "t", "test"), "banana", "unparsable duration"),
    ],
)
def test_cyrus_refuses_and_nothing_changes(
    cyrus: Any, stack: Any, param: Param, value: str, said: str
) -> None:
    menu = stack.layout.menu
    conf = cyrus.layout.imapd_conf
    before_bytes = conf.read_bytes()
    before = store.load(menu, "cyrus")
    with pytest.raises(flow.DaemonRefused, match=re.escape(said)):
        flow.propose(cyrus, _local_registry(param), menu, {param.name: value})
    assert conf.read_bytes() == before_bytes
    assert store.load(menu, "cyrus") == before
    assert not any((menu / "staging").iterdir())  # the staged copy is gone too


def test_defaults_and_values_come_from_cyr_info(cyrus: Any, tmp_path: Path) -> None:
    defaults = cyrus.defaults()
    assert defaults["timeout"] == "32m" and defaults["maxlogins_per_user"] == "0"
    running = cyrus.values_of(None)
    assert running["servername"] == cyrus.ctx.config.cyrus_servername
    assert running["hashimapspool"] == "yes"  # rendered as `true`; Cyrus reads it as a switch
    assert "timeout" not in running  # `conf` lists only what differs from the default
    (tmp_path / "imapd.conf").write_text(cyrus.render({"quotawarn": "85"})["imapd.conf"])
    assert cyrus.values_of(tmp_path)["quotawarn"] == "85"


# --- the renderer's part (no daemon needed) ---------------------------------------------------------------
def _params(**menu: str) -> CyrusParams:
    run = Path("/srv/cyrus/run")
    return CyrusParams(
        imapd_conf=Path("/srv/cyrus/etc/imapd.conf"),
        config_dir=Path("/srv/cyrus/lib"),
        partition_dir=Path("/srv/cyrus/spool"),
        run_dir=run,
        servername="imap.example.org",
        saslauthd_mux=Path("/srv/saslauthd/mux"),
        sasldb=Path("/srv/cyrus/sasldb2"),
        imap_port=1143,
        lmtp_port=1024,
        menu=menu,
    )


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def test_menu_value_replaces_the_renderers_line_in_place_and_others_follow_sorted() -> None:
    plain = _lines(render_imapd_conf(_params()))
    changed = _lines(render_imapd_conf(_params(quotawarn="85", timeout="45m", imapidletimeout="40m")))
    at = plain.index("quotawarn: 90")
    assert changed[at] == "quotawarn: 85"
    assert changed[: len(plain)] == [*plain[:at], "quotawarn: 85", *plain[at + 1 :]]
    assert changed[len(plain) :] == ["imapidletimeout: 40m", "timeout: 45m"]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("timeout", "45m\nadmins: mallory"),  # a second line
        ("timeout", " 45m"),
        ("Timeout", "45m"),  # not an imapd.conf key
        ("time out", "45m"),
        ("admins: mallory\ntimeout", "45m"),
    ],
)
def test_menu_lines_cannot_smuggle_settings(key: str, value: str) -> None:
    with pytest.raises(ConfigValueError):
        render_imapd_conf(_params(**{key: value}))
