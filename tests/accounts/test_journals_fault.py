"""A process dies in the middle of a multi-step change; the drift check finishes or undoes it.

No real server can be made to kill the console between two of its writes on demand, so each test wraps one
gateway call so that it dies (`Crash`, a BaseException like SystemExit) right after or before the server
did the work: the journal row stays `running`, marked as interrupted. Then the reconcile pass runs, and
ldapsearch and IMAP show the object complete (finish) or gone (undo)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from accounts.models import Operation
from accounts.reconcile import HalfDone, JournalReport, journal_repair, journal_scan
from accounts.services import roles
from accounts.services.account_settings import user_set_password, user_set_quota
from accounts.services.contacts import contact_create, contact_update
from accounts.services.containers import container_delete, container_rename, domain_create, group_create
from accounts.services.folders import NAMES, standard_folders
from accounts.services.privacy import container_set_private, private_containers_drift
from accounts.services.user_edit import user_update
from accounts.services.users import user_delete
from aliases.services import alias_create
from mailadmin import directory, imap
from mailadmin.audit.models import AuditEntry
from mailadmin.directory import InvalidName, acl, dit
from tests import ldaptool
from tests.accounts.test_journals import (
    ACTOR,
    PASSWORD,
    Crash,
    crash_after,
    crash_before,
    make_user,
    row,
)

pytestmark = [pytest.mark.django_db, pytest.mark.fault]


def listed(op: Operation) -> HalfDone:
    """The operation as the drift check lists it."""
    (item,) = [h for h in journal_scan() if h.id == str(op.pk)]
    return item


def repair(op: Operation, action: str) -> JournalReport:
    return journal_repair(actor=ACTOR, operation_id=str(op.pk), action=action)


def _crashed_user_create(
    domain: str, uid: str, monkeypatch: pytest.MonkeyPatch, when: str = "quota"
) -> tuple[str, Operation]:
    dn = dit.account_dn(dit.organization_dn(domain, domain), uid)
    with monkeypatch.context() as m:
        if when == "quota":  # Cyrus set the quota, the process died before the journal heard of it
            m.setattr(imap.CyrusAdmin, "set_quota", crash_after(imap.CyrusAdmin.set_quota))
        else:  # the entry is there, the process died before the password was set
            m.setattr(directory, "password_modify", crash_before(directory.password_modify))
        with pytest.raises(Crash):
            make_user(domain, uid, create_mailbox=True, quota_kib=2048, groupware_folders=True)
    op = row("user_create", dn)
    assert op.state == Operation.State.RUNNING and op.error.startswith("interrupted: Crash")
    return dn, op


def test_fault_a_user_create_that_died_is_finished(
    domain: str, unique: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    uid = unique("fin")
    dn, op = _crashed_user_create(domain, uid, monkeypatch)
    item = listed(op)
    assert item.done == ["entry", "password", "mailbox", "acl"] and item.not_done == ["quota", "folders"]
    assert item.finish_steps == ["quota", "folders"] and item.can_finish and not item.busy
    assert item.undo_steps == ["quota", "acl", "mailbox", "password", "entry"] and item.can_undo

    report = repair(op, "finish")
    assert report.steps == ["quota", "folders"]
    op.refresh_from_db()
    assert (op.state, op.resolution) == (Operation.State.DONE, Operation.Resolution.FINISHED)
    assert ldaptool.attribute(dn, "uid") == [uid] and ldaptool.bind_ok(dn, PASSWORD)
    assert imap.quota_get(uid).limit_kib == 2048  # type: ignore[union-attr]
    types = imap.folder_types(uid)
    assert {f.name: f.folder_type for f in standard_folders("en")}.items() <= types.items()
    assert imap.login_check(uid, PASSWORD)
    entry = AuditEntry.objects.get(action="reconcile_journal_finish", target=op.target)
    assert entry.ok and entry.before is not None and entry.before["state"] == "running"
    assert str(op.pk) not in [h.id for h in journal_scan()]
    with pytest.raises(InvalidName, match="no longer"):
        repair(op, "undo")  # repaired once; a second click changes nothing
    user_delete(actor=ACTOR, dn=dn, delete_mailbox=True)


def test_fault_a_user_create_that_died_is_undone(
    domain: str, unique: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    uid = unique("und")
    tree = ldaptool.dump(dit.domain_dn(domain))
    _dn, op = _crashed_user_create(domain, uid, monkeypatch)
    assert imap.mailbox_exists(uid)
    report = repair(op, "undo")
    assert report.steps == ["quota", "acl", "mailbox", "password", "entry"]
    assert ldaptool.dump(dit.domain_dn(domain)) == tree
    assert not imap.mailbox_exists(uid) and not imap.login_check(uid, PASSWORD)
    op.refresh_from_db()
    assert (op.state, op.resolution) == (Operation.State.UNDONE, Operation.Resolution.UNDONE)


def test_fault_a_user_create_that_died_before_its_password_can_only_be_undone(
    domain: str, unique: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    uid = unique("pwd")
    tree = ldaptool.dump(dit.domain_dn(domain))
    _dn, op = _crashed_user_create(domain, uid, monkeypatch, when="password")
    item = listed(op)
    assert not item.can_finish and "password cannot be redone" in item.finish_refusal
    with pytest.raises(InvalidName, match="cannot be finished"):
        repair(op, "finish")
    assert repair(op, "undo").steps == ["password", "entry"]
    assert ldaptool.dump(dit.domain_dn(domain)) == tree


def test_fault_a_user_delete_that_died_is_finished_never_undone(
    domain: str, unique: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    uid = unique("del")
    dn = make_user(domain, uid, create_mailbox=True)
    team = alias_create(
        actor=ACTOR, domain=domain, name=unique("team"), members=[f"{uid}@{domain}", "x@r.example"]
    )
    with monkeypatch.context() as m:
        m.setattr(imap, "mailbox_delete", crash_before(imap.mailbox_delete))
        with pytest.raises(Crash):
            user_delete(actor=ACTOR, dn=dn, delete_mailbox=True)
    op = row("user_delete", dn)
    item = listed(op)
    assert item.done == ["aliases", "entry"] and item.not_done == ["mailbox"]
    assert not item.can_undo and "entry" in item.undo_refusal
    assert ldaptool.dump(dn, scope="base") == "\n" and imap.mailbox_exists(uid)
    assert repair(op, "finish").steps == ["mailbox"]
    assert not imap.mailbox_exists(uid) and ldaptool.attribute(team, "rfc822MailMember") == ["x@r.example"]


def test_fault_a_domain_create_that_died_is_undone_or_finished(
    unique: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = ldaptool.dump(dit.domains_dn(), scope="one")
    names = [f"{unique('dom')}.test" for _ in range(2)]
    for name in names:
        with monkeypatch.context() as m:  # the organization is made, the process dies right after
            m.setattr(directory, "add", crash_after(directory.add, call=2))
            with pytest.raises(Crash):
                domain_create(actor=ACTOR, name=name, private=True)
    undo, finish = (row("domain_create", dit.domain_dn(name)) for name in names)
    assert listed(undo).done == ["domain"] and listed(undo).undo_steps == ["organization", "domain"]
    repair(undo, "undo")
    assert ldaptool.dump(dit.domains_dn(), scope="one") != tree  # the other one is still half there
    assert ldaptool.dump(dit.domain_dn(names[0])) == "\n"
    assert repair(finish, "finish").steps == ["organization", "aliases", "private"]
    assert ldaptool.attribute(dit.aliases_dn(names[1]), "ou") == ["aliases"]
    assert ldaptool.attribute(dit.domain_dn(names[1]), "mailPrivate") == ["TRUE"]
    assert private_containers_drift().in_sync
    container_delete(actor=ACTOR, dn=dit.domain_dn(names[1]))
    assert ldaptool.dump(dit.domains_dn(), scope="one") == tree


def test_fault_a_container_delete_that_died_is_put_back(
    unique: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"{unique('gone')}.test"
    domain_dn = domain_create(actor=ACTOR, name=name, description="Kept words", private=True)
    with monkeypatch.context() as m:  # ou=aliases and the organization go, the domain entry stays
        m.setattr(directory, "delete", crash_after(directory.delete, call=2))
        with pytest.raises(Crash):
            container_delete(actor=ACTOR, dn=domain_dn)
    op = row("container_delete", domain_dn)
    assert not directory.exists(dit.organization_dn(name, name))
    assert repair(op, "undo").steps == ["organization", "aliases"]
    assert ldaptool.attribute(dit.organization_dn(name, name), "o") == [name]
    assert ldaptool.attribute(dit.aliases_dn(name), "ou") == ["aliases"]
    assert (
        ldaptool.attribute(domain_dn, "description") == ["Kept words"] and private_containers_drift().in_sync
    )
    container_delete(actor=ACTOR, dn=domain_dn)
    assert ldaptool.dump(domain_dn) == "\n" and private_containers_drift().in_sync


def test_fault_a_rename_of_a_private_group_that_died_is_finished_or_undone(
    domain: str, unique: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    org = dit.organization_dn(domain, domain)
    groups = [group_create(actor=ACTOR, parent_dn=org, name=unique("g"), private=True) for _ in range(2)]
    new_names = [unique("n") for _ in groups]
    for group, new_name in zip(groups, new_names, strict=True):
        with monkeypatch.context() as m:  # renamed by slapd; the rules of the old place were never dropped
            m.setattr(directory, "rename", crash_after(directory.rename))
            with pytest.raises(Crash):
                container_rename(actor=ACTOR, dn=group, new_name=new_name)
    undo, finish = (row("container_rename", g) for g in groups)
    assert listed(undo).undo_steps == ["rename", "prepare"] and listed(finish).finish_steps == [
        "rename",
        "sync",
    ]
    repair(undo, "undo")
    assert directory.exists(groups[0]) and not directory.exists(f"ou={new_names[0]},{org}")
    repair(finish, "finish")
    assert directory.exists(f"ou={new_names[1]},{org}") and not directory.exists(groups[1])
    assert private_containers_drift().in_sync
    private = acl.private_containers()
    assert any(dit.same_dn(p, groups[0]) for p in private)
    assert any(dit.same_dn(p, f"ou={new_names[1]},{org}") for p in private)


def test_fault_a_contact_update_that_died_between_entry_and_alias(
    domain: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    org = dit.organization_dn(domain, domain)
    dns = [
        contact_create(actor=ACTOR, container_dn=org, last_name=f"Pat{n}", mail=f"pat{n}@remote.example")
        for n in range(2)
    ]
    team = alias_create(
        actor=ACTOR, domain=domain, name="pats", members=["pat0@remote.example", "pat1@remote.example"]
    )
    for n, dn in enumerate(dns):
        with monkeypatch.context() as m:  # the entry changed, the aliases not yet
            m.setattr(directory, "modify", crash_after(directory.modify))
            with pytest.raises(Crash):
                contact_update(actor=ACTOR, dn=dn, last_name=f"Pat{n}", mail=f"new{n}@remote.example")
    undo, finish = (row("contact_update", dn) for dn in dns)
    repair(undo, "undo")
    assert ldaptool.attribute(dns[0], "mail") == ["pat0@remote.example"]
    assert repair(finish, "finish").steps == ["attributes", "aliases"]
    assert ldaptool.attribute(dns[1], "mail") == ["new1@remote.example"]
    assert sorted(ldaptool.attribute(team, "rfc822MailMember")) == [
        "new1@remote.example",
        "pat0@remote.example",
    ]


def test_fault_a_user_update_that_died_in_the_middle_of_its_aliases(
    domain: str, unique: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    uid = unique("mid")
    dn = make_user(domain, uid)
    old, new = f"{uid}@{domain}", f"new-{uid}@{domain}"
    teams = [alias_create(actor=ACTOR, domain=domain, name=f"t{n}-{uid}", members=[old]) for n in range(2)]
    with monkeypatch.context() as m:  # the entry and the first alias changed, then the process died
        m.setattr(directory, "modify", crash_after(directory.modify, call=2))
        with pytest.raises(Crash):
            user_update(actor=ACTOR, dn=dn, last_name="Journal", mail=new)
    op = row("user_update", dn)
    assert listed(op).done == ["attributes"] and listed(op).undo_steps == ["aliases", "attributes"]
    assert sorted(ldaptool.attribute(t, "rfc822MailMember")[0] for t in teams) == sorted([new, old])
    repair(op, "undo")
    assert ldaptool.attribute(dn, "mail") == [old]
    assert [ldaptool.attribute(t, "rfc822MailMember") for t in teams] == [[old], [old]]


def test_fault_an_administrator_create_that_died_is_undone_or_finished(
    personas: object, unique: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    uids = [unique("adm") for _ in range(2)]
    for uid in uids:
        with monkeypatch.context() as m:  # account and role made, the process died at the policy
            m.setattr(directory, "policy_assign", crash_before(directory.policy_assign))
            with pytest.raises(Crash):
                roles.administrator_create(actor=ACTOR, uid=uid, password=PASSWORD, last_name="Admin")
    dns = [dit.account_dn(dit.admins_dn(), uid) for uid in uids]
    undo, finish = (row("administrator_create", dn) for dn in dns)
    assert listed(undo).undo_steps == ["administrator", "account"]
    # The rows of user_create and administrator_add ran inside its steps: only the outer one is listed.
    targets = {dit.normalize_dn(dn) for dn in dns}
    assert [h.kind for h in journal_scan() if h.target in targets] == ["administrator_create"] * 2
    repair(undo, "undo")
    assert ldaptool.dump(dns[0], scope="base") == "\n"
    assert repair(finish, "finish").steps == ["administrator"]
    assert ldaptool.attribute(dns[1], "pwdPolicySubentry") == [directory.admin_policy_dn()]
    assert directory.roles_for(dns[1]).administrator
    assert not finish.children.filter(state=Operation.State.RUNNING).exists()
    roles.administrator_remove(actor=ACTOR, account_dn=dns[1])
    user_delete(actor=ACTOR, dn=dns[1])


def test_fault_quota_and_password_changes_that_died_are_finished(
    domain: str, unique: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    uid = unique("qp")
    dn = make_user(domain, uid, create_mailbox=True, quota_kib=1024)
    with monkeypatch.context() as m:
        m.setattr(imap, "quota_set", crash_before(imap.quota_set))
        with pytest.raises(Crash):
            user_set_quota(actor=ACTOR, dn=dn, quota_kib=8192)
    assert ldaptool.attribute(dn, "mailQuota") == ["8192"] and imap.quota_get(uid).limit_kib == 1024  # type: ignore[union-attr]
    repair(row("user_set_quota", dn), "finish")
    assert imap.quota_get(uid).limit_kib == 8192  # type: ignore[union-attr]

    with monkeypatch.context() as m:  # the password is set, the process dies before "must change"
        m.setattr(directory, "modify", crash_before(directory.modify))
        with pytest.raises(Crash):
            user_set_password(actor=ACTOR, dn=dn, password="Changed-pass-99")
    op = row("user_set_password", dn)
    assert not listed(op).can_undo and listed(op).finish_steps == ["must_change", "sessions"]
    assert ldaptool.bind_ok(dn, "Changed-pass-99") and ldaptool.attribute(dn, "pwdReset") == []
    repair(op, "finish")
    assert ldaptool.attribute(dn, "pwdReset") == ["TRUE"]
    imap.mailbox_delete(uid)


def test_fault_a_password_change_that_died_in_its_first_step_is_superseded_by_the_next(
    domain: str, unique: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nobody knows whether the password changed, and it is never stored: neither finish nor undo; setting
    the password again completes what the row was about, so the row is no longer listed."""
    dn = make_user(domain, unique("pw"))
    with monkeypatch.context() as m:
        m.setattr(directory, "password_modify", crash_after(directory.password_modify))
        with pytest.raises(Crash):
            user_set_password(actor=ACTOR, dn=dn, password="Changed-pass-98")
    op = row("user_set_password", dn)
    assert not listed(op).can_finish and not listed(op).can_undo
    user_set_password(actor=ACTOR, dn=dn, password="Changed-pass-97")
    assert str(op.pk) not in [h.id for h in journal_scan()]


