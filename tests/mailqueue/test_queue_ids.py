"""DLV-02, "Act on queue IDs": ids pasted from a log or from mailq, checked against the queue as it is now
(the spool directories for administrators, showq's listing for domain administrators), proven by
`postqueue -j`; hostile, unknown and foreign ids refuse the whole list and run no postsuper."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from django.conf import settings
from django.test import Client

from mailadmin import spool
from mailadmin.jobs.models import Job
from mailqueue.views import queue_ids as view
from tests.conftest import Personas
from tests.jobtool import job_of
from tests.mailqueue import queuetool as q

pytestmark = pytest.mark.django_db


@pytest.fixture
def sender(unique: Callable[[str], str], personas: Personas) -> Iterator[str]:
    address = f"{unique('qi')}@{personas.domain_a}"
    yield address
    q.purge(address)


def _paste(client: Client, action: str, text: str, **extra: str) -> object:
    return client.post("/queue/ids/", {"action": action, "ids": text, **extra}, follow=True)


def _said(response: object) -> str:
    return response.content.decode()  # type: ignore[attr-defined]


def test_spool_finds_what_postqueue_lists(personas: Personas, sender: str) -> None:
    ids = q.deferred(sender, ["spool@remote.example"], count=2)
    listed = {str(m["queue_id"]): str(m["queue_name"]) for m in q.raw_queue()}
    found = spool.queued(settings.POSTFIX_CONFIG_DIR, [*listed, "DEADBEEF", "ALL", "../x"])
    assert found is not None
    assert {i: found[i] for i in ids} == dict.fromkeys(ids, "deferred")
    assert set(found) <= set(listed) | set(ids)  # nothing invented; the malformed ones never match
    assert "DEADBEEF" not in found and "ALL" not in found


def test_paste_from_mailq_holds_then_releases(
    login: Callable[..., Client], personas: Personas, sender: str
) -> None:
    first, second = q.deferred(sender, ["paste@remote.example"], count=2)
    admin = login(personas.admin)
    assert "Act on queue IDs" in admin.get("/queue/").content.decode()
    response = _paste(admin, "hold", f"{first}*\n {second}, {first}")  # mailq marks, a repeat, commas
    assert f"{first} placed on hold" in _said(response) and f"{second} placed on hold" in _said(response)
    assert {q.queue_of(first), q.queue_of(second)} == {"hold"}

    response = _paste(admin, "release", f"{first}!\n{second}!")
    assert f"{first} released from hold" in _said(response)
    assert {q.queue_of(first), q.queue_of(second)} == {"deferred"}


@pytest.mark.parametrize(
    "bad",
    [
        "ALL",
        "-",
        "-d",
        "$(touch /tmp/pwned)",
        ";rm",
        "../../etc/passwd",
        "a\x00b",
        '"><img src=x onerror=alert(1)>',
    ],
)
def test_hostile_tokens_refuse_the_whole_list(
    login: Callable[..., Client], personas: Personas, sender: str, bad: str
) -> None:
    [qid] = q.deferred(sender, ["hostile@remote.example"])
    offset = q.maillog_size()
    jobs = Job.objects.count()
    response = login(personas.admin).post(
        "/queue/ids/", {"action": "delete", "ids": f"{qid}\n{bad}", "confirm": "yes"}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Not a queue ID" in page or "Null characters are not allowed" in page
    assert "<img src=x" not in page  # escaped
    assert q.queue_of(qid) == "deferred"
    assert "postsuper" not in q.maillog_since(offset)
    assert Job.objects.count() == jobs


def test_unknown_id_refuses_unless_asked_to_leave_it_out(
    login: Callable[..., Client], personas: Personas, sender: str
) -> None:
    [qid] = q.deferred(sender, ["unknown@remote.example"])
    gone = "4jXzrN1sSMzKZjB"  # well-formed, not queued
    admin = login(personas.admin)
    offset = q.maillog_size()
    response = _paste(admin, "hold", f"{qid} {gone}")
    assert "Not in the queue" in _said(response) and gone in _said(response)
    assert q.queue_of(qid) == "deferred"
    assert "postsuper" not in q.maillog_since(offset)

    response = _paste(admin, "hold", f"{qid} {gone}", skip_missing="on")
    assert f"{qid} placed on hold" in _said(response)
    assert f"Left out, not in the queue: {gone}" in _said(response)
    assert q.queue_of(qid) == "hold"


def test_delete_asks_first(login: Callable[..., Client], personas: Personas, sender: str) -> None:
    [qid] = q.deferred(sender, ["delete@remote.example"])
    admin = login(personas.admin)
    first = admin.post("/queue/ids/", {"action": "delete", "ids": qid})
    assert first.status_code == 200 and "Confirm deletion" in first.content.decode()
    assert 'action="/queue/ids/"' in first.content.decode()
    assert q.queue_of(qid) == "deferred"
    response = _paste(admin, "delete", qid, confirm="yes")
    assert f"{qid} deleted" in _said(response)
    assert q.queue_of(qid) is None


def test_domain_admin_own_ids_through_the_listing(
    login: Callable[..., Client], personas: Personas, sender: str
) -> None:
    [qid] = q.deferred(sender, ["own@remote.example"])
    response = _paste(login(personas.domain_admin_a), "hold", qid)
    assert f"{qid} placed on hold" in _said(response)
    assert q.queue_of(qid) == "hold"


def test_foreign_ids_look_unknown_and_nothing_runs(
    login: Callable[..., Client], personas: Personas, sender: str
) -> None:
    [qid] = q.deferred(sender, ["foreign@remote.example"])
    before = q.by_id(qid)
    offset = q.maillog_size()
    for action in ("hold", "delete", "requeue"):
        response = _paste(login(personas.domain_admin_b), action, qid, confirm="yes", skip_missing="on")
        assert "Not in the queue" in _said(response)
    for persona in (personas.group_admin, personas.user):
        client = login(persona)
        assert client.get("/queue/ids/").status_code == 404
        assert client.post("/queue/ids/", {"action": "hold", "ids": qid}).status_code == 404
    assert q.by_id(qid) == before
    assert "postsuper" not in q.maillog_since(offset)


def test_fault_spool_unreadable_falls_back_to_the_listing(
    login: Callable[..., Client], personas: Personas, sender: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fault injected: a console not running as root cannot read the spool (spool.queued answers None)."""
    [qid] = q.deferred(sender, ["fallback@remote.example"])
    monkeypatch.setattr(spool, "queued", lambda *_a, **_k: None)
    response = _paste(login(personas.admin), "hold", f"{qid} DEADBEEF", skip_missing="on")
    assert f"{qid} placed on hold" in _said(response) and "DEADBEEF" in _said(response)
    assert q.queue_of(qid) == "hold"


@pytest.mark.django_db(transaction=True)  # the job is queued on commit, for the real worker
def test_many_ids_run_as_a_job(
    login: Callable[..., Client],
    personas: Personas,
    sender: str,
    worker: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids = q.deferred(sender, ["job@remote.example"], count=3)
    monkeypatch.setattr(view, "RUN_NOW", 2)  # three ids are "many" here: 51 real messages would cost seconds
    response = login(personas.admin).post("/queue/ids/", {"action": "hold", "ids": " ".join(ids)})
    job = job_of(response)
    assert job.state == Job.State.SUCCEEDED, job.error
    assert job.done == job.total == 3
    assert {q.queue_of(i) for i in ids} == {"hold"}
    assert any(f"{ids[0]} placed on hold" in line.text for line in job.lines.all())
