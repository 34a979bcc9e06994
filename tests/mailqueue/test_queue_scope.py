"""Queue scope of domain administrators (DLV-01/02): they act only on messages that are theirs — the sender is
in their domains, or every recipient is — and see anyone else's read-only, without foreign recipients.

Mail for a local mailbox waits in the queue when the mailbox is over quota (Cyrus answers 452 at LMTP), so
these tests send from outside to users with a 1 KiB quota: real deferred mail for hosted recipients.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator

import pytest
from django.test import Client

from accounts import services
from mailadmin.actor import Actor
from mailadmin.directory import dit
from tests.accounts import usertool
from tests.conftest import Personas
from tests.mailqueue import queuetool as q

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("tests")
BIG = "x" * 4000 + "\n"


def _full_user(domain: str, uid: str) -> str:
    """A user whose mailbox is over its 1 KiB quota: Cyrus (lmtp_strict_quota off) takes one message past
    the limit, then defers every further one with 452."""
    services.user_create(
        actor=ACTOR,
        container_dn=dit.organization_dn(domain, domain),
        uid=uid,
        password="Queue-scope-1",
        last_name="Full",
        quota_kib=1,
    )
    address = f"{uid}@{domain}"
    q.send("filler@remote.example", [address], body=BIG)
    deadline = time.monotonic() + 30
    while usertool.quota_root(uid, "Queue-scope-1") in (None, (0, 1)):
        assert time.monotonic() < deadline, "the filler message was not delivered"
        time.sleep(0.1)
    return address


@pytest.fixture
def outsider() -> Iterator[str]:
    address = f"q{uuid.uuid4().hex[:10]}@remote.example"
    yield address
    q.purge(address)


def test_someone_elses_message_is_read_only_and_shows_only_own_recipients(
    login: Callable[..., Client], personas: Personas, unique: Callable[[str], str], outsider: str
) -> None:
    mine, theirs = _full_user("a.test", unique("fa")), _full_user("b.test", unique("fb"))
    [qid] = q.deferred(outsider, [mine, theirs], body=BIG)
    before = q.by_id(qid)
    their_uid = theirs.partition("@")[0]

    dana = login(personas.domain_admin_a)
    listing = dana.get("/queue/", {"sender": outsider}).content.decode()
    assert qid in listing and "read-only" in listing
    assert their_uid not in listing and "(+1)" in listing
    assert f'value="{qid}"' not in listing  # no checkbox
    detail = dana.get(f"/queue/message/{qid}/").content.decode()
    assert their_uid not in detail and "not shown" in detail and "Read-only" in detail
    # A filter never matches what is not shown.
    assert qid not in dana.get("/queue/", {"recipient": their_uid}).content.decode()
    # Every action refuses it as unknown, and nothing runs.
    for action in ("hold", "delete", "requeue", "release", "flush"):
        response = dana.post("/queue/action/", {"action": action, "id": qid, "confirm": "yes"})
        assert response.status_code == 404
    assert q.by_id(qid) == before

    # The administrator sees it whole and may act on it.
    admin = login(personas.admin)
    assert their_uid in admin.get(f"/queue/message/{qid}/").content.decode()
    response = admin.post("/queue/action/", {"action": "hold", "id": qid}, follow=True)
    assert f"{qid} placed on hold" in response.content.decode()


def test_a_message_for_their_domain_only_is_theirs(
    login: Callable[..., Client], personas: Personas, unique: Callable[[str], str], outsider: str
) -> None:
    mine = _full_user("a.test", unique("fa"))
    [qid] = q.deferred(outsider, [mine], body=BIG)
    dana = login(personas.domain_admin_a)
    listing = dana.get("/queue/", {"sender": outsider}).content.decode()
    assert f'value="{qid}"' in listing and "read-only" not in listing
    response = dana.post("/queue/action/", {"action": "hold", "id": qid}, follow=True)
    assert f"{qid} placed on hold" in response.content.decode()
    assert q.queue_of(qid) == "hold"
    # The other domain's administrator does not see it at all.
    assert login(personas.domain_admin_b).get(f"/queue/message/{qid}/").status_code == 404


def test_their_users_outgoing_mail_is_theirs_with_every_recipient(
    login: Callable[..., Client], personas: Personas, unique: Callable[[str], str]
) -> None:
    sender = f"{unique('out')}@a.test"
    theirs = _full_user("b.test", unique("fb"))
    try:
        [qid] = q.deferred(sender, ["far@remote.example", theirs], body=BIG)
        dana = login(personas.domain_admin_a)
        detail = dana.get(f"/queue/message/{qid}/").content.decode()
        assert "far@remote.example" in detail and theirs.partition("@")[0] in detail
        assert "Read-only" not in detail
        # For b.test's administrator it is someone else's, shown without the remote recipient.
        other = login(personas.domain_admin_b).get(f"/queue/message/{qid}/").content.decode()
        assert "Read-only" in other and "far@remote.example" not in other
    finally:
        q.purge(sender)
