"""DLV-04 pages: list, create/edit/delete/move, the tester (unsaved rules), hostile input, refused personas.
Effects are proven over SMTP where a page changes what Postfix answers."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from django.test import Client

from mailadmin.actor import Actor
from mailadmin.audit.models import AuditEntry
from mailqueue.relayrules import services, store
from mailqueue.relayrules.models import RelayRule
from tests.conftest import Persona, Personas
from tests.mailqueue.test_relayrules_helpers import client_ip, rcpt, tag

Login = Callable[[Persona], Client]
HOSTILE = [
    "*)(uid=*",
    "x,ou=admins",
    "a+uid=root",
    "#leading",
    "trailing ",
    "nul\x00byte",
    "crlf\r\nX-Injected: 1",
    "a" * 300,
    '"><img src=x onerror=alert(1)>',
    "(a+)+$",
    "[a-z]*.example.com",
    "*.example.com\nREJECT",
]


@pytest.fixture
def cleanup(db: None, stack: object) -> Iterator[list[int]]:
    """Rule ids made through the pages; deleted (and the list republished) afterwards."""
    made: list[int] = []
    yield made
    actor = Actor.system("tests")
    for pk in made:
        if RelayRule.objects.filter(pk=pk).exists():
            services.relayrule_delete(actor=actor, rule_id=pk)


def _newest() -> RelayRule:
    rule = RelayRule.objects.order_by("-pk").first()
    assert rule is not None
    return rule


def _me(personas: Personas) -> str:
    from mailadmin import directory

    entry = directory.get_entry(personas.user.dn, ["mail"])
    assert entry is not None
    return entry.first("mail")


def test_create_through_the_page_changes_postfix_answer(
    personas: Personas, login: Login, cleanup: list[int]
) -> None:
    client = login(personas.admin)
    ip, me = client_ip(), _me(personas)
    assert client.get("/queue/relay-rules/").status_code == 200
    data = {"event": "SUBMIT", "pattern": ip, "action": "Reject", "text": f"Blocked {tag()}", "save": "1"}
    response = client.post("/queue/relay-rules/new/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    rule = _newest()
    cleanup.append(rule.pk)
    entry = AuditEntry.objects.filter(action="relayrule_create", target=f"relay rule {rule.pk}").get()
    assert entry.actor == personas.admin.uid and (entry.after or {}).get("pattern") == ip
    reply = rcpt(f"x-{tag()}@example.org", me, source=ip)
    assert reply.code == 550 and data["text"] in reply.text
    page = client.get("/queue/relay-rules/").content.decode()
    assert ip in page and "Reject" in page
    # edit it into a Defer
    response = client.post(f"/queue/relay-rules/{rule.pk}/", {**data, "action": "Defer", "text": ""})
    assert response.status_code == 302
    assert rcpt(f"x-{tag()}@example.org", me, source=ip).code == 450
    # delete it
    assert client.get(f"/queue/relay-rules/{rule.pk}/delete/").status_code == 200
    assert client.post(f"/queue/relay-rules/{rule.pk}/delete/").status_code == 302
    assert not RelayRule.objects.filter(pk=rule.pk).exists()
    assert rcpt(f"x-{tag()}@example.org", me, source=ip).code == 250


def test_move_up_and_down(personas: Personas, login: Login, cleanup: list[int]) -> None:
    client = login(personas.admin)
    ip, me = client_ip(), _me(personas)
    for action in ("Accept", "Reject"):
        client.post(
            "/queue/relay-rules/new/", {"event": "SUBMIT", "pattern": ip, "action": action, "save": "1"}
        )
        cleanup.append(_newest().pk)
    assert rcpt(f"m-{tag()}@example.org", me, source=ip).code == 250
    assert client.post(f"/queue/relay-rules/{cleanup[1]}/move/", {"direction": "up"}).status_code == 302
    assert rcpt(f"m-{tag()}@example.org", me, source=ip).code == 550
    assert client.post(f"/queue/relay-rules/{cleanup[1]}/move/", {"direction": "down"}).status_code == 302
    assert rcpt(f"m-{tag()}@example.org", me, source=ip).code == 250
    assert client.post(f"/queue/relay-rules/{cleanup[1]}/move/", {"direction": "sideways"}).status_code == 404


def _envelope(ip: str, sender: str, recipient: str, **extra: str) -> dict[str, str]:
    data = {"t-port": "smtp", "t-client_address": ip, "t-sender": sender, "t-recipient": recipient}
    data.update({f"t-{k}": v for k, v in extra.items()})
    return data


def test_tester_evaluates_an_unsaved_rule(personas: Personas, login: Login, cleanup: list[int]) -> None:
    client = login(personas.admin)
    ip, me = client_ip(), _me(personas)
    before = RelayRule.objects.count()
    version = store.published_version()
    rule = {"event": "ORIGINATOR", "pattern": f"*@*.{ip}.spam.test", "action": "Reject", "text": "Spam"}
    sender = f"iama.spammer@lotsof.{ip}.spam.test"
    response = client.post("/queue/relay-rules/new/", {**rule, "test": "1", **_envelope(ip, sender, me)})
    page = response.content.decode()
    assert response.status_code == 200
    assert f"550 5.7.1 &lt;{me}&gt;: Recipient address rejected: Spam" in page
    assert "ORIGINATOR" in page and rule["pattern"] in page
    # nothing saved, nothing published, Postfix unaffected
    assert RelayRule.objects.count() == before
    assert store.published_version() == version
    assert rcpt(sender, me).code == 250
    # a sender the pattern misses: no rule fires
    response = client.post(
        "/queue/relay-rules/new/", {**rule, "test": "1", **_envelope(ip, "a@example.org", me)}
    )
    assert "No rule matches." in response.content.decode()


def test_tester_on_saved_rules_and_htmx(personas: Personas, login: Login, cleanup: list[int]) -> None:
    client = login(personas.admin)
    ip, me = client_ip(), _me(personas)
    client.post("/queue/relay-rules/new/", {"event": "RELAY", "pattern": ip, "action": "Header", "save": "1"})
    cleanup.append(_newest().pk)
    envelope = _envelope(ip, "a@example.org", f"far-{tag()}@remote.example")
    page = client.post("/queue/relay-rules/", envelope).content.decode()
    assert "X-Relay-Attempt: unknown[" in page and "250 2.1.5 Ok" in page
    partial = client.post("/queue/relay-rules/", envelope, HTTP_HX_REQUEST="true").content.decode()
    assert partial.lstrip().startswith('<div id="tester-result"') and "<html" not in partial
    # a relay attempt from outside mynetworks with no rule is refused by Postfix itself
    outside = _envelope("192.0.2.7", "a@example.org", f"far-{tag()}@remote.example")
    assert "Relay access denied" in client.post("/queue/relay-rules/", outside).content.decode()
    # submission: a login that does not own the sender, no rule -> Postfix's 553
    sub = _envelope(ip, f"nobody-{tag()}@{personas.domain_a}", me, port="submission", sasl_username="ursula")
    assert "not owned by user ursula" in client.post("/queue/relay-rules/", sub).content.decode()


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_pattern_and_text_refused(
    value: str, personas: Personas, login: Login, cleanup: list[int]
) -> None:
    client = login(personas.admin)
    before, version = RelayRule.objects.count(), store.published_version()
    for event in ("SUBMIT", "ORIGINATOR"):
        response = client.post(
            "/queue/relay-rules/new/", {"event": event, "pattern": value, "action": "Reject", "save": "1"}
        )
        assert response.status_code == 200
        page = response.content.decode()
        assert 'class="error"' in page and "<img src=x" not in page
    response = client.post(
        "/queue/relay-rules/new/",
        {"event": "SUBMIT", "pattern": "*", "action": "Reject", "text": value + "\x01"},
    )
    assert response.status_code == 200 and 'class="error"' in response.content.decode()
    # the tester's envelope fields too
    response = client.post("/queue/relay-rules/", _envelope(value, value, value, client_name=value))
    assert response.status_code == 200 and "<img src=x" not in response.content.decode()
    assert RelayRule.objects.count() == before
    assert store.published_version() == version


def test_unknown_event_or_action_refused(personas: Personas, login: Login, cleanup: list[int]) -> None:
    client = login(personas.admin)
    before = RelayRule.objects.count()
    for data in (
        {"event": "HOLD", "pattern": "*", "action": "Reject"},
        {"event": "SUBMIT", "pattern": "*", "action": "OK"},
    ):
        assert client.post("/queue/relay-rules/new/", {**data, "save": "1"}).status_code == 200
    assert RelayRule.objects.count() == before


def test_refused_personas_get_404_and_change_nothing(
    personas: Personas, login: Login, cleanup: list[int]
) -> None:
    actor = Actor.system("tests")
    ip, me = client_ip(), _me(personas)
    rule = services.relayrule_create(actor=actor, event="SUBMIT", pattern=ip, action="Reject")
    cleanup.append(rule.pk)
    version = store.published_version()
    for persona in (personas.domain_admin_a, personas.domain_admin_b, personas.group_admin, personas.user):
        client = login(persona)
        assert client.get("/queue/relay-rules/").status_code == 404
        assert client.get("/queue/relay-rules/new/").status_code == 404
        data = {"event": "SUBMIT", "pattern": "*", "action": "Reject", "save": "1"}
        assert client.post("/queue/relay-rules/new/", data).status_code == 404
        assert client.post(f"/queue/relay-rules/{rule.pk}/", {**data, "action": "Accept"}).status_code == 404
        assert client.post(f"/queue/relay-rules/{rule.pk}/delete/").status_code == 404
        assert client.post(f"/queue/relay-rules/{rule.pk}/move/", {"direction": "up"}).status_code == 404
        assert client.post("/queue/relay-rules/", _envelope(ip, "a@example.org", me)).status_code == 404
    assert list(RelayRule.objects.filter(pk=rule.pk).values_list("action", flat=True)) == ["Reject"]
    assert store.published_version() == version
    assert rcpt(f"p-{tag()}@example.org", me, source=ip).code == 550
    anonymous = Client().get("/queue/relay-rules/")
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]


def test_missing_rule_is_404(personas: Personas, login: Login) -> None:
    client = login(personas.admin)
    assert client.get("/queue/relay-rules/999999999/").status_code == 404
    assert client.post("/queue/relay-rules/999999999/delete/").status_code == 404
