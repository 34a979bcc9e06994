"""DLV-04 in real SMTP sessions: every event x action gives the expected reply, header (read over IMAP, or
from the queue for relayed mail) or silent discard. Port 25 for SUBMIT, ANONYMOUS, ORIGINATOR, RECIPIENT and
RELAY; the submission port with SASL AUTH (saslauthd -> LDAP) for AUTH_SUCCESS and AUTH_MISMATCH."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

import pytest
from django.conf import settings

from mailadmin import directory, postfix
from mailqueue.relayrules.engine import HEADER_NAMES, Event
from tests.conftest import Personas
from tests.mailqueue.test_relayrules_helpers import (
    AddRule,
    absent,
    client_ip,
    fetch_headers,
    rcpt,
    relay_rules_fixture,  # noqa: F401 - the fixture `relay_rules`
    send,
    tag,
)


@dataclass
class Case:
    event: Event
    pattern: str
    sender: str
    recipient: str
    source: str = "127.0.0.1"
    submission: bool = False
    login: tuple[str, str] | None = None
    remote: bool = False  # the recipient is not hosted here: the mail is relayed (and waits in the queue)
    extra: dict[str, str] = field(default_factory=dict)

    def kwargs(self) -> dict[str, object]:
        return {"source": self.source, "submission": self.submission, "login": self.login}


def _address(personas: Personas) -> str:
    entry = directory.get_entry(personas.user.dn, ["mail"])
    assert entry is not None
    return entry.first("mail")


def make_case(event: Event, personas: Personas) -> Case:
    t = tag()
    me = _address(personas)
    user = (personas.user.uid, personas.user.password)
    ip = client_ip()
    if event in (Event.SUBMIT, Event.ANONYMOUS):
        return Case(event, ip, f"s-{t}@example.org", me, source=ip)
    if event is Event.ORIGINATOR:  # the manual's example: *@*.spam.net matches iama.spammer@lotsof.spam.net
        return Case(event, f"*@*.{t}.spam.test", f"iama.spammer@lotsof.{t}.spam.test", me)
    if event is Event.RECIPIENT:
        return Case(event, me, f"r-{t}@example.org", me)
    if event is Event.RELAY:
        return Case(event, ip, f"relay-{t}@example.org", f"far-{t}@remote.example", source=ip, remote=True)
    if event is Event.AUTH_SUCCESS:
        return Case(event, ip, me, me, source=ip, submission=True, login=user)
    # AUTH_MISMATCH: logged in as ursula, MAIL FROM an address she does not own
    return Case(event, ip, f"notmine-{t}@{personas.domain_a}", me, source=ip, submission=True, login=user)


ALL_EVENTS = list(Event)


def _queued_from(sender: str, queue: str | None = None) -> list[str]:
    ids = []
    for line in postfix.postqueue_lines(settings.POSTFIX_CONFIG_DIR):
        if sender.encode() in line:
            item = json.loads(line)
            if item.get("sender") == sender and queue in (None, item.get("queue_name")):
                ids.append(item["queue_id"])
    return ids


def _deferred_from(sender: str, timeout: float = 20) -> str:
    """The relayed message once it waits in `deferred` (after the content filter's second pass, the
    remote relay port refuses): its queue id, stable from then on."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ids = _queued_from(sender, "deferred")
        if ids:
            assert len(ids) == 1
            return ids[0]
        time.sleep(0.2)
    raise AssertionError(f"no deferred message from {sender}")


@pytest.mark.parametrize("event", ALL_EVENTS)
def test_reject_answers_5xx_with_text(event: Event, personas: Personas, relay_rules: AddRule) -> None:
    case = make_case(event, personas)
    text = f"No mail from you {tag()}"
    relay_rules(event.value, case.pattern, "Reject", text)
    reply = rcpt(case.sender, case.recipient, **case.kwargs())  # type: ignore[arg-type]
    assert reply.code == 550, reply
    assert "5.7.1" in reply.text and text in reply.text


@pytest.mark.parametrize("event", ALL_EVENTS)
def test_defer_answers_4xx(event: Event, personas: Personas, relay_rules: AddRule) -> None:
    case = make_case(event, personas)
    relay_rules(event.value, case.pattern, "Defer")
    reply = rcpt(case.sender, case.recipient, **case.kwargs())  # type: ignore[arg-type]
    assert reply.code == 450, reply
    assert "4.7.1" in reply.text and "try again later" in reply.text


@pytest.mark.parametrize("event", ALL_EVENTS)
def test_accept_stops_the_rules(event: Event, personas: Personas, relay_rules: AddRule) -> None:
    """Accept: the message goes through, and a later rule for the same event and pattern never fires."""
    case = make_case(event, personas)
    relay_rules(event.value, case.pattern, "Accept")
    relay_rules(event.value, case.pattern, "Reject", "must not fire")
    reply = rcpt(case.sender, case.recipient, **case.kwargs())  # type: ignore[arg-type]
    assert reply.code == 250, reply


