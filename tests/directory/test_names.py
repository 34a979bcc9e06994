"""Allow-lists and escaping: hostile input is refused with a sentence, before anything is escaped or sent."""

from __future__ import annotations

import pytest

from mailadmin.directory import (
    InvalidName,
    check_address,
    check_container_name,
    check_domain,
    check_login,
    check_password,
    check_value,
    escape_dn,
    escape_filter,
)

HOSTILE = [
    "*)(uid=*",
    "x,ou=admins",
    "a+uid=root",
    "#leading",
    " leading-space",
    "trailing-space ",
    "nul\x00byte",
    "crlf\r\nmail: x@evil.test",
    "a" * 300,
    '"><img src=x onerror=alert(1)>',
    "",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_login_refuses_hostile(value: str) -> None:
    with pytest.raises(InvalidName) as info:
        check_login(value)
    assert "login name" in str(info.value)
    assert value not in str(info.value) or not value  # the message states the rule, never echoes input


@pytest.mark.parametrize("value", HOSTILE)
def test_domain_refuses_hostile(value: str) -> None:
    with pytest.raises(InvalidName, match="domain name"):
        check_domain(value)


@pytest.mark.parametrize("value", HOSTILE)
def test_container_refuses_hostile(value: str) -> None:
    with pytest.raises(InvalidName, match="name must be"):
        check_container_name(value)


@pytest.mark.parametrize(
    "value",
    [
        *HOSTILE,
        "a@b@c.test",
        '"x y"@d.test',
        "@d.test",
        "*@d.test",
        "x@",
        "x@localhost",
        ".x@d.test",
        "x.@d.test",
        "x..y@d.test",
        "x@d.test\r\nRCPT TO:<y@e.test>",
        "x@-d.test",
        "x%y@d.test",
    ],
)
def test_address_refuses_hostile(value: str) -> None:
    with pytest.raises(InvalidName, match="address"):
        check_address(value)


@pytest.mark.parametrize("value", ["alice", "a", "bob.smith", "x_y-z", "0day", "a" * 64])
def test_login_accepts(value: str) -> None:
    assert check_login(value) == value


@pytest.mark.parametrize("value", ["Alice", "a" * 65, ".alice", "-x", "ali ce", "älice", "a/b", "a@b"])
def test_login_refuses_others(value: str) -> None:
    with pytest.raises(InvalidName):
        check_login(value)


def test_domain_normalises() -> None:
    assert check_domain("Example.COM") == "example.com"
    assert check_domain("bücher.test") == "xn--bcher-kva.test"
    assert check_domain("xn--bcher-kva.test") == "xn--bcher-kva.test"


@pytest.mark.parametrize(
    "value",
    [
        "nodot",
        "a..b",
        "-a.test",
        "a-.test",
        "a.123",
        "a_b.test",
        "a.test.",
        ("a" * 64) + ".test",
        ".".join(["abcdefghi"] * 26),
    ],
)
def test_domain_refuses_others(value: str) -> None:
    with pytest.raises(InvalidName):
        check_domain(value)


def test_address_normalises() -> None:
    assert check_address("John.Doe+tag@Example.COM") == "john.doe+tag@example.com"


@pytest.mark.parametrize("value", ["Sales", "R&D (Europe)", "Ventes-Est", "Café 2", "a.test"])
def test_container_accepts(value: str) -> None:
    assert check_container_name(value) == value


def test_container_refuses_bidi_override() -> None:
    with pytest.raises(InvalidName):
        check_container_name("admin\u202egnp.exe")


def test_value_rules() -> None:
    assert check_value("Jürgen Müller") == "Jürgen Müller"
    for bad in ("a\nb", "a\rb", "a\x00b", "x" * 257):
        with pytest.raises(InvalidName, match="control characters"):
            check_value(bad)
    with pytest.raises(InvalidName, match="required"):
        check_value("  ", required=True)


def test_password_rules() -> None:
    assert check_password("any thing, even ü") == "any thing, even ü"
    for bad in ("", "a\nb", "a\x00b", "x" * 257):
        with pytest.raises(InvalidName, match="password"):
            check_password(bad)


def test_escaping() -> None:
    assert escape_dn("x,ou=admins") == "x\\,ou\\=admins"
    assert escape_dn("a+uid=root") == "a\\+uid\\=root"
    assert escape_dn("#x ") == "\\#x\\ "
    assert escape_filter("*)(uid=*") == "\\2a\\29\\28uid=\\2a"
    assert escape_filter("a\x00b\\") == "a\\00b\\5c"
