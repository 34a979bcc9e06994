"""Every multi-step service writes a journal row with its planned steps (accounts/services/journal.py); a
failure undoes the done steps with the kind's own undo; audit rows carry `before` beside `after`.

The helpers here (a crash, finding a row) are shared by test_journals_fault.py and
test_journals_reconcile.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from accounts.models import Operation
from accounts.services import contacts, roles
from accounts.services.account_settings import user_enable, user_set_password, user_set_quota
from accounts.services.containers import (
    container_delete,
    container_rename,
    domain_update,
    entry_move,
    group_create,
)
from accounts.services.journal import KINDS
from accounts.services.privacy import container_set_private
from accounts.services.user_edit import user_update
from accounts.services.users import user_create, user_delete
from aliases.services import addresses, alias_create, alias_update
from aliases.services.system import system_aliases_save
from mailadmin import directory, imap
from mailadmin.actor import Actor
from mailadmin.audit.models import AuditEntry
from mailadmin.directory import DirectoryUnavailable, dit
from tests import ldaptool

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("tests")
PASSWORD = "Journal-pass-12"


class Crash(BaseException):
    """The process dies here: what a worker's time limit (SystemExit) or Ctrl-C (KeyboardInterrupt) does to a
    service in the middle of its steps. Not an Exception, so nothing catches it on the way out."""


def crash_after(real: Callable[..., Any], *, call: int = 1) -> Callable[..., Any]:
    """`real`, except that its `call`-th call dies right after the server did the work (the step happened,
    the journal never heard of it)."""
    calls = [0]

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        calls[0] += 1
        if calls[0] == call:
            raise Crash(f"died after {getattr(real, '__name__', real)}")
        return result

    return wrapper


def crash_before(_real: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*_args: Any, **_kwargs: Any) -> Any:
        raise Crash("died before the step")

    return wrapper


def row(kind: str, target: str) -> Operation:
    return Operation.objects.filter(kind=kind, target=dit.normalize_dn(target), parent=None).latest("started")


def make_user(domain: str, uid: str, **kw: Any) -> str:
    args: dict[str, Any] = {"last_name": "Journal", "password": PASSWORD, "create_mailbox": False}
    args.update(kw)
    return user_create(actor=ACTOR, container_dn=dit.organization_dn(domain, domain), uid=uid, **args)


def audit_row(action: str, target: str) -> AuditEntry:
    return AuditEntry.objects.filter(action=action, target=target).latest("when")


# --- every multi-step service journals its steps -----------------------------------------------------------


def test_each_kind_declares_redo_and_undo_for_every_step() -> None:
    expected = {
        "user_create",
        "user_delete",
        "user_set_password",
        "user_set_quota",
        "user_enable",
        "user_update",
        "user_set_addresses",
        "domain_create",
        "organization_create",
        "group_create",
        "domain_update",
        "organization_update",
        "group_update",
        "container_set_private",
        "container_rename",
        "container_delete",
        "entry_move",
        "contact_update",
        "contact_delete",
        "administrator_add",
        "administrator_remove",
        "administrator_create",
    }
    assert expected <= set(KINDS)


def test_container_services_journal_their_steps(domain: str, unique: Callable[[str], str]) -> None:
    org = dit.organization_dn(domain, domain)
    assert row("domain_create", dit.domain_dn(domain)).done == ["domain", "organization", "aliases"]
    group = group_create(actor=ACTOR, parent_dn=org, name=unique("g"), private=True)
    op = row("group_create", group)
    assert op.state == Operation.State.DONE and op.done == ["entry", "private"]
    (child,) = op.children.all()  # the privacy service ran inside the "private" step
    assert child.kind == "container_set_private" and child.done == ["rules", "flag", "sync"]
    renamed = container_rename(actor=ACTOR, dn=group, new_name=unique("r"))
    assert row("container_rename", group).done == ["prepare", "rename", "sync"]
    user = make_user(domain, unique("mv"))
    moved = entry_move(actor=ACTOR, dn=user, new_parent_dn=renamed)
    assert row("entry_move", user).done == ["rename"] and directory.exists(moved)
    user_delete(actor=ACTOR, dn=moved)
    container_delete(actor=ACTOR, dn=renamed)
    op = row("container_delete", renamed)
    assert op.done == ["entry", "rules"] and op.data["parts"]["entry"]["attrs"]["mailprivate"] == ["TRUE"]
    domain_update(actor=ACTOR, dn=dit.domain_dn(domain), description="Journaled", private=True)
    assert row("domain_update", dit.domain_dn(domain)).done == ["attributes", "private"]


def test_account_services_journal_their_steps(domain: str, unique: Callable[[str], str]) -> None:
    uid = unique("acc")
    dn = make_user(domain, uid, create_mailbox=True, quota_kib=1024)
    user_set_quota(actor=ACTOR, dn=dn, quota_kib=4096)
    op = row("user_set_quota", dn)
    assert op.done == ["directory", "mailbox"] and op.data["before"] == 1024
    assert imap.quota_get(uid).limit_kib == 4096  # type: ignore[union-attr]
    user_set_password(actor=ACTOR, dn=dn, password="Other-pass-123")
    op = row("user_set_password", dn)
    assert op.done == ["password", "must_change", "sessions"] and "Other-pass" not in str(op.data)
    directory.account_lock(dn)
    user_enable(actor=ACTOR, dn=dn)
    assert row("user_enable", dn).done == ["mail", "unlock"]
    assert ldaptool.attribute(dn, "pwdAccountLockedTime") == []
    imap.mailbox_delete(uid)


@pytest.mark.fault
def test_a_role_that_cannot_get_its_policy_is_taken_back_fault(
    domain: str, unique: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """slapd cannot be made to refuse one policy write on demand: a fake refuses it."""
    dn = make_user(domain, unique("pol"))
    before = ldaptool.attribute(dit.administrators_group_dn(), "member")

    def refuse(*_a: object, **_k: object) -> None:
        raise DirectoryUnavailable("injected: slapd went away")

    monkeypatch.setattr(directory, "policy_assign", refuse)
    with pytest.raises(DirectoryUnavailable):
        roles.administrator_add(actor=ACTOR, account_dn=dn)
    op = row("administrator_add", dn)
    assert (op.state, op.done, op.undone) == (Operation.State.UNDONE, ["role"], ["role"])
    assert ldaptool.attribute(dit.administrators_group_dn(), "member") == before
    assert ldaptool.attribute(dn, "pwdPolicySubentry") == []
    assert audit_row("administrator_add", dit.administrators_group_dn()).ok is False


@pytest.mark.fault
def test_a_contact_whose_alias_cannot_follow_is_put_back_fault(
    domain: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The aliases step is refused by a fake (slapd refuses no member change on demand)."""
    org = dit.organization_dn(domain, domain)
    dn = contacts.contact_create(actor=ACTOR, container_dn=org, last_name="Back", mail="back@remote.example")
    team = alias_create(actor=ACTOR, domain=domain, name="backteam", members=["back@remote.example"])

    def refuse(**_kw: object) -> None:
        raise DirectoryUnavailable("injected: slapd went away")

    monkeypatch.setattr(contacts.membership, "members_apply", refuse)
    with pytest.raises(DirectoryUnavailable):
        contacts.contact_update(actor=ACTOR, dn=dn, last_name="Moved", mail="moved@remote.example")
    op = row("contact_update", dn)
    assert (op.state, op.done, op.undone) == (Operation.State.UNDONE, ["attributes"], ["attributes"])
    assert ldaptool.attribute(dn, "mail") == ["back@remote.example"] and ldaptool.attribute(dn, "sn") == [
        "Back"
    ]
    assert ldaptool.attribute(team, "rfc822MailMember") == ["back@remote.example"]