def test_without_a_rule_the_mismatch_is_refused(personas: Personas, relay_rules: AddRule) -> None:
    """The baseline AUTH_MISMATCH Accept lifts: Postfix's own reject_sender_login_mismatch."""
    case = make_case(Event.AUTH_MISMATCH, personas)
    reply = rcpt(case.sender, case.recipient, **case.kwargs())  # type: ignore[arg-type]
    assert reply.code == 553, reply
    assert "not owned" in reply.text


@pytest.mark.parametrize("event", ALL_EVENTS)
def test_header_names_the_event(event: Event, personas: Personas, relay_rules: AddRule) -> None:
    case = make_case(event, personas)
    relay_rules(event.value, case.pattern, "Header")
    subject = f"header {event.value} {tag()}"
    send(case.sender, case.recipient, subject, **case.kwargs())  # type: ignore[arg-type]
    if case.remote:
        queue_id = _deferred_from(case.sender)
        try:
            data, _ = postfix.postcat(settings.POSTFIX_CONFIG_DIR, queue_id)
        finally:
            postfix.postsuper(settings.POSTFIX_CONFIG_DIR, "delete", [queue_id])
        headers = data.decode(errors="replace")
    else:
        headers = fetch_headers(personas.user.uid, personas.user.password, subject)
    name = HEADER_NAMES[event]
    lines = [line for line in headers.splitlines() if line.startswith(f"{name}:")]
    assert len(lines) == 1, headers
    if event is Event.AUTH_MISMATCH:
        assert case.sender in lines[0] and personas.user.uid in lines[0]
    if event is Event.ORIGINATOR:
        assert case.sender in lines[0]


@pytest.mark.parametrize("event", ALL_EVENTS)
def test_discard_accepts_and_drops(event: Event, personas: Personas, relay_rules: AddRule) -> None:
    """250 to the client, yet never delivered: a control message sent after the rule is gone arrives,
    the discarded one never does (and relayed mail never enters the queue)."""
    from mailadmin.actor import Actor
    from mailqueue.relayrules import services

    case = make_case(event, personas)
    rule = relay_rules(event.value, case.pattern, "Discard")
    subject = f"discard {event.value} {tag()}"
    send(case.sender, case.recipient, subject, **case.kwargs())  # type: ignore[arg-type]
    if case.remote:
        assert _queued_from(case.sender) == []
        return
    services.relayrule_delete(actor=Actor.system("tests"), rule_id=rule.pk)
    control = f"control {event.value} {tag()}"
    # without the rule a mismatching sender is refused outright: the control comes from her own address
    sender = _address(personas) if event is Event.AUTH_MISMATCH else case.sender
    send(sender, case.recipient, control, **case.kwargs())  # type: ignore[arg-type]
    fetch_headers(personas.user.uid, personas.user.password, control)
    assert absent(personas.user.uid, personas.user.password, subject)


def test_change_applies_to_the_next_rcpt(personas: Personas, relay_rules: AddRule) -> None:
    """No reload delay: a rule works in the next SMTP transaction, and stops working once deleted."""
    from mailadmin.actor import Actor
    from mailqueue.relayrules import services

    case = make_case(Event.SUBMIT, personas)
    assert rcpt(case.sender, case.recipient, source=case.source).code == 250
    rule = relay_rules("SUBMIT", case.pattern, "Reject")
    assert rcpt(case.sender, case.recipient, source=case.source).code == 550
    services.relayrule_delete(actor=Actor.system("tests"), rule_id=rule.pk)
    assert rcpt(case.sender, case.recipient, source=case.source).code == 250


def test_order_decides(personas: Personas, relay_rules: AddRule) -> None:
    from mailadmin.actor import Actor
    from mailqueue.relayrules import services

    case = make_case(Event.SUBMIT, personas)
    relay_rules("SUBMIT", case.pattern, "Accept")
    reject = relay_rules("SUBMIT", case.pattern, "Defer")
    assert rcpt(case.sender, case.recipient, source=case.source).code == 250
    services.relayrule_move(actor=Actor.system("tests"), rule_id=reject.pk, direction="up")
    assert rcpt(case.sender, case.recipient, source=case.source).code == 450


def test_network_pattern(personas: Personas, relay_rules: AddRule) -> None:
    case = make_case(Event.SUBMIT, personas)
    net = ".".join(case.source.split(".")[:3]) + ".0/24"
    relay_rules("SUBMIT", net, "Reject")
    assert rcpt(case.sender, case.recipient, source=case.source).code == 550
    assert rcpt(case.sender, case.recipient).code == 250  # 127.0.0.1 is outside
