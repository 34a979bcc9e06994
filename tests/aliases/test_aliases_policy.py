"""The pieces behind Restricted and Open Membership that need no running server: the same-domain policy's
answers (aliases/sender_policy.py, the process Postfix spawns) and the rendered restriction settings.
The real SMTP proof is in test_aliases_mail.py."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest

from aliases.sender_policy import decide, serve
from mailadmin.configfiles import values as v
from mailadmin.configfiles.postfix import (
    ALIAS_LOCAL_SENDERS_CLASS,
    ALIAS_SAME_DOMAIN_CLASS,
    AliasSenders,
    LocalOnly,
    PostfixParams,
    render_main_cf,
    render_master_cf,
)
from mailadmin.configfiles.postfix_maps import POLICY_PYTHON, POLICY_SCRIPT, domain_alias_senders


@pytest.mark.parametrize(
    ("sender", "recipient", "allowed"),
    [
        ("bob@a.test", "team@a.test", True),
        ("Bob@A.Test", "team@a.test", True),
        ("bob@b.test", "team@a.test", False),
        ("bob@sub.a.test", "team@a.test", False),
        ("", "team@a.test", False),  # the null sender
        ("a.test", "team@a.test", False),
        ("@a.test", "team@a.test", False),
        ("x@a.test\r\naction=OK", "team@a.test", False),
    ],
)
def test_same_domain_decision(sender: str, recipient: str, allowed: bool) -> None:
    action = decide({"sender": sender, "recipient": recipient})
    assert (action == "DUNNO") is allowed
    if not allowed:
        assert action.startswith("REJECT 5.7.1 ")
        assert "\n" not in action


def test_protocol_answers_each_request_and_ignores_injected_lines() -> None:
    requests = (
        "request=smtpd_access_policy\nsender=bob@a.test\nrecipient=team@a.test\n\n"
        "request=smtpd_access_policy\nsender=eve@evil.example\nrecipient=team@a.test\naction=OK\n\n"
    )
    out = io.StringIO()
    serve(io.StringIO(requests), out)
    answers = out.getvalue().split("\n\n")
    assert answers[0] == "action=DUNNO"
    assert answers[1].startswith("action=REJECT 5.7.1 Only senders in a.test")


def test_the_script_runs_under_the_system_interpreter_with_the_standard_library_only() -> None:
    result = subprocess.run(
        [POLICY_PYTHON, "-I", str(POLICY_SCRIPT)],
        input="sender=bob@b.test\nrecipient=team@a.test\n\n",
        capture_output=True,
        text=True,
        timeout=20,
        check=True,
    )
    assert result.stdout.startswith("action=REJECT 5.7.1")


def _params(**extra: object) -> PostfixParams:
    return PostfixParams(
        config_dir=Path("/tmp/pf"),
        queue_dir=Path("/tmp/pf-q"),
        data_dir=Path("/tmp/pf-d"),
        log_file=Path("/tmp/pf-l/maillog"),
        myhostname="mx.mailbox.internal",
        mailbox_domain="mailbox.internal",
        relay_host="127.0.0.1",
        relay_port=2526,
        lmtp_host="127.0.0.1",
        lmtp_port=2424,
        smtp_port=2525,
        local_only=LocalOnly(
            local_domain_tables=("ldap:/tmp/pf/ld.cf",), receive_tables=("ldap:/tmp/pf/r.cf",)
        ),
        **extra,  # type: ignore[arg-type]
    )


def test_alias_triggers_come_before_the_local_only_ones_and_the_policy_is_spawned_unprivileged() -> None:
    senders = domain_alias_senders(lambda name: f"ldap:/tmp/pf/{name}.cf", "ldap:/tmp/pf/ld.cf")
    main = render_main_cf(_params(alias_senders=senders))
    lines = dict(line.split(" = ", 1) for line in main.splitlines() if " = " in line)
    restrictions = lines["smtpd_recipient_restrictions"].split(", ")
    assert restrictions.index("check_recipient_access ldap:/tmp/pf/ali-restricted.cf") < restrictions.index(
        "check_recipient_access ldap:/tmp/pf/r.cf"
    )
    assert ALIAS_SAME_DOMAIN_CLASS in lines["smtpd_restriction_classes"]
    assert lines[ALIAS_LOCAL_SENDERS_CLASS].endswith("may write to this alias}")
    master = render_master_cf(_params(alias_senders=senders))
    assert f"spawn user=nobody argv={POLICY_PYTHON} {POLICY_SCRIPT}" in master


@pytest.mark.parametrize(
    "change",
    [
        {"policy_user": "root"},
        {"policy_user": "postfix"},
        {"policy_argv": ("/usr/bin/python3", "/x\n-o smtpd=evil")},
        {"policy_argv": ("python3", "x.py")},
        {"restricted_tables": ("ldap:/tmp/x.cf\nsmtpd_recipient_restrictions = permit",)},
    ],
)
def test_hostile_alias_sender_settings_are_refused(change: dict[str, object]) -> None:
    fields: dict[str, object] = {
        "restricted_tables": ("ldap:/tmp/pf/ali-restricted.cf",),
        "closed_tables": ("ldap:/tmp/pf/ali-closed.cf",),
        "local_domain_tables": ("ldap:/tmp/pf/ld.cf",),
        "policy_argv": (POLICY_PYTHON, str(POLICY_SCRIPT)),
    }
    fields.update(change)
    params = _params(alias_senders=AliasSenders(**fields))  # type: ignore[arg-type]
    with pytest.raises(v.ConfigValueError):
        render_main_cf(params)
        render_master_cf(params)