# --- audit rows: the old value in `before`, never inside `after` -------------------------------------------


def test_audit_rows_carry_before_beside_after(domain: str, unique: Callable[[str], str]) -> None:
    uid = unique("aud")
    dn = make_user(domain, uid, create_mailbox=True, quota_kib=1024)
    user_set_quota(actor=ACTOR, dn=dn, quota_kib=2048)
    user_update(actor=ACTOR, dn=dn, last_name="Renamed")
    domain_dn = dit.domain_dn(domain)
    container_set_private(actor=ACTOR, dn=domain_dn, private=True)
    domain_update(actor=ACTOR, dn=domain_dn, description="New words")
    addresses.user_set_forwarding(actor=ACTOR, dn=dn, targets=["fwd@remote.example"], keep_copy=True)
    addresses.domain_set_catch_all(actor=ACTOR, domain=domain, target=f"{uid}@{domain}")
    addresses.user_set_addresses(actor=ACTOR, dn=dn, addresses=[f"extra-{uid}@{domain}"])
    alias = alias_create(actor=ACTOR, domain=domain, name=unique("al"), members=[f"{uid}@{domain}"])
    alias_update(actor=ACTOR, dn=alias, members=["x@remote.example"], open_membership=False, restricted=False)
    expected: dict[tuple[str, str], tuple[dict[str, Any], dict[str, Any]]] = {
        ("user_set_quota", dn): ({"mailQuota": 1024}, {"mailQuota": 2048}),
        ("user_update", dn): ({"sn": "Journal", "cn": "Journal"}, {"sn": "Renamed", "cn": "Renamed"}),
        ("container_set_private", domain_dn): ({"mailPrivate": None}, {"mailPrivate": True}),
        ("domain_update", domain_dn): ({"description": None}, {"description": "New words"}),
        ("user_set_forwarding", dn): ({"mailForward": []}, {"mailForward": ["fwd@remote.example"]}),
        ("domain_set_catch_all", domain_dn): ({"mailCatchAll": None}, {"mailCatchAll": f"{uid}@{domain}"}),
        ("user_set_addresses", dn): ({"mailAlias": []}, {"mailAlias": [f"extra-{uid}@{domain}"]}),
        ("alias_update", alias): ({"members": [f"{uid}@{domain}"]}, {"members": ["x@remote.example"]}),
    }
    for (action, target), (before, after) in expected.items():
        entry = audit_row(action, target)
        assert entry.before is not None and entry.after is not None, action
        assert before.items() <= entry.before.items(), (action, entry.before)
        assert after.items() <= entry.after.items(), (action, entry.after)
        assert "before" not in entry.after, action
    imap.mailbox_delete(uid)


def test_alias_rows_of_a_followed_address_carry_before(domain: str, unique: Callable[[str], str]) -> None:
    uid = unique("fol")
    dn = make_user(domain, uid)
    team = alias_create(actor=ACTOR, domain=domain, name=unique("team"), members=[f"{uid}@{domain}"])
    system_aliases_save(
        actor=ACTOR, new_name=unique("sys"), new_targets=[f"{uid}@{domain}", "a@remote.example"]
    )
    user_update(actor=ACTOR, dn=dn, last_name="Journal", mail=f"new-{uid}@{domain}")
    rename = audit_row("alias_member_rename", team)
    assert rename.before == {"member": [f"{uid}@{domain}"]} and rename.after is not None
    assert rename.after["member"] == f"new-{uid}@{domain}" and "before" not in rename.after
    system = AuditEntry.objects.filter(action="system_alias_update").latest("when")
    assert system.before is not None and f"{uid}@{domain}" in system.before["rfc822MailMember"]
    assert system.after is not None and "before" not in system.after
