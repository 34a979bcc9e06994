"""Account services against the real slapd and Cyrus: what they write, what they undo, what they audit."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from accounts import services
from mailadmin import directory, imap
from mailadmin.actor import Actor, Roles
from mailadmin.audit.models import AuditEntry
from mailadmin.directory import DirectoryConflict, DirectoryNotFound, InvalidName, dit
from tests.ldaptool import attribute, bind_ok, dump

pytestmark = pytest.mark.django_db
ACTOR = Actor(
    username="tester", dn="uid=tester,ou=admins,dc=mailadmin", roles=Roles(administrator=True), ip="192.0.2.7"
)
PASSWORD = "Service-pass-1"


def _user(org: str, uid: str, **kw: object) -> str:
    args: dict[str, object] = {"create_mailbox": False, "last_name": "Tester", "password": PASSWORD}
    args.update(kw)
    return services.user_create(actor=ACTOR, container_dn=org, uid=uid, **args)  # type: ignore[arg-type]


def test_domain_create_makes_the_three_entries_and_an_audit_row(unique: Callable[[str], str]) -> None:
    name = f"{unique('d')}.test"
    dn = services.domain_create(actor=ACTOR, name=name.upper())
    assert dit.same_dn(dn, dit.domain_dn(name))
    for entry in (dn, dit.organization_dn(name, name), dit.aliases_dn(name)):
        assert directory.get_entry(entry) is not None
    row = AuditEntry.objects.get(action="domain_create", target=dn)
    assert (row.actor, row.source_ip, row.ok, row.domain_list) == ("tester", "192.0.2.7", True, [name])
    with pytest.raises(DirectoryConflict, match="already exists"):
        services.domain_create(actor=ACTOR, name=name)
    assert AuditEntry.objects.filter(action="domain_create", target=dn, ok=False).count() == 1


def test_user_create_writes_entry_password_and_mailbox(domain: str, unique: Callable[[str], str]) -> None:
    org = dit.organization_dn(domain, domain)
    uid = unique("alice")
    dn = _user(org, uid, first_name="Alice", create_mailbox=True, quota_kib=10240)
    entry = directory.get_entry(
        dn, ["objectClass", "cn", "sn", "givenName", "mail", "mailEnabled", "mailQuota"]
    )
    assert entry is not None
    assert entry.first("cn") == "Alice Tester" and entry.first("mail") == f"{uid}@{domain}"
    assert (entry.first("mailEnabled"), entry.first("mailQuota")) == ("TRUE", "10240")
    assert attribute(dn, "userPassword")  # stored, and hashed: see tests/directory/test_passwords.py
    assert bind_ok(dn, PASSWORD)
    assert imap.mailbox_exists(uid)
    assert imap.quota_get(uid) == imap.Quota(0, 10240)
    row = AuditEntry.objects.get(action="user_create", target=dn)
    assert row.domain_list == [domain]
    assert PASSWORD not in json.dumps(row.after) + row.detail
    services.user_delete(actor=ACTOR, dn=dn, delete_mailbox=True)
    assert directory.get_entry(dn) is None and not imap.mailbox_exists(uid)


def test_user_create_in_a_group_and_console_only(domain: str, unique: Callable[[str], str]) -> None:
    org = dit.organization_dn(domain, domain)
    group = services.group_create(actor=ACTOR, parent_dn=org, name="Sales & Marketing")
    dn = _user(group, unique("bob"), mail=f"Bob.Builder@{domain.upper()}")
    assert directory.get_entry(dn, ["mail"]).first("mail") == f"bob.builder@{domain}"  # type: ignore[union-attr]
    admin = _user(dit.admins_dn(), unique("ops"))
    entry = directory.get_entry(admin, ["objectClass", "mail"])
    assert entry is not None and not entry.has_object_class("mailAccount") and "mail" not in entry
    with pytest.raises(InvalidName, match="no address and no mailbox"):
        _user(dit.admins_dn(), unique("ops"), create_mailbox=True)
    services.user_delete(actor=ACTOR, dn=admin)


def test_duplicate_login_name_in_another_domain(domain: str, unique: Callable[[str], str]) -> None:
    uid = unique("carol")
    _user(dit.organization_dn(domain, domain), uid)
    other = f"{unique('o')}.test"
    services.domain_create(actor=ACTOR, name=other)
    with pytest.raises(DirectoryConflict, match=f"login name {uid} is already taken"):
        _user(dit.organization_dn(other, other), uid)


def test_address_used_as_another_accounts_alias(domain: str, unique: Callable[[str], str]) -> None:
    # slapd's unique overlay checks mail and mailAlias each on its own; the service checks across them.
    org = dit.organization_dn(domain, domain)
    first = _user(org, unique("dave"))
    taken = f"{unique('alias')}@{domain}"
    directory.modify(first, [directory.add_values("mailAlias", taken)])
    before = dump(dit.domains_dn())
    with pytest.raises(DirectoryConflict, match="already used"):
        _user(org, unique("erin"), mail=taken)
    assert dump(dit.domains_dn()) == before


def test_user_create_undoes_the_entry_when_the_mailbox_fails(
    domain: str, unique: Callable[[str], str]
) -> None:
    """A mailbox left by a deleted account makes Cyrus refuse: the new entry must not stay half-made."""
    org = dit.organization_dn(domain, domain)
    uid = unique("frank")
    imap.mailbox_create(uid)  # the leftover
    before = dump(dit.base_dn())
    try:
        with pytest.raises(imap.MailboxExists):
            _user(org, uid, create_mailbox=True)
        assert dump(dit.base_dn()) == before
        row = AuditEntry.objects.get(action="user_create", target=dit.account_dn(org, uid))
        assert row.ok is False and "already exists" in row.detail
    finally:
        imap.mailbox_delete(uid)


def test_user_create_checks_the_policy_minimum_length(domain: str, unique: Callable[[str], str]) -> None:
    minimum = directory.password_min_length()
    if minimum < 2:
        pytest.skip("the default policy sets no minimum length")
    with pytest.raises(InvalidName, match=f"at least {minimum}"):
        _user(dit.organization_dn(domain, domain), unique("gina"), password="x" * (minimum - 1))


def test_user_set_password_requires_a_change(domain: str, unique: Callable[[str], str]) -> None:
    dn = _user(dit.organization_dn(domain, domain), unique("hank"))
    services.user_set_password(actor=ACTOR, dn=dn, password="Reset-pass-22")
    assert bind_ok(dn, "Reset-pass-22") and not bind_ok(dn, PASSWORD)
    assert directory.password_must_change(dn)
    services.user_set_password(actor=ACTOR, dn=dn, password="Reset-pass-33", must_change=False)
    assert not directory.password_must_change(dn)
    row = AuditEntry.objects.filter(action="user_set_password", target=dn).first()
    assert row is not None and "Reset-pass" not in json.dumps(row.after) + row.detail
    with pytest.raises(DirectoryNotFound):
        services.user_set_password(
            actor=ACTOR, dn=f"uid=nobody,{dit.organization_dn(domain, domain)}", password="Reset-pass-44"
        )


def test_user_delete_keeps_or_deletes_the_mailbox(domain: str, unique: Callable[[str], str]) -> None:
    org = dit.organization_dn(domain, domain)
    uid = unique("ivy")
    dn = _user(org, uid, create_mailbox=True)
    services.user_delete(actor=ACTOR, dn=dn)
    assert directory.get_entry(dn) is None and imap.mailbox_exists(uid)
    imap.mailbox_delete(uid)
    with pytest.raises(DirectoryNotFound):
        services.user_delete(actor=ACTOR, dn=dn)
    with pytest.raises(DirectoryNotFound):
        services.user_delete(actor=ACTOR, dn=org)  # a container is not an account


def test_roles_are_granted_and_removed(domain: str, unique: Callable[[str], str]) -> None:
    org = dit.organization_dn(domain, domain)
    group = services.group_create(actor=ACTOR, parent_dn=org, name="support")
    dana, gary, alma = (_user(org, unique(n)) for n in ("dana", "gary", "alma"))
    services.domain_admin_add(actor=ACTOR, domain=domain, account_dn=dana)
    services.group_admin_add(actor=ACTOR, group_dn=group, account_dn=gary)
    services.administrator_add(actor=ACTOR, account_dn=alma)
    try:
        assert directory.roles_for(dana).domains == {dit.domain_dn(domain)}
        assert directory.roles_for(gary).groups == {group}
        assert directory.roles_for(alma).administrator
        with pytest.raises(DirectoryConflict, match="already has this value"):
            services.domain_admin_add(actor=ACTOR, domain=domain, account_dn=dana)
        with pytest.raises(DirectoryNotFound):
            services.group_admin_add(actor=ACTOR, group_dn=dit.aliases_dn(domain), account_dn=gary)
        with pytest.raises(DirectoryNotFound):
            services.domain_admin_add(actor=ACTOR, domain=domain, account_dn=f"uid=ghost,{org}")
        services.domain_admin_remove(actor=ACTOR, domain=domain, account_dn=dana)
        services.group_admin_remove(actor=ACTOR, group_dn=group, account_dn=gary)
        assert directory.roles_for(dana).rank == 0 and directory.roles_for(gary).rank == 0
    finally:
        # Only the manager (or the console itself) removes another administrator (ACC-12).
        services.administrator_remove(actor=Actor.system("tests"), account_dn=alma)
    assert not directory.roles_for(alma).administrator
    actions = set(
        AuditEntry.objects.filter(target__in=[dit.domain_dn(domain), group]).values_list("action", flat=True)
    )
    assert {"domain_admin_add", "domain_admin_remove", "group_admin_add", "group_admin_remove"} <= actions


def test_group_create_refuses_places_that_are_not_containers(domain: str) -> None:
    with pytest.raises(DirectoryNotFound):
        services.group_create(actor=ACTOR, parent_dn=dit.aliases_dn(domain), name="x")
    with pytest.raises(DirectoryNotFound):
        services.group_create(actor=ACTOR, parent_dn=dit.admins_dn(), name="x")
    services.group_create(actor=ACTOR, parent_dn=dit.organization_dn(domain, domain), name="dup")
    with pytest.raises(DirectoryConflict):
        services.group_create(actor=ACTOR, parent_dn=dit.organization_dn(domain, domain), name="dup")
