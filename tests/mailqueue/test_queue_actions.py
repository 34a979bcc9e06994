"""DLV-02: Hold, Release, Requeue, Delete (confirmed), Flush on real deferred mail, proven by `postqueue -j`;
refusals (foreign, malformed and unknown ids) leave the queue as it was and run no postsuper at all."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from django.test import Client

from mailadmin.jobs.models import Job
from tests.conftest import Personas
from tests.jobtool import job_of
from tests.mailqueue import queuetool as q

pytestmark = pytest.mark.django_db


@pytest.fixture
def sender(unique: Callable[[str], str], personas: Personas) -> Iterator[str]:
    address = f"{unique('qa')}@{personas.domain_a}"
    yield address
    q.purge(address)


def _act(client: Client, action: str, *ids: str, **extra: str) -> object:
    return client.post("/queue/action/", {"action": action, "id": list(ids), **extra}, follow=True)


def _said(response: object) -> str:
    return response.content.decode()  # type: ignore[attr-defined]


def test_hold_then_release(login: Callable[..., Client], personas: Personas, sender: str) -> None:
    [qid] = q.deferred(sender, ["hold@remote.example"])
    admin = login(personas.admin)
    response = _act(admin, "hold", qid)
    assert f"{qid} placed on hold" in _said(response)
    assert q.queue_of(qid) == "hold"

    response = _act(admin, "release", qid)
    assert f"{qid} released from hold" in _said(response)
    assert q.queue_of(qid) == "deferred"


def test_hold_twice_says_not_changed(login: Callable[..., Client], personas: Personas, sender: str) -> None:
    [qid] = q.deferred(sender, ["twice@remote.example"])
    admin = login(personas.admin)
    _act(admin, "hold", qid)
    response = _act(admin, "hold", qid)
    assert "placed on hold" not in _said(response) and "was not changed" in _said(response)
    assert q.queue_of(qid) == "hold"


def test_requeue(login: Callable[..., Client], personas: Personas, sender: str) -> None:
    [qid] = q.deferred(sender, ["requeue@remote.example"])
    offset = q.maillog_size()
    response = _act(login(personas.admin), "requeue", qid)
    assert f"{qid} requeued" in _said(response)
    # postsuper -r moves it to maildrop; pickup then hands it to cleanup again (under a new id), and the
    # new copy is tried and deferred once more. Either way it has left the deferred queue under its old id.
    assert q.queue_of(qid) in ("maildrop", "incoming", "active", None)
    assert f"{qid}: requeued" in q.maillog_since(offset)
    assert q.by_sender(sender), "requeued mail is still in the queue, not lost"


def test_delete_asks_first_then_deletes(
    login: Callable[..., Client], personas: Personas, sender: str
) -> None:
    [qid] = q.deferred(sender, ["delete@remote.example"])
    admin = login(personas.admin)
    first = admin.post("/queue/action/", {"action": "delete", "id": qid, "sender": sender})
    assert first.status_code == 200 and "Confirm deletion" in first.content.decode()
    assert q.queue_of(qid) == "deferred"

    response = _act(admin, "delete", qid, sender=sender, confirm="yes")
    assert f"{qid} deleted" in _said(response)
    assert q.queue_of(qid) is None


def test_flush_one_message(login: Callable[..., Client], personas: Personas, sender: str) -> None:
    [qid] = q.deferred(sender, ["flush@remote.example"])
    offset = q.maillog_size()
    response = _act(login(personas.admin), "flush", qid)
    assert f"{qid} scheduled for immediate delivery" in _said(response)
    # the queue manager tries it again at once (and the dead relay defers it again)
    for _n in range(100):
        if f"{qid}: to=<flush@remote.example>" in q.maillog_since(offset):
            break
        time.sleep(0.1)
    assert f"{qid}: to=<flush@remote.example>" in q.maillog_since(offset)


def test_domain_admin_acts_on_own_domain(
    login: Callable[..., Client], personas: Personas, sender: str
) -> None:
    [qid] = q.deferred(sender, ["own@remote.example"])
    response = _act(login(personas.domain_admin_a), "hold", qid)
    assert f"{qid} placed on hold" in _said(response)
    assert q.queue_of(qid) == "hold"


@pytest.mark.django_db(transaction=True)  # the job is queued on commit, for the real worker
@pytest.mark.parametrize("action", ["hold", "release", "requeue", "delete", "flush"])
def test_other_domain_admin_gets_404_and_nothing_runs(
    login: Callable[..., Client], personas: Personas, sender: str, action: str, worker: None
) -> None:
    [qid] = q.deferred(sender, ["foreign@remote.example"])
    before = q.by_id(qid)
    offset = q.maillog_size()
    for persona in (personas.domain_admin_b, personas.group_admin):
        client = login(persona)
        response = client.post("/queue/action/", {"action": action, "id": qid, "confirm": "yes"})
        assert response.status_code == 404
        bulk = client.post(
            "/queue/action/", {"action": action, "apply_to": "all", "sender": sender, "confirm": "yes"}
        )
        if persona is personas.domain_admin_b:
            job = job_of(bulk)  # "everything matching" runs in dana-b's scope: it finds nothing
            assert job.state == Job.State.SUCCEEDED and job.total == 0, job.error
        else:
            assert bulk.status_code == 404
    assert login(personas.user).post("/queue/action/", {"action": action, "id": qid}).status_code == 404
    assert q.by_id(qid) == before
    assert "postsuper" not in q.maillog_since(offset)


@pytest.mark.parametrize(
    "bad", ["ALL", "-", "-d", ";rm -rf /", "../../etc/passwd", "4jXzrN1sSMzKZjB", "DEADBEEF"]
)
def test_hostile_and_unknown_ids_refused_before_anything_runs(
    login: Callable[..., Client], personas: Personas, sender: str, bad: str
) -> None:
    [qid] = q.deferred(sender, ["hostile@remote.example"])
    offset = q.maillog_size()
    jobs = Job.objects.count()
    admin = login(personas.admin)
    for action in ("hold", "delete"):
        response = admin.post("/queue/action/", {"action": action, "id": [qid, bad], "confirm": "yes"})
        assert response.status_code == 404
    assert q.queue_of(qid) == "deferred"
    assert "postsuper" not in q.maillog_since(offset)
    assert Job.objects.count() == jobs


def test_bad_action_is_refused(login: Callable[..., Client], personas: Personas, sender: str) -> None:
    [qid] = q.deferred(sender, ["badaction@remote.example"])
    response = _act(login(personas.admin), "ALL", qid)
    assert "Choose an action" in _said(response)
    assert q.queue_of(qid) == "deferred"


@pytest.mark.django_db(transaction=True)
def test_everything_matching_runs_as_a_job(
    login: Callable[..., Client], personas: Personas, sender: str, worker: None
) -> None:
    ids = q.deferred(sender, ["bulk@remote.example"], count=3)
    admin = login(personas.admin)
    response = admin.post("/queue/action/", {"action": "hold", "apply_to": "all", "sender": sender})
    job = job_of(response)
    assert job.state == Job.State.SUCCEEDED, job.error
    assert job.done == job.total == 3
    assert {q.queue_of(i) for i in ids} == {"hold"}
    assert any(f"{ids[0]} placed on hold" in line.text for line in job.lines.all())

    # Delete everything matching: confirmed first, then a job
    confirm = admin.post("/queue/action/", {"action": "delete", "apply_to": "all", "sender": sender})
    assert confirm.status_code == 200 and "3 messages will be deleted" in confirm.content.decode()
    response = admin.post(
        "/queue/action/", {"action": "delete", "apply_to": "all", "sender": sender, "confirm": "yes"}
    )
    assert job_of(response).state == Job.State.SUCCEEDED
    assert q.by_sender(sender) == []


@pytest.mark.django_db(transaction=True)
def test_domain_admin_job_stays_in_their_domains(
    login: Callable[..., Client], personas: Personas, unique: Callable[[str], str], worker: None
) -> None:
    mine = f"{unique('qm')}@{personas.domain_a}"
    theirs = f"{unique('qt')}@{personas.domain_b}"
    try:
        [my_id] = q.deferred(mine, ["mix@remote.example"])
        [their_id] = q.deferred(theirs, ["mix@remote.example"])
        response = login(personas.domain_admin_a).post(
            "/queue/action/", {"action": "hold", "apply_to": "all", "recipient": "mix@remote.example"}
        )
        assert job_of(response).state == Job.State.SUCCEEDED
        assert q.queue_of(my_id) == "hold"
        assert q.queue_of(their_id) == "deferred"
    finally:
        q.purge(mine)
        q.purge(theirs)


@pytest.mark.django_db(transaction=True)
def test_flush_everything_is_one_postqueue_f(
    login: Callable[..., Client], personas: Personas, sender: str, worker: None
) -> None:
    [qid] = q.deferred(sender, ["flushall@remote.example"])
    offset = q.maillog_size()
    response = login(personas.admin).post("/queue/action/", {"action": "flush", "apply_to": "all"})
    job = job_of(response)
    assert job.state == Job.State.SUCCEEDED, job.error
    assert any("whole queue" in line.text for line in job.lines.all())
    deadline = time.monotonic() + 15
    while f"{qid}: to=<flushall@remote.example>" not in q.maillog_since(offset):
        assert time.monotonic() < deadline, "the queue manager did not retry the message"
        time.sleep(0.1)