def test_fault_a_privacy_change_that_died_after_its_rules_is_undone(
    domain: str, unique: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    group = group_create(actor=ACTOR, parent_dn=dit.organization_dn(domain, domain), name=unique("p"))
    with monkeypatch.context() as m:  # the rule for the group is written, the flag is not
        m.setattr(directory, "modify", crash_before(directory.modify))
        with pytest.raises(Crash):
            container_set_private(actor=ACTOR, dn=group, private=True)
    assert not private_containers_drift().in_sync
    repair(row("container_set_private", group), "undo")
    assert private_containers_drift().in_sync and ldaptool.attribute(group, "mailPrivate") == []
    assert not any(dit.same_dn(p, group) for p in acl.private_containers())


def test_fault_a_failed_undo_is_finished_by_the_drift_check(
    domain: str, unique: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real refusal (Cyrus takes no '!' in a folder name) makes user_create undo; the entry's undo is
    refused by a fake, so the row is `failed` with the entry left behind. The drift check removes it."""
    uid = unique("fail")
    dn = dit.account_dn(dit.organization_dn(domain, domain), uid)
    with monkeypatch.context() as m:
        m.setitem(NAMES, "en", dict(NAMES["en"], junk="Bad!Name"))
        m.setattr(directory, "delete", _refuse)
        with pytest.raises(imap.ImapError):
            make_user(domain, uid, create_mailbox=True, groupware_folders=True)
    op = row("user_create", dn)
    item = listed(op)
    assert op.state == Operation.State.FAILED and item.left_behind == ["entry"] and not item.busy
    assert item.undo_steps == ["entry"] and not item.can_finish
    repair(op, "undo")
    assert ldaptool.dump(dn, scope="base") == "\n" and not imap.mailbox_exists(uid)


def _refuse(_dn: str) -> None:
    raise directory.DirectoryUnavailable("injected: slapd went away during the undo")
