"""DLV-01: the queue page shows real deferred mail with the reason it waits; detail; filters; scope."""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator

import pytest
from django.test import Client

from mailadmin.actor import Actor
from mailqueue.selectors import QueueFilter, queue_page
from tests.conftest import Personas
from tests.mailqueue import queuetool as q

pytestmark = pytest.mark.django_db


@pytest.fixture
def sender(unique: Callable[[str], str], personas: Personas) -> Iterator[str]:
    """A unique sender in a.test (dana-a's domain); its messages are purged afterwards."""
    address = f"{unique('qs')}@{personas.domain_a}"
    yield address
    q.purge(address)


def test_deferred_message_shows_with_its_reason(
    login: Callable[..., Client], personas: Personas, sender: str
) -> None:
    [qid] = q.deferred(sender, ["someone@remote.example"])
    raw = q.by_id(qid)
    assert raw is not None
    reason = str(raw["recipients"][0]["delay_reason"])  # type: ignore[index]
    assert "refused" in reason.lower()

    page = login(personas.admin).get("/queue/", {"sender": sender})
    assert page.status_code == 200
    body = page.content.decode()
    assert qid in body
    assert f'title="{html.escape(reason, quote=True)}' in body.replace("&#x27;", "'")  # the hover text
    assert "someone@remote.example" in body and "deferred" in body


def test_detail_shows_envelope_headers_reason_and_escaped_preview(
    login: Callable[..., Client], personas: Personas, sender: str
) -> None:
    hostile = '"><img src=x onerror=alert(1)>'
    [qid] = q.deferred(sender, ["detail@remote.example"], subject=f"Hi {hostile}", body=f"Body {hostile}\n")
    page = login(personas.admin).get(f"/queue/message/{qid}/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "connection refused" in body.lower()
    assert "detail@remote.example" in body and sender in body
    assert "<img src=x" not in body
    assert "&lt;img src=x onerror=alert(1)&gt;" in body  # subject and preview, escaped


def test_filters_queue_recipient_domain_reason_age(
    login: Callable[..., Client], personas: Personas, sender: str, unique: Callable[[str], str]
) -> None:
    rcpt = f"{unique('r')}@remote.example"
    [qid] = q.deferred(sender, [rcpt])
    client = login(personas.admin)

    def shows(**params: str) -> bool:
        response = client.get("/queue/", {"sender": sender, **params})
        assert response.status_code == 200
        return qid in response.content.decode()

    assert shows(queue="deferred") and not shows(queue="hold")
    assert shows(recipient=rcpt.upper()) and not shows(recipient="nobody-else")
    assert (
        shows(domain="remote.example") and shows(domain=personas.domain_a) and not shows(domain="x.example")
    )
    assert shows(reason="refused") and not shows(reason="mailbox full")
    assert shows(older_than="0") and not shows(older_than="60")


def test_paging_and_htmx_partial(login: Callable[..., Client], personas: Personas, sender: str) -> None:
    ids = q.deferred(sender, ["pages@remote.example"], count=3)
    admin = Actor.system("tests")
    first = queue_page(admin, QueueFilter(sender=sender), 1, size=2)
    second = queue_page(admin, QueueFilter(sender=sender), 2, size=2)
    assert first.has_next and not second.has_next
    assert len(first.messages) == 2 and len(second.messages) == 1
    assert {m.queue_id for m in first.messages + second.messages} == set(ids)

    partial = login(personas.admin).get("/queue/", {"sender": sender}, HTTP_HX_REQUEST="true")
    assert partial.status_code == 200
    text = partial.content.decode()
    assert 'id="queue-results"' in text and "<html" not in text
    assert all(i in text for i in ids)


def test_domain_admins_see_only_their_domains(
    login: Callable[..., Client], personas: Personas, sender: str
) -> None:
    [qid] = q.deferred(sender, ["scope@remote.example"])
    mine = login(personas.domain_admin_a)
    assert qid in mine.get("/queue/", {"sender": sender}).content.decode()
    assert mine.get(f"/queue/message/{qid}/").status_code == 200

    other = login(personas.domain_admin_b)
    listing = other.get("/queue/", {"sender": sender})
    assert listing.status_code == 200 and qid not in listing.content.decode()
    assert qid not in other.get("/queue/").content.decode()
    assert other.get(f"/queue/message/{qid}/").status_code == 404


def test_group_admin_sees_nothing_and_user_no_page(
    login: Callable[..., Client], personas: Personas, sender: str
) -> None:
    [qid] = q.deferred(sender, ["gary@remote.example"])
    gary = login(personas.group_admin)
    page = gary.get("/queue/")
    assert page.status_code == 200 and qid not in page.content.decode()
    assert gary.get(f"/queue/message/{qid}/").status_code == 404
    assert login(personas.user).get("/queue/").status_code == 404


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("sender", "*)(uid=*"),
        ("sender", "x,ou=admins"),
        ("recipient", "a+uid=root\r\nRCPT TO:<x>"),
        ("domain", "#example.com"),
        ("domain", "example.com "),
        ("reason", "bad\x00byte"),
        ("reason", "x" * 300),
        ("sender", '"><img src=x onerror=alert(1)>'),
        ("older_than", "-5"),
        ("queue", "ALL"),
    ],
)
def test_hostile_filter_values_are_refused_with_a_message(
    login: Callable[..., Client], personas: Personas, field: str, value: str
) -> None:
    response = login(personas.admin).get("/queue/", {field: value})
    assert response.status_code == 200
    body = response.content.decode()
    assert 'class="error"' in body
    assert "<img src=x" not in body
    assert 'id="queue-results"' in body and "<table" not in body.split('id="queue-results"')[1]


@pytest.mark.parametrize("bad", ["ALL", "-", "-d", ";rm", "DEADBEEF", "4jXzrN1sSMzKZjB"])
def test_detail_of_malformed_or_unknown_id_is_404(
    login: Callable[..., Client], personas: Personas, bad: str
) -> None:
    assert login(personas.admin).get(f"/queue/message/{bad}/").status_code == 404


def test_gateway_refuses_bad_ids_before_running_postsuper(stack: object) -> None:
    """The allow-list in mailadmin.postfix itself: a bad id among good ones stops everything."""
    from django.conf import settings

    from mailadmin import postfix

    offset = q.maillog_size()
    for bad in ("ALL", "-", "-d", ";rm", "a b", "4jXzrN1sSMzKZjA", ""):
        with pytest.raises(postfix.PostfixError):
            postfix.postsuper(settings.POSTFIX_CONFIG_DIR, "hold", ["4jXzrN1sSMzKZjB", bad])
    with pytest.raises(postfix.PostfixError):
        postfix.postsuper(settings.POSTFIX_CONFIG_DIR, "-d ALL", ["4jXzrN1sSMzKZjB"])
    assert "postsuper" not in q.maillog_since(offset)
