"""Multi-step safety of user_create: the journal row, the fixed order, undo in reverse on a real failure,
and a page that never shows a half-made user as done."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

import pytest
from django.test import Client

from accounts.models import Operation
from accounts.services import folders
from accounts.services.users import user_create, user_delete
from mailadmin import directory, imap
from mailadmin.actor import Actor
from mailadmin.audit.models import AuditEntry
from mailadmin.directory import DirectoryUnavailable, dit
from tests import ldaptool
from tests.conftest import Persona, Personas

pytestmark = pytest.mark.django_db
Login = Callable[[Persona], Client]
ACTOR = Actor.system("tests")
PASSWORD = "Journal-pass-1"


def _op(dn: str, kind: str = "user_create") -> Operation:
    return Operation.objects.filter(kind=kind, target=dit.normalize_dn(dn)).latest("started")


def _with_refused_folder(monkeypatch: pytest.MonkeyPatch, language: str = "en") -> None:
    # Not a fake: Cyrus itself refuses '!' in a mailbox name ("Invalid mailbox name"), after eight good
    # folders were made, so every earlier step has happened when the failure comes.
    names = dict(folders.NAMES[language], junk="Bad!Name")
    monkeypatch.setitem(folders.NAMES, language, names)


def test_steps_run_in_the_fixed_order_and_are_journaled(domain: str, unique: Callable[[str], str]) -> None:
    org = dit.organization_dn(domain, domain)
    uid = unique("order")
    dn = user_create(
        actor=ACTOR,
        container_dn=org,
        uid=uid,
        password=PASSWORD,
        last_name="Order",
        quota_kib=1024,
        groupware_folders=True,
    )
    op = _op(dn)
    assert op.state == Operation.State.DONE and op.finished is not None and op.actor == "<tests>"
    assert op.planned == op.done == ["entry", "password", "mailbox", "acl", "quota", "folders"]
    user_delete(actor=ACTOR, dn=dn, delete_mailbox=True)
    deleted = _op(dn, "user_delete")
    assert deleted.state == Operation.State.DONE and deleted.done == ["entry", "mailbox"]


def test_a_folder_cyrus_refuses_undoes_every_done_step_in_reverse(
    domain: str, unique: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _with_refused_folder(monkeypatch)
    org = dit.organization_dn(domain, domain)
    uid = unique("undo")
    dn = dit.account_dn(org, uid)
    before = ldaptool.dump(dit.base_dn())
    with pytest.raises(imap.ImapError, match="Invalid mailbox name"):
        user_create(
            actor=ACTOR,
            container_dn=org,
            uid=uid,
            password=PASSWORD,
            last_name="Undo",
            quota_kib=2048,
            groupware_folders=True,
        )
    assert ldaptool.dump(dit.base_dn()) == before
    assert not imap.mailbox_exists(uid) and not imap.login_check(uid, PASSWORD)
    op = _op(dn)
    assert op.state == Operation.State.UNDONE and "Invalid mailbox name" in op.error
    assert op.done == ["entry", "password", "mailbox", "acl", "quota"]
    assert op.undone == ["quota", "acl", "mailbox", "password", "entry"]
    assert op.remaining == ["folders"] and op.left_behind == []
    assert AuditEntry.objects.get(action="user_create", target=dn).ok is False


def test_the_page_reports_the_failure_and_creates_nothing(
    personas: Personas,
    login: Login,
    domain: str,
    unique: Callable[[str], str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _with_refused_folder(monkeypatch)
    org = dit.organization_dn(domain, domain)
    uid = unique("page")
    data = {
        "uid": uid,
        "password": PASSWORD,
        "password2": PASSWORD,
        "last_name": "Page",
        "create_mailbox": "on",
        "groupware_folders": "on",
        "folder_language": "en",
    }
    before = ldaptool.dump(dit.base_dn())
    response = login(personas.admin).post("/accounts/users/create/?" + urlencode({"parent": org}), data)
    page = response.content.decode()
    assert response.status_code == 200 and "Nothing was created" in page and "Invalid mailbox name" in page
    assert ldaptool.dump(dit.base_dn()) == before and not imap.mailbox_exists(uid)


@pytest.mark.fault
def test_fault_an_undo_that_fails_leaves_the_row_failed_and_the_page_says_incomplete(
    personas: Personas,
    login: Login,
    domain: str,
    unique: Callable[[str], str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """slapd cannot be made to refuse one delete on demand, so a fake stands in for the entry's undo."""
    _with_refused_folder(monkeypatch)
    org = dit.organization_dn(domain, domain)
    uid = unique("half")
    dn = dit.account_dn(org, uid)
    real_delete = directory.delete

    def refuse(target: str) -> None:
        raise DirectoryUnavailable("injected: slapd went away during the undo")

    monkeypatch.setattr(directory, "delete", refuse)
    data = {
        "uid": uid,
        "password": PASSWORD,
        "password2": PASSWORD,
        "last_name": "Half",
        "create_mailbox": "on",
        "groupware_folders": "on",
        "folder_language": "en",
    }
    client = login(personas.admin)
    page = client.post("/accounts/users/create/?" + urlencode({"parent": org}), data).content.decode()
    monkeypatch.setattr(directory, "delete", real_delete)
    try:
        assert "could not be undone: entry" in page
        op = _op(dn)
        assert op.state == Operation.State.FAILED and op.left_behind == ["entry"]
        assert not imap.mailbox_exists(uid)  # the mailbox undo did run
        detail = client.get("/accounts/users/?" + urlencode({"dn": dn})).content.decode()
        assert "Incomplete" in detail and "must not be taken as done" in detail
    finally:
        real_delete(dn)


def test_a_row_left_running_marks_the_user_incomplete(
    personas: Personas, login: Login, domain: str, unique: Callable[[str], str]
) -> None:
    """A worker that died mid-way leaves its row `running`: the page must not show the user as done."""
    org = dit.organization_dn(domain, domain)
    dn = user_create(
        actor=ACTOR,
        container_dn=org,
        uid=unique("run"),
        password=PASSWORD,
        last_name="Run",
        create_mailbox=False,
    )
    client = login(personas.admin)
    assert "Incomplete" not in client.get("/accounts/users/?" + urlencode({"dn": dn})).content.decode()
    Operation.objects.create(
        kind="user_create",
        target=dit.normalize_dn(dn),
        planned=["entry", "password", "mailbox"],
        done=["entry"],
    )
    page = client.get("/accounts/users/?" + urlencode({"dn": dn.upper()})).content.decode()
    assert "Incomplete" in page and "Not done: password, mailbox" in page
