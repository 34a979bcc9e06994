"""Writes and the typed errors slapd's answers become (unique overlay, schema, naming, missing parents)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import pytest

from accounts import services
from mailadmin import directory
from mailadmin.actor import Actor
from mailadmin.directory import DirectoryConflict, DirectoryNotFound, DirectoryRefused, dit

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_org() -> str:
    name = f"o{uuid.uuid4().hex[:10]}.test"
    services.domain_create(actor=Actor.system("tests"), name=name)
    return dit.organization_dn(name, name)


def _person(uid: str, **more: str) -> dict[str, str | list[str]]:
    return {"objectClass": ["inetOrgPerson", "mailAccount"], "uid": uid, "cn": uid, "sn": uid, **more}


def test_duplicate_uid_in_another_domain_is_refused_by_slapd(org: str, other_org: str) -> None:
    uid = f"dup{uuid.uuid4().hex[:8]}"
    directory.add(dit.account_dn(org, uid), _person(uid))
    # Straight to the gateway, no friendly pre-check: the unique overlay is what refuses.
    with pytest.raises(DirectoryConflict, match="already used elsewhere") as info:
        directory.add(dit.account_dn(other_org, uid), _person(uid))
    assert info.value.permanent
    assert directory.get_entry(dit.account_dn(other_org, uid)) is None


@pytest.mark.parametrize("attr", ["mail", "mailAlias"])
def test_duplicate_address_is_refused_by_slapd(attr: str, org: str, other_org: str) -> None:
    mail = f"m{uuid.uuid4().hex[:8]}@shared.test"
    one, two = f"a{uuid.uuid4().hex[:8]}", f"b{uuid.uuid4().hex[:8]}"
    directory.add(dit.account_dn(org, one), _person(one, **{attr: mail}))
    with pytest.raises(DirectoryConflict, match="already used elsewhere"):
        directory.add(dit.account_dn(other_org, two), _person(two, **{attr: mail}))
    # NB slapo-unique checks each listed attribute on its own: `mail` of one entry against `mailAlias` of
    # another is not refused by slapd. accounts.services checks that pair before it writes.


def test_same_dn_twice(org: str) -> None:
    dn = dit.account_dn(org, f"x{uuid.uuid4().hex[:8]}")
    directory.add(dn, _person(dit.rdn_value(dn)))
    with pytest.raises(DirectoryConflict, match="already exists"):
        directory.add(dn, _person(dit.rdn_value(dn)))


def test_missing_parent(org: str) -> None:
    with pytest.raises(DirectoryNotFound, match="does not exist"):
        directory.add(f"uid=x,ou=nowhere,{org}", _person("x"))


def test_schema_violation_is_refused_with_a_sentence(org: str) -> None:
    with pytest.raises(DirectoryRefused, match="refused"):
        directory.add(dit.account_dn(org, "noschema"), {"objectClass": ["inetOrgPerson"], "uid": "noschema"})


def test_modify_helpers_and_rename(org: str, make_account: Callable[..., str]) -> None:
    dn = make_account()
    directory.modify(
        dn,
        [
            directory.replace("mailQuota", 1024),
            directory.add_values("mailAlias", "a1@x.test"),
            directory.replace("mailEnabled", True),
        ],
    )
    entry = directory.get_entry(dn, ["mailQuota", "mailAlias", "mailEnabled"])
    assert entry is not None
    assert (entry.get("mailQuota"), entry.values("mailAlias"), entry.get("MAILENABLED")) == (
        "1024",
        ["a1@x.test"],
        "TRUE",
    )
    with pytest.raises(DirectoryConflict, match="already has this value"):
        directory.modify(dn, [directory.add_values("mailAlias", "a1@x.test")])
    directory.modify(dn, [directory.delete_values("mailAlias"), directory.replace("mailQuota", None)])
    entry = directory.get_entry(dn)
    assert entry is not None and "mailAlias" not in entry and "mailQuota" not in entry

    new_uid = f"r{uuid.uuid4().hex[:8]}"
    new_dn = directory.rename(dn, f"uid={new_uid}")
    assert dit.same_dn(new_dn, dit.account_dn(org, new_uid))
    assert directory.get_entry(dn) is None
    renamed = directory.get_entry(new_dn, ["uid"])
    assert renamed is not None and renamed.values("uid") == [new_uid]


def test_refint_follows_rename_and_delete(org: str, domain: str, make_account: Callable[..., str]) -> None:
    dn = make_account()
    directory.modify(dit.domain_dn(domain), [directory.add_values("mailAdministrator", dn)])
    new_dn = directory.rename(dn, f"uid=n{uuid.uuid4().hex[:8]}")
    assert _admins_eventually(domain, [new_dn])  # refint updates references in a thread of its own
    directory.delete(new_dn)
    # refint leaves the suffix as placeholder when the last value goes (olcRefintNothing); it is nobody.
    assert _admins_eventually(domain, [dit.base_dn()])
    assert directory.roles_for(dit.base_dn()).rank == 0


def _admins_eventually(domain: str, expected: list[str], timeout: float = 5.0) -> bool:
    want = sorted(dit.normalize_dn(dn) for dn in expected)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        entry = directory.get_entry(dit.domain_dn(domain), ["mailAdministrator"])
        assert entry is not None
        if sorted(dit.normalize_dn(dn) for dn in entry.values("mailAdministrator")) == want:
            return True
        time.sleep(0.05)
    return False


def test_delete_nonleaf_and_subtree(org: str, make_account: Callable[..., str]) -> None:
    group = dit.group_dn(org, "tmp")
    directory.add(group, {"objectClass": ["organizationalUnit", "mailContainer"], "ou": "tmp"})
    make_account(container=group)
    make_account(container=group)
    with pytest.raises(DirectoryRefused, match="still contains entries"):
        directory.delete(group)
    assert directory.delete_subtree(group) == 3
    assert directory.get_entry(group) is None
    with pytest.raises(DirectoryNotFound):
        directory.delete(group)


def test_entry_values_are_str(make_account: Callable[..., str]) -> None:
    dn = make_account()
    directory.modify(dn, [directory.replace("cn", "Jürgen Müller")])
    entry = directory.get_entry(dn, ["cn", "objectClass"])
    assert entry is not None
    assert entry.values("CN") == ["Jürgen Müller"]
    assert entry.dn == dn
    assert directory.is_account(directory.get_entry(dn, ["objectClass", "uid"]))  # type: ignore[arg-type]
