"""The change flow's steps against the running Postfix: refusals before staging, the daemon's own refusal,
the automatic rollback when the smoke test fails, the lock against stale proposals, and what the stack's
start does with a hand-edited main.cf."""

from __future__ import annotations

import os
from typing import Any

import pytest

from mailadmin.configfiles import store
from mailadmin.configfiles.change import flow
from mailadmin.configfiles.registry import Group, Kind, Param, Registry
from mailadmin.configfiles.registry.postfix import POSTFIX
from tests.configuration.conftest import ehlo_size

# The console fixes virtual_transport in the real registry; this one lets a test break the LMTP address, the
# fault the smoke test exists to catch (a real Postfix, a real dead port: no fake).
BREAKABLE = Registry(
    "postfix",
    "Postfix",
    "main.cf",
    [Group("g", "g")],
    [
        Param("virtual_transport", Kind.TEXT, "g", "where mailboxes are delivered"),
        Param("message_size_limit", Kind.SIZE, "g", "size", minimum=1024),
        Param("smtpd_banner", Kind.TEXT, "g", "banner", dollar=True),
    ],
)


def test_smoke_failure_rolls_back_by_itself(stack: Any, postfix_restored: Any) -> None:
    svc, menu = postfix_restored, stack.layout.menu
    main_cf = svc.config_path("main.cf").read_bytes()
    before = store.load(menu, "postfix")
    proposal = flow.propose(svc, BREAKABLE, menu, {"virtual_transport": "lmtp:inet:127.0.0.1:9"})
    assert any(r.name == "virtual_transport" for r in proposal.rows)
    outcome = flow.apply(svc, BREAKABLE, menu, proposal)
    assert not outcome.applied and not outcome.rollback_problem
    assert "nothing answers at the LMTP address 127.0.0.1:9" in outcome.reason
    assert svc.config_path("main.cf").read_bytes() == main_cf
    assert store.load(menu, "postfix") == before
    # the running Postfix is back on the old file
    assert svc.values_of(None)["virtual_transport"] != "lmtp:inet:127.0.0.1:9"


def test_daemon_refusal_leaves_the_running_file(stack: Any, postfix_restored: Any) -> None:
    svc, menu = postfix_restored, stack.layout.menu
    main_cf = svc.config_path("main.cf").read_bytes()
    # a $name Postfix does not know: postconf -n warns, so the staged copy is refused
    with pytest.raises(flow.DaemonRefused, match="undefined|unused|warning"):
        flow.propose(svc, BREAKABLE, menu, {"smtpd_banner": "$no_such_parameter_here ESMTP"})
    assert svc.config_path("main.cf").read_bytes() == main_cf
    assert list((menu / "staging").glob("*")) == []


def test_unknown_and_fixed_names_are_refused_before_anything_is_rendered(
    stack: Any, postfix_restored: Any
) -> None:
    svc, menu = postfix_restored, stack.layout.menu
    with pytest.raises(flow.ChangeRefused) as caught:
        flow.propose(svc, POSTFIX, menu, {"no_such": "1", "virtual_transport": "lmtp:inet:127.0.0.1:9"})
    assert set(caught.value.errors) == {"no_such", "virtual_transport"}


def test_a_stale_proposal_is_refused(stack: Any, postfix_restored: Any) -> None:
    svc, menu = postfix_restored, stack.layout.menu
    first = flow.propose(svc, POSTFIX, menu, {"message_size_limit": "20000000"})
    second = flow.propose(svc, POSTFIX, menu, {"message_size_limit": "30000000"})
    assert flow.apply(svc, POSTFIX, menu, first).applied
    with pytest.raises(flow.StaleProposal):
        flow.apply(svc, POSTFIX, menu, second)
    assert ehlo_size(int(os.environ["SMTP_PORT"])) == "20000000"


