"""DLV-04: the rule engine (patterns, matching, answers) and the policy service's protocol, spoken to the
stack's running `manage.py policyd` over its socket; the fault test stops it to show Postfix's 451."""

from __future__ import annotations

import os
import socket
import time

import pytest

from mailqueue.relayrules.engine import (
    Action,
    Context,
    Envelope,
    Event,
    PatternError,
    Rule,
    clean_pattern,
    clean_text,
    evaluate,
    wildcard_match,
)
from mailqueue.relayrules.policyd import MAX_LINE
from tests.conftest import Personas
from tests.mailqueue.test_relayrules_helpers import (
    AddRule,
    client_ip,
    rcpt,
    relay_rules_fixture,  # noqa: F401 - the fixture `relay_rules`
    tag,
)


def rule(event: str, pattern: str, action: str = "Reject", text: str = "", position: int = 1) -> Rule:
    return Rule.make(id=position, position=position, event=event, pattern=pattern, action=action, text=text)


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        ("*@*.spam.net", "iama.spammer@lotsof.spam.net", True),
        ("*@*.spam.net", "someone@spam.net", False),
        ("*", "", True),
        ("a?c", "abc", True),
        ("a?c", "ac", False),
        ("*.example.com", "mx.example.com", True),
        ("*.example.com", "example.com", False),
        ("a*b*c", "aXbYc", True),
        ("a*b*c", "aXbY", False),
    ],
)
def test_wildcards(pattern: str, text: str, expected: bool) -> None:
    assert wildcard_match(pattern, text) is expected


def test_matcher_never_explodes() -> None:
    """The classic catastrophic-backtracking shape, as a glob: bounded by len(pattern) * len(text)."""
    pattern = clean_pattern(Event.ORIGINATOR, "*a*a*a*a*a*a*b@*")
    began = time.perf_counter()
    assert not wildcard_match(pattern, "a" * 250 + "@x")
    assert time.perf_counter() - began < 0.1


@pytest.mark.parametrize(
    ("event", "raw", "clean"),
    [
        (Event.SUBMIT, "*", "*"),
        (Event.SUBMIT, "192.0.2.0/24", "192.0.2.0/24"),
        (Event.SUBMIT, "2001:db8::/32", "2001:db8::/32"),
        (Event.SUBMIT, "Mail*.Example.COM", "mail*.example.com"),
        (Event.RELAY, "10.1.2.3", "10.1.2.3"),
        (Event.ORIGINATOR, "*@*.spam.net", "*@*.spam.net"),
        (Event.RECIPIENT, "Postmaster@example.com", "postmaster@example.com"),
    ],
)
def test_patterns_accepted(event: Event, raw: str, clean: str) -> None:
    assert clean_pattern(event, raw) == clean


@pytest.mark.parametrize(
    ("event", "raw"),
    [
        (Event.SUBMIT, "*)(uid=*"),
        (Event.SUBMIT, "(a+)+$"),
        (Event.SUBMIT, "[a-z]*"),
        (Event.SUBMIT, "host name"),
        (Event.SUBMIT, " x.example.com"),
        (Event.SUBMIT, "a..b"),
        (Event.SUBMIT, "x" * 256),
        (Event.SUBMIT, "*" * 9 + ".com"),
        (Event.ORIGINATOR, "no-at-sign"),
        (Event.ORIGINATOR, "a@b@c"),
        (Event.ORIGINATOR, '"><img src=x>@x'),
        (Event.RECIPIENT, "a\r\n@b"),
        (Event.RECIPIENT, "a\x00@b"),
    ],
)
def test_patterns_refused(event: Event, raw: str) -> None:
    with pytest.raises(PatternError):
        clean_pattern(event, raw)


@pytest.mark.parametrize("raw", ["a\r\nb", "x\x00", "ümlaut", "t" * 201, "tab\there"])
def test_text_refused(raw: str) -> None:
    with pytest.raises(PatternError):
        clean_text(raw)


def test_answers_per_context() -> None:
    env = Envelope(client_address="192.0.2.1", sender="a@b.example", recipient="c@d.example")
    assert evaluate([rule("SUBMIT", "*", "Accept")], env).action == "DUNNO"
    assert evaluate([rule("SUBMIT", "*", "Defer")], env).action.startswith("450 4.7.1 ")
    assert evaluate([rule("SUBMIT", "*", "Reject", "Go")], env).action == "550 5.7.1 Go"
    assert evaluate([rule("SUBMIT", "*", "Discard")], env).action.startswith("DISCARD ")
    assert (
        evaluate([rule("SUBMIT", "*", "Header")], env).action
        == "PREPEND X-Suspicious-Host: unknown[192.0.2.1]"
    )
    relay = Envelope(client_address="192.0.2.1", recipient="x@far.example", context=Context.RELAY)
    assert evaluate([rule("RELAY", "192.0.2.0/24", "Accept")], relay).action == "OK"
    assert evaluate([rule("SUBMIT", "*", "Reject")], relay).action == "DUNNO"  # relay context: RELAY only
    sender = Envelope(client_address="192.0.2.1", sasl_username="u", sender="v@x", context=Context.SENDER)
    mismatch = [rule("AUTH_MISMATCH", "*", "Header")]
    assert evaluate(mismatch, sender, lambda _a: ["v"]).action == "OK"
    assert evaluate(mismatch, sender, lambda _a: []).action == "OK"
    assert evaluate(mismatch, sender, lambda _a: ["u"]).rule is None  # she owns it: no mismatch


