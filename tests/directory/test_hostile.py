"""Hostile names never reach slapd: refused with a sentence, and the directory is byte-for-byte unchanged."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from accounts import services
from mailadmin import directory
from mailadmin.actor import Actor
from mailadmin.directory import InvalidName, dit
from tests.ldaptool import dump

HOSTILE = [
    "*)(uid=*",
    "x,ou=admins",
    "a+uid=root",
    "#x",
    "x ",
    " x",
    "nul\x00",
    "crlf\r\nobjectClass: x",
    "a" * 300,
    '"><img src=x onerror=alert(1)>',
]
ACTOR = Actor.system("tests")


@pytest.fixture
def unchanged(stack: object) -> Callable[[], None]:
    """Call at the end of a test: fails if anything under the suffix changed since the fixture ran."""
    before = dump(dit.base_dn())

    def check() -> None:
        assert dump(dit.base_dn()) == before

    return check


@pytest.mark.django_db
@pytest.mark.parametrize("name", HOSTILE)
def test_user_create_refuses_hostile_login(name: str, org: str, unchanged: Callable[[], None]) -> None:
    with pytest.raises(InvalidName, match="login name"):
        services.user_create(
            actor=ACTOR,
            container_dn=org,
            uid=name,
            password="Long-enough-1",
            last_name="X",
            create_mailbox=False,
        )
    unchanged()


@pytest.mark.django_db
@pytest.mark.parametrize("name", HOSTILE)
def test_group_create_refuses_hostile_name(name: str, org: str, unchanged: Callable[[], None]) -> None:
    with pytest.raises(InvalidName, match="name must be"):
        services.group_create(actor=ACTOR, parent_dn=org, name=name)
    unchanged()


@pytest.mark.django_db
@pytest.mark.parametrize("name", [*HOSTILE, "a..test", "nodot", "a.test\r\n"])
def test_domain_create_refuses_hostile_name(name: str, unchanged: Callable[[], None]) -> None:
    with pytest.raises(InvalidName, match="domain name"):
        services.domain_create(actor=ACTOR, name=name)
    unchanged()


@pytest.mark.django_db
@pytest.mark.parametrize("mail", ["a@b@c.test", '"x y"@d.test', "@d.test", "*@d.test", "x@d.test\r\nbcc: y"])
def test_user_create_refuses_hostile_address(mail: str, org: str, unchanged: Callable[[], None]) -> None:
    with pytest.raises(InvalidName, match="address"):
        services.user_create(
            actor=ACTOR,
            container_dn=org,
            uid="fine",
            password="Long-enough-1",
            last_name="X",
            mail=mail,
            create_mailbox=False,
        )
    unchanged()


@pytest.mark.django_db
@pytest.mark.parametrize("last_name", ["a\r\nb", "x\x00", "y" * 65, ""])
def test_user_create_refuses_hostile_values(last_name: str, org: str, unchanged: Callable[[], None]) -> None:
    with pytest.raises(InvalidName):
        services.user_create(
            actor=ACTOR,
            container_dn=org,
            uid="fine",
            password="Long-enough-1",
            last_name=last_name,
            create_mailbox=False,
        )
    unchanged()


@pytest.mark.django_db
def test_gateway_refuses_control_characters_in_values(org: str, unchanged: Callable[[], None]) -> None:
    dn = dit.account_dn(org, "fine")
    with pytest.raises(InvalidName, match="control characters"):
        directory.add(dn, {"objectClass": ["inetOrgPerson"], "uid": "fine", "cn": "x", "sn": "a\nuid: root"})
    unchanged()


@pytest.mark.django_db
def test_gateway_refuses_clear_text_password(org: str, unchanged: Callable[[], None]) -> None:
    dn = dit.account_dn(org, "fine")
    with pytest.raises(ValueError, match="password_modify"):
        directory.add(
            dn,
            {"objectClass": ["inetOrgPerson"], "uid": "fine", "cn": "x", "sn": "x", "userPassword": "clear"},
        )
    with pytest.raises(ValueError, match="password_modify"):
        directory.modify(org, [directory.replace("UserPassword", "clear")])
    unchanged()


@pytest.mark.django_db
def test_filter_values_are_escaped(make_account: Callable[..., str], org: str) -> None:
    make_account()
    assert directory.search(org, directory.filter_eq("uid", "*"), directory.NO_ATTRS) == []
    assert directory.search(org, directory.filter_eq("uid", "*)(uid=*"), directory.NO_ATTRS) == []
    # The same text unescaped would have matched every account: the escaping is what stops it.
    assert directory.search(org, "(uid=*)", directory.NO_ATTRS)


@pytest.mark.django_db
def test_guessed_dns_are_absent(org: str) -> None:
    assert directory.get_entry("not a dn") is None
    assert directory.get_entry(f"uid=nobody,{org}") is None
    assert directory.get_entry(f"uid=x,ou=missing,{org}") is None


@pytest.mark.django_db
def test_user_create_refuses_container_outside_the_tree(unchanged: Callable[[], None]) -> None:
    for container in (dit.system_aliases_dn(), dit.roles_dn(), dit.domains_dn()):
        with pytest.raises(directory.DirectoryNotFound, match="organization or group"):
            services.user_create(
                actor=ACTOR,
                container_dn=container,
                uid="fine",
                password="Long-enough-1",
                last_name="X",
                create_mailbox=False,
            )
    unchanged()
