"""roles_for and counts read what the tree says; server_info and schema_loaded describe the server."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mailadmin import directory
from mailadmin.actor import Roles
from mailadmin.directory import dit

pytestmark = pytest.mark.django_db


def _group(org: str, name: str) -> str:
    dn = dit.group_dn(org, name)
    directory.add(dn, {"objectClass": ["organizationalUnit", "mailContainer"], "ou": name})
    return dn


def test_roles_of_each_kind(domain: str, org: str, make_account: Callable[..., str]) -> None:
    sales = _group(org, "sales")
    plain, dadmin, gadmin, admin = (make_account() for _ in range(4))
    directory.modify(dit.domain_dn(domain), [directory.add_values("mailAdministrator", dadmin)])
    directory.modify(sales, [directory.add_values("mailAdministrator", gadmin)])
    directory.modify(dit.administrators_group_dn(), [directory.add_values("member", admin)])
    try:
        assert directory.domain_admins(domain) == [dadmin]
        assert directory.group_admins(sales) == [gadmin]
        assert admin in directory.administrators()
        assert directory.roles_for(plain) == Roles()
        assert directory.roles_for(dadmin) == Roles(domains=frozenset({dit.domain_dn(domain)}))
        assert directory.roles_for(gadmin) == Roles(groups=frozenset({sales}))
        assert directory.roles_for(admin).administrator
        # The server compares DNs by their meaning, not their spelling.
        assert directory.roles_for(dadmin.upper()).domains == frozenset({dit.domain_dn(domain)})
        # ou=aliases is an organizationalUnit too, but not a group: naming someone there grants nothing.
        directory.modify(dit.aliases_dn(domain), [directory.add_values("description", "x")])
        assert directory.roles_for(plain) == Roles()
    finally:
        directory.modify(dit.administrators_group_dn(), [directory.delete_values("member", admin)])


def test_roles_of_nobody() -> None:
    assert directory.roles_for("") == Roles()
    assert directory.roles_for("garbage") == Roles()
    assert directory.roles_for(dit.base_dn()) == Roles()  # the placeholder member of cn=administrators


def test_counts_follow_the_tree(domain: str, org: str, make_account: Callable[..., str]) -> None:
    before = dict(directory.counts())
    sales = _group(org, "sales")
    make_account(container=sales, password=None)
    room = dit.account_dn(org, f"room{dit.rdn_value(make_account(password=None))}")
    directory.add(
        room,
        {
            "objectClass": ["inetOrgPerson", "mailAccount", "mailResource"],
            "uid": dit.rdn_value(room),
            "cn": "Room",
            "sn": "Room",
        },
    )
    directory.add(
        f"cn=Carl Extern,{org}",
        {
            "objectClass": ["inetOrgPerson", "mailContact"],
            "cn": "Carl Extern",
            "sn": "Extern",
            "mail": "carl@far.test",
        },
    )
    directory.add(
        f"cn=team,{dit.aliases_dn(domain)}",
        {"objectClass": ["nisMailAlias", "mailAliasEntry"], "cn": "team", "mail": f"team@{domain}"},
    )
    after = dict(directory.counts())
    assert after["Groups"] - before["Groups"] == 1
    assert after["Users"] - before["Users"] == 2
    assert after["Resources"] - before["Resources"] == 1
    assert after["Contacts"] - before["Contacts"] == 1
    assert after["Aliases"] - before["Aliases"] == 1
    assert after["Administrators"] == len(directory.administrators())

    scoped = dict(directory.counts(bases=[dit.domain_dn(domain)]))
    assert scoped == {
        "Organizations": 1,
        "Groups": 1,
        "Users": 2,
        "Resources": 1,
        "Contacts": 1,
        "Aliases": 1,
    }
    in_group = dict(directory.counts(bases=[sales, sales]))  # the group itself is not counted; no doubles
    assert (in_group["Groups"], in_group["Users"]) == (0, 1)


def test_server_info_and_schema(stack: object) -> None:
    info = directory.server_info()
    assert info["version"] == "OpenLDAP"
    assert "paged results: yes" in info["detail"] and "password modify: yes" in info["detail"]
    assert directory.schema_loaded()