def test_stack_start_keeps_a_hand_edit_aside(stack: Any, postfix_restored: Any) -> None:
    """A restart renders from the stored values; a hand-edited main.cf is saved beside it first."""
    svc = postfix_restored
    path = svc.config_path("main.cf")
    text = path.read_text(encoding="utf-8")
    path.write_text(text + "# hand edit\n", encoding="utf-8")
    svc.prepare()  # what the stack's start does before launching Postfix
    kept = sorted(path.parent.glob("main.cf.hand-edit-*"))
    assert kept and kept[-1].read_text(encoding="utf-8").endswith("# hand edit\n")
    assert path.read_text(encoding="utf-8") == text
    for k in kept:
        k.unlink()


def test_ldap_table_settings_reach_every_table_and_a_bad_bind_is_refused(
    stack: Any, postfix_restored: Any
) -> None:
    """ldap_* parameters go into every table file; a wrong bind password is caught by the staged tables'
    lookup probe (postmap -q), before any running table is touched."""
    svc, menu = postfix_restored, stack.layout.menu
    tables = {p: p.read_bytes() for p in svc.etc.glob("*.cf") if p.name not in ("main.cf", "master.cf")}
    with pytest.raises(flow.DaemonRefused):
        flow.propose(svc, POSTFIX, menu, {"ldap_bind_pw": "wrong-password-1"})
    assert {p: p.read_bytes() for p in tables} == tables
    proposal = flow.propose(svc, POSTFIX, menu, {"ldap_timeout": "7"})
    changed = [name for name, text in proposal.file_diffs.items() if text]
    assert len(changed) == len(tables)  # every table, not main.cf
    assert all("+timeout = 7" in proposal.file_diffs[name] for name in changed)
    outcome = flow.apply(svc, POSTFIX, menu, proposal)
    assert outcome.applied, outcome.reason
    assert all(b"timeout = 7\n" in p.read_bytes() for p in tables)
    # and back: the tables are restored with the previous version's values
    back = flow.propose(svc, POSTFIX, menu, {"ldap_timeout": None})
    assert flow.apply(svc, POSTFIX, menu, back).applied
    assert {p: p.read_bytes() for p in tables} == tables


def test_diffs_never_show_a_password(stack: Any, postfix_restored: Any) -> None:
    from mailadmin.configfiles.change import diff

    svc = postfix_restored
    files = svc.render({"ldap_bind_pw": "Visible-secret-42"})
    table = next(name for name in files if name != "main.cf")
    shown = diff.file_diff(table, svc.config_path(table).read_text(encoding="utf-8"), files[table])
    assert "+bind_pw = ******** (changed)" in shown
    assert "Visible-secret-42" not in shown
    assert svc.ctx.secrets.get("ldap-postfix") not in shown


def test_a_parameter_that_needs_a_restart_restarts_postfix(stack: Any, postfix_restored: Any) -> None:
    svc, menu = postfix_restored, stack.layout.menu
    pid = svc.pid()
    outcome = flow.apply(
        svc, POSTFIX, menu, flow.propose(svc, POSTFIX, menu, {"inet_interfaces": "127.0.0.1"})
    )
    assert outcome.applied, outcome.reason
    assert svc.pid() != pid  # a new master: reload would not have applied inet_interfaces
    assert svc.values_of(None)["inet_interfaces"] == "127.0.0.1"
    back = flow.apply(svc, POSTFIX, menu, flow.propose(svc, POSTFIX, menu, {"inet_interfaces": None}))
    assert back.applied, back.reason


def test_fake_reload_failure_rolls_back(
    stack: Any, postfix_restored: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fake: `postfix reload` failing (a real one can't be made to fail on demand) once, for the apply; the
    rollback's reload is the real one."""
    svc, menu = postfix_restored, stack.layout.menu
    main_cf = svc.config_path("main.cf").read_bytes()
    real_reload = svc.reload
    calls = []

    def failing_once() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("postfix/postfix-script: fatal: the Postfix mail system is not running")
        real_reload()

    monkeypatch.setattr(svc, "reload", failing_once)
    outcome = flow.apply(
        svc, POSTFIX, menu, flow.propose(svc, POSTFIX, menu, {"message_size_limit": "7654321"})
    )
    assert not outcome.applied and "not running" in outcome.reason and not outcome.rollback_problem
    assert svc.config_path("main.cf").read_bytes() == main_cf
    assert ehlo_size(int(os.environ["SMTP_PORT"])) != "7654321"
