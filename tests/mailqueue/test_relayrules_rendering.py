"""DLV-04: how main.cf and master.cf ask the relay rules (RelayPolicy), checked by `postconf` itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailadmin import postfix
from mailadmin.configfiles import atomic_write
from mailadmin.configfiles.postfix import (
    LocalOnly,
    PostfixParams,
    RelayPolicy,
    render_main_cf,
    render_master_cf,
)
from mailadmin.configfiles.values import ConfigValueError


def _params(etc: Path, **changes: object) -> PostfixParams:
    values: dict[str, object] = {
        "config_dir": etc,
        "queue_dir": Path("/tmp/pf/spool"),
        "data_dir": Path("/tmp/pf/data"),
        "log_file": Path("/tmp/pf/log/maillog"),
        "myhostname": "mx.test",
        "mailbox_domain": "mailbox.internal",
        "relay_host": "127.0.0.1",
        "relay_port": 10029,
        "lmtp_host": "127.0.0.1",
        "lmtp_port": 10024,
        "smtp_port": 10025,
        "submission_port": 10587,
        "sasl_config_dir": Path("/tmp/pf/etc/sasl"),
        "sender_login_tables": ("inline:{a@b.test=a}",),
        "local_only": LocalOnly(
            local_domain_tables=("inline:{b.test=OK}",), receive_tables=("inline:{x@b.test=y}",)
        ),
        "relay_policy": RelayPolicy(port=10040),
    }
    values.update(changes)
    return PostfixParams(**values)  # type: ignore[arg-type]


def _main(text: str) -> dict[str, str]:
    return dict(line.split(" = ", 1) for line in text.splitlines() if " = " in line)


def test_the_policy_comes_first_and_postfix_reads_it_without_a_warning(tmp_path: Path) -> None:
    params = _params(tmp_path)
    atomic_write(tmp_path / "main.cf", render_main_cf(params), backdate=3)
    atomic_write(tmp_path / "master.cf", render_master_cf(params), backdate=3)
    assert postfix.postconf_warnings(tmp_path) == []
    conf = postfix.postconf_n(tmp_path)
    check = "check_policy_service { inet:127.0.0.1:10040,timeout=10s,policy_context=%s }"
    recipient = conf["smtpd_recipient_restrictions"].split(", ")
    assert recipient[0] == check % "recipient"
    assert any(r.startswith("check_recipient_access inline:") for r in recipient[1:])
    relay = conf["smtpd_relay_restrictions"].split(", ")
    assert relay[:2] == ["permit_auth_destination", check % "relay"]
    assert relay[-1] == "reject_unauth_destination"
    assert (
        conf["mailadmin_relayrules_submission_sender"] == f"{check % 'sender'}, reject_sender_login_mismatch"
    )
    assert "default_action" not in conf["smtpd_recipient_restrictions"]  # down: Postfix's own 451 4.3.5
    master = render_master_cf(params)
    submission = master.split("127.0.0.1:10587", 1)[1].split("\npickup", 1)[0]
    assert "-o smtpd_relay_restrictions=$mailadmin_relayrules_submission_relay" in submission
    assert "-o smtpd_sender_restrictions=$mailadmin_relayrules_submission_sender" in submission


def test_when_down_dunno_and_without_the_policy(tmp_path: Path) -> None:
    conf = _main(render_main_cf(_params(tmp_path, relay_policy=RelayPolicy(port=10040, when_down="dunno"))))
    assert "default_action=DUNNO" in conf["smtpd_recipient_restrictions"]
    plain = _main(render_main_cf(_params(tmp_path, relay_policy=None)))
    assert "check_policy_service" not in plain["smtpd_recipient_restrictions"]
    assert (
        plain["smtpd_relay_restrictions"]
        == "permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination"
    )
    assert "mailadmin_relayrules_submission_relay" not in plain


@pytest.mark.parametrize(
    "policy",
    [
        RelayPolicy(port=70000),
        RelayPolicy(port=10040, when_down="open"),
        RelayPolicy(port=10040, timeout="10s, permit"),
        RelayPolicy(port=10040, timeout="1s\nsmtpd_recipient_restrictions = permit"),
    ],
)
def test_bad_values_refused(tmp_path: Path, policy: RelayPolicy) -> None:
    with pytest.raises(ConfigValueError):
        render_main_cf(_params(tmp_path, relay_policy=policy))
