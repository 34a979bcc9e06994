"""Rendering "Send only local mail" / "Receive only local mail" (ACC-07) and the sender-login check: hostile
values in any new parameter are refused (ConfigValueError) and nothing is written; what is rendered passes
Postfix's own `postconf -n` without a warning.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from mailadmin import postfix
from mailadmin.configfiles import ConfigValueError, atomic_write
from mailadmin.configfiles.postfix import (
    RECEIVE_LOCAL_ONLY_CLASS,
    SEND_LOCAL_ONLY_CLASS,
    SUBMISSION_RECIPIENTS,
    LocalOnly,
    PostfixParams,
    render_main_cf,
    render_master_cf,
)
from mailadmin.configfiles.postfix_tables import LdapTable, install_ldap_table, render_ldap_table

HOSTILE = "x\nmydestination = evil"
TABLES = (
    "local-domains",
    "sender-logins",
    "send-local-only-logins",
    "send-local-only-senders",
    "receive-local-only",
)
LOCAL_ONLY = LocalOnly(
    local_domain_tables=("ldap:/pf/etc/local-domains.cf",),
    send_login_tables=("ldap:/pf/etc/send-local-only-logins.cf",),
    send_sender_tables=("ldap:/pf/etc/send-local-only-senders.cf",),
    receive_tables=("ldap:/pf/etc/receive-local-only.cf", "ldap:/pf/etc/receive-local-only-mailboxes.cf"),
)


def _params(tmp: Path, **changes: object) -> PostfixParams:
    values: dict[str, object] = {
        "config_dir": tmp,
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
        "sender_login_tables": ("ldap:/pf/etc/sender-logins.cf",),
        "local_only": LOCAL_ONLY,
    }
    values.update(changes)
    return PostfixParams(**values)  # type: ignore[arg-type]


def test_postfix_reads_the_rendered_classes_without_a_warning(tmp_path: Path) -> None:
    """Everything in one directory, as Postfix sees it: main.cf, master.cf and the table files."""
    etc = tmp_path / "etc"
    etc.mkdir()
    refs = {name: f"ldap:{etc}/{name}.cf" for name in TABLES}
    for name in TABLES:
        atomic_write(etc / f"{name}.cf", render_ldap_table(_table(name=name)), backdate=3)
    params = _params(
        etc,
        sender_login_tables=(refs["sender-logins"],),
        local_only=LocalOnly(
            local_domain_tables=(refs["local-domains"],),
            send_login_tables=(refs["send-local-only-logins"],),
            send_sender_tables=(refs["send-local-only-senders"],),
            receive_tables=(refs["receive-local-only"],),
        ),
    )
    atomic_write(etc / "main.cf", render_main_cf(params), backdate=3)
    atomic_write(etc / "master.cf", render_master_cf(params), backdate=3)
    conf = postfix.postconf_n(etc)  # raises on any warning ("unused parameter", syntax, unreadable table)
    assert conf["smtpd_restriction_classes"] == f"{SEND_LOCAL_ONLY_CLASS}, {RECEIVE_LOCAL_ONLY_CLASS}"
    # port 25 has no SASL: its list leaves the login check out (else a warning per RCPT); submission names
    # the whole list
    assert conf["smtpd_recipient_restrictions"] == (
        "$mailadmin_uce_recipient_checks, $mailadmin_uce_rbl_checks, "  # the UCE controls' checks first
        f"check_sender_access {refs['send-local-only-senders']}, "
        f"check_recipient_access {refs['receive-local-only']}"
    )
    assert conf[SUBMISSION_RECIPIENTS] == (
        "$mailadmin_uce_recipient_checks, $mailadmin_uce_rbl_checks, "
        f"check_sasl_access {refs['send-local-only-logins']}, "
        f"check_sender_access {refs['send-local-only-senders']}, "
        f"check_recipient_access {refs['receive-local-only']}"
    )
    send = conf[SEND_LOCAL_ONLY_CLASS]
    assert send.startswith("check_recipient_access inline:{mailbox.internal=OK}, ")
    assert send.endswith("static:{REJECT 5.7.1 This account may send mail only to local domains}")
    receive = conf[RECEIVE_LOCAL_ONLY_CLASS]
    assert f"check_sender_access {refs['local-domains']}" in receive
    assert conf["smtpd_sender_login_maps"] == refs["sender-logins"]


def test_the_submission_port_checks_who_owns_the_sender(tmp_path: Path) -> None:
    master = render_master_cf(_params(tmp_path))
    submission = master.split("127.0.0.1:10587", 1)[1].split("\npickup", 1)[0]
    assert "-o smtpd_sender_restrictions=reject_sender_login_mismatch" in submission
    assert f"-o smtpd_recipient_restrictions=${SUBMISSION_RECIPIENTS}" in submission
    port25 = master.split("127.0.0.1:10587", 1)[0]
    assert "smtpd_recipient_restrictions" not in port25
    plain = render_master_cf(_params(tmp_path, sender_login_tables=()))
    assert "reject_sender_login_mismatch" not in plain


def test_without_local_only_nothing_is_rendered(tmp_path: Path) -> None:
    text = render_main_cf(_params(tmp_path, local_only=None, sender_login_tables=()))
    for word in ("smtpd_restriction_classes", "smtpd_sender_login_maps", "check_sender_access"):
        assert word not in text
    # only the UCE controls' (empty) checks remain in the recipient list
    recipients = [line for line in text.splitlines() if line.startswith("smtpd_recipient_restrictions")]
    assert recipients == [
        "smtpd_recipient_restrictions = $mailadmin_uce_recipient_checks, $mailadmin_uce_rbl_checks"
    ]


BAD_REFS = [
    HOSTILE,
    "ldap:/pf/etc/x.cf\nmydestination = evil",
    "ldap:/pf/etc/x.cf, permit",
    "ldap:/pf/etc/x.cf,permit",
    "ldap:/pf/etc/x#.cf",
    "ldap:/pf/etc/$evil.cf",
    "ldap:relative.cf",
    "ldap:/pf/etc/x.cf\\",
    " ldap:/pf/etc/x.cf",
    "bogus:/pf/etc/x.cf",
    "ldap:/pf/etc/../../etc/shadow",
]


def _cases() -> list[tuple[str, Callable[[Path], PostfixParams]]]:
    cases: list[tuple[str, Callable[[Path], PostfixParams]]] = []
    for i, bad in enumerate(BAD_REFS):
        for field in ("local_domain_tables", "send_login_tables", "send_sender_tables", "receive_tables"):

            def make(tmp: Path, field: str = field, bad: str = bad) -> PostfixParams:
                return _params(tmp, local_only=replace(LOCAL_ONLY, **{field: (bad,)}))

            cases.append((f"{field}-{i}", make))

        def logins(tmp: Path, bad: str = bad) -> PostfixParams:
            return _params(tmp, sender_login_tables=(bad,))

        cases.append((f"sender_login_tables-{i}", logins))
    cases += [
        (
            "no-local-domains",
            lambda tmp: _params(tmp, local_only=replace(LOCAL_ONLY, local_domain_tables=())),
        ),
        (
            "no-trigger",
            lambda tmp: _params(
                tmp, local_only=LocalOnly(local_domain_tables=LOCAL_ONLY.local_domain_tables)
            ),
        ),
        ("mailbox_domain", lambda tmp: _params(tmp, mailbox_domain="mailbox.internal}=OK, permit")),
        ("logins-without-sasl", lambda tmp: _params(tmp, sasl_config_dir=None, submission_port=None)),
    ]
    return cases


@pytest.mark.parametrize(("case", "make"), _cases(), ids=[c for c, _ in _cases()])
def test_hostile_values_are_refused_and_nothing_is_written(
    case: str, make: Callable[[Path], PostfixParams], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ConfigValueError):
        atomic_write(out / "main.cf", render_main_cf(make(tmp_path)))
    assert list(out.iterdir()) == []


def _table(**changes: object) -> LdapTable:
    values: dict[str, object] = {
        "name": "local-domains",
        "server_uri": "ldap://127.0.0.1:10389",
        "bind_dn": "cn=postfix,ou=services,dc=mailadmin",
        "bind_pw": "pw",
        "search_base": "ou=domains,dc=mailadmin",
        "query_filter": "(&(objectClass=mailDomain)(dc=%d))",
        "result_attribute": "dc",
        "result_format": "OK",
    }
    values.update(changes)
    return LdapTable(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "changes",
    [
        {"result_format": "OK\nmydestination = evil"},
        {"result_format": "OK # comment"},
        {"result_format": "%x"},
        {"result_format": "$mydestination"},
        {"query_filter": "(&(mailSendLocalOnly=TRUE)(uid=%s))\nbind = no"},
        {"query_filter": "(uid=%s) \\"},
        {"domains": ("mailbox.internal\nbind_pw = x",)},
        {"domains": ("a.test, ldap:/etc/x.cf",)},
        {"name": "../evil"},
    ],
    ids=lambda c: next(iter(c)),
)
def test_hostile_table_values_are_refused_before_any_file_or_probe(
    changes: dict[str, object], tmp_path: Path
) -> None:
    with pytest.raises(ConfigValueError):
        render_ldap_table(_table(**changes))
    with pytest.raises(ConfigValueError):
        # refused while rendering: no staging file, no postmap (the config dir does not even exist)
        install_ldap_table(_table(**changes), tmp_path / "t.cf", config_dir=tmp_path / "missing")
    assert list(tmp_path.iterdir()) == []
