"""The journal pass of the drift check: which rows it lists (not the live ones, not the superseded ones),
the page's Finish / Undo for administrators only, and `manage.py reconcile --journal`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import Operation
from accounts.reconcile import journal_scan
from accounts.services.journal import STALE_AFTER
from accounts.services.users import user_delete
from mailadmin import directory, imap
from mailadmin.directory import InvalidName, dit
from tests import ldaptool
from tests.accounts.test_journals import ACTOR, PASSWORD, Crash, crash_after, make_user, row
from tests.accounts.test_journals_fault import repair
from tests.accounts.test_reconcile import manage
from tests.conftest import Persona, Personas

Login = Callable[[Persona], Client]
PAGE = "/accounts/reconcile/"
ACTION = "/accounts/reconcile/journal/"


def _died_after_the_entry(dn: str, *, minutes_ago: int = 0) -> Operation:
    """A row as a worker leaves it when it is killed outright (no chance to record the interruption)."""
    return Operation.objects.create(
        kind="user_create",
        target=dit.normalize_dn(dn),
        planned=["entry", "password"],
        done=["entry", "password"],
        data={"dn": dn, "uid": dit.rdn_value(dn), "quota": None, "folder_language": None},
        touched=timezone.now() - timedelta(minutes=minutes_ago),
    )


@pytest.mark.django_db
def test_a_row_touched_recently_may_still_be_running_and_is_left_alone(
    domain: str, unique: Callable[[str], str]
) -> None:
    dn = make_user(domain, unique("live"))
    op = _died_after_the_entry(dn)
    (item,) = [h for h in journal_scan(domain=domain) if h.id == str(op.pk)]
    assert item.busy and not item.can_finish and not item.can_undo
    with pytest.raises(InvalidName, match="may still be running"):
        repair(op, "finish")
    Operation.objects.filter(pk=op.pk).update(touched=timezone.now() - STALE_AFTER - timedelta(seconds=1))
    assert repair(op, "finish").steps == []  # every step was done: finishing only closes the row
    op.refresh_from_db()
    assert op.state == Operation.State.DONE and op.resolution == Operation.Resolution.FINISHED


@pytest.mark.django_db
def test_a_later_delete_supersedes_a_half_made_user(domain: str, unique: Callable[[str], str]) -> None:
    dn = make_user(domain, unique("sup"))
    op = _died_after_the_entry(dn, minutes_ago=60)
    assert str(op.pk) in [h.id for h in journal_scan(domain=domain)]
    assert str(op.pk) not in [h.id for h in journal_scan(domain=f"other-{domain}")]
    user_delete(actor=ACTOR, dn=dn)
    assert str(op.pk) not in [h.id for h in journal_scan()]
    with pytest.raises(InvalidName, match="no longer"):
        repair(op, "undo")


@pytest.mark.django_db
@pytest.mark.fault
def test_fault_the_page_lists_half_done_operations_and_finishes_one(
    personas: Personas,
    login: Login,
    domain: str,
    unique: Callable[[str], str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    uid = unique("page")
    with monkeypatch.context() as m:  # Cyrus granted the rights, the process died (see test_journals_fault)
        m.setattr(imap.CyrusAdmin, "grant_admin", crash_after(imap.CyrusAdmin.grant_admin))
        with pytest.raises(Crash):
            make_user(domain, uid, create_mailbox=True, quota_kib=4096)
    dn = dit.account_dn(dit.organization_dn(domain, domain), uid)
    op = row("user_create", dn)
    client = login(personas.admin)
    page = client.get(PAGE).content.decode()
    assert "Half-done operations" in page and op.target in page and str(op.pk) in page
    assert 'value="finish"' in page and 'value="undo"' in page
    detail = client.get(f"/accounts/users/?dn={dn}").content.decode()
    assert "Incomplete" in detail

    response = client.post(ACTION, {"operation": str(op.pk), "action": "finish"}, follow=True)
    assert "Finished: user_create" in response.content.decode()
    assert imap.quota_get(uid).limit_kib == 4096 and imap.login_check(uid, PASSWORD)  # type: ignore[union-attr]
    assert str(op.pk) not in client.get(PAGE).content.decode()
    assert "Incomplete" not in client.get(f"/accounts/users/?dn={dn}").content.decode()
    response = client.post(ACTION, {"operation": str(op.pk), "action": "undo"}, follow=True)
    assert "no longer" in response.content.decode() and imap.mailbox_exists(uid)
    for bad in ({"operation": "*)(uid=*", "action": "undo"}, {"operation": str(op.pk), "action": "drop"}):
        assert 'class="msg error"' in client.post(ACTION, bad, follow=True).content.decode()
    user_delete(actor=ACTOR, dn=dn, delete_mailbox=True)


@pytest.mark.django_db
def test_only_administrators_finish_or_undo(
    personas: Personas, login: Login, domain: str, unique: Callable[[str], str]
) -> None:
    dn = make_user(domain, unique("ref"))
    op = _died_after_the_entry(dn, minutes_ago=60)
    before = ldaptool.dump(dit.domain_dn(domain))
    for persona in (personas.domain_admin_a, personas.group_admin, personas.user):
        client = login(persona)
        for action in ("finish", "undo"):
            assert client.post(ACTION, {"operation": str(op.pk), "action": action}).status_code == 404
        assert client.get(ACTION).status_code == 404
    assert ldaptool.dump(dit.domain_dn(domain)) == before
    op.refresh_from_db()
    assert op.state == Operation.State.RUNNING and op.resolution == ""
    assert login(personas.admin).get(ACTION).status_code == 405  # a page of buttons, never a GET action


@pytest.mark.django_db(transaction=True)
def test_the_command_lists_and_undoes_a_half_done_operation(
    domain: str, unique: Callable[[str], str]
) -> None:
    uid = unique("cmd")
    dn = make_user(domain, uid)
    op = _died_after_the_entry(dn, minutes_ago=60)
    found = manage("--domain", domain)
    assert found.returncode == 1, found.stdout + found.stderr
    assert f"half-done user_create {op.target}: running" in found.stdout
    assert "done: entry, password; not done: -" in found.stdout and f"operation {op.pk}" in found.stdout
    assert "half_done_operations: 1" in found.stdout
    refused = manage("--operation", str(op.pk))
    assert refused.returncode != 0 and "--operation needs --journal" in refused.stderr
    undone = manage("--domain", domain, "--journal", "undo", "--operation", str(op.pk))
    assert f"undone user_create {op.target}: password, entry" in undone.stdout, undone.stdout + undone.stderr
    # The exit status also counts orphan mailboxes, which are server-wide (other tests leave some).
    assert "half_done_operations: 0" in undone.stdout.split("after:")[1]
    assert ldaptool.dump(dn, scope="base") == "\n" and not directory.exists(dn)
    op.refresh_from_db()
    assert (op.state, op.resolution) == (Operation.State.UNDONE, Operation.Resolution.UNDONE)