def test_header_values_are_sanitised() -> None:
    env = Envelope(client_address="192.0.2.1", client_name="evil\r\nX-Bad: 1", sender="a\x00b@x")
    action = evaluate([rule("ORIGINATOR", "*")], env).action
    assert action == "550 5.7.1 Message rejected by an SMTP relay rule"
    header = evaluate([rule("SUBMIT", "*", "Header")], env).action
    assert "\r" not in header and "\n" not in header


def test_first_match_wins() -> None:
    rules = [
        rule("ORIGINATOR", "*@x.test", "Accept", position=1),
        rule("ORIGINATOR", "*", "Reject", position=2),
    ]
    assert evaluate(rules, Envelope(sender="a@x.test")).action == "DUNNO"
    assert evaluate(rules, Envelope(sender="a@y.test")).action.startswith("550")


def test_rule_make_refuses_unknown_values() -> None:
    with pytest.raises(ValueError, match="HOLD"):
        Rule.make(id=1, position=1, event="HOLD", pattern="*", action="Reject")
    with pytest.raises(ValueError, match="OK"):
        Rule.make(id=1, position=1, event="SUBMIT", pattern="*", action="OK")
    assert Action("Header") is Action.HEADER


# --- the running service ------------------------------------------------------------------------------
def _port() -> int:
    return int(os.environ["POLICYD_PORT"])


def _ask(sock: socket.socket, attrs: dict[str, str]) -> str:
    sock.sendall(("".join(f"{k}={v}\n" for k, v in attrs.items()) + "\n").encode())
    data = b""
    while not data.endswith(b"\n\n"):
        chunk = sock.recv(4096)
        assert chunk, "policyd closed the connection"
        data += chunk
    return data.decode()


def test_protocol_many_requests_on_one_connection(stack: object, relay_rules: AddRule) -> None:
    ip = client_ip()
    relay_rules("SUBMIT", ip, "Reject", "Nope")
    request = {"request": "smtpd_access_policy", "protocol_state": "RCPT", "client_address": ip}
    with socket.create_connection(("127.0.0.1", _port()), timeout=5) as sock:
        for _ in range(3):
            assert _ask(sock, {**request, "recipient": "a@b.test"}) == "action=550 5.7.1 Nope\n\n"
        assert _ask(sock, {**request, "client_address": "192.0.2.99"}) == "action=DUNNO\n\n"
        # unknown attributes and lines without '=' are ignored; another request type is not ours
        assert _ask(sock, {"request": "junk", "noise": "x"}) == "action=DUNNO\n\n"


def test_many_connections_at_once_all_get_answers(stack: object, relay_rules: AddRule) -> None:
    """Postfix keeps one connection per smtpd process: requests arrive side by side. They once shared the
    rule cache's Redis subscription unguarded, and some got no answer (Postfix: 451)."""
    import threading

    ip = client_ip()
    relay_rules("SUBMIT", ip, "Reject", "Busy")
    request = {"request": "smtpd_access_policy", "protocol_state": "RCPT", "client_address": ip}
    answers: list[str] = []

    def client() -> None:
        with socket.create_connection(("127.0.0.1", _port()), timeout=10) as sock:
            for _ in range(40):
                answers.append(_ask(sock, {**request, "recipient": "a@b.test"}))

    threads = [threading.Thread(target=client) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == ["action=550 5.7.1 Busy\n\n"] * 480


def test_protocol_oversized_line_closes_connection(stack: object) -> None:
    with socket.create_connection(("127.0.0.1", _port()), timeout=5) as sock:
        sock.sendall(b"request=" + b"x" * (MAX_LINE * 3) + b"\n\n")
        assert sock.recv(100) == b""


@pytest.mark.fault
def test_service_down_means_451_then_back(personas: Personas, relay_rules: AddRule) -> None:
    """Fault injection: stop the stack's policyd (a process of this test session's stack) and ask Postfix;
    it answers 451 4.3.5 (smtpd_policy_service_default_action), so mail waits. Then start it again."""
    from mailadmin import directory
    from mailadmin.pytest_stack import session_stack
    from mailadmin.stack.config import load_ports
    from mailadmin.stack.policyd import Policyd

    stack = session_stack()
    me = directory.get_entry(personas.user.dn, ["mail"])
    assert me is not None
    svc = next(s for s in stack._services(load_ports(stack.layout)) if isinstance(s, Policyd))  # noqa: SLF001
    svc.stop()
    try:
        reply = rcpt(f"d-{tag()}@example.org", me.first("mail"))
        assert reply.code == 451 and "4.3.5" in reply.text
    finally:
        svc.clear_stale_pidfile()
        svc.launch()
        svc.wait_ready(30)
    assert rcpt(f"d-{tag()}@example.org", me.first("mail")).code == 250
