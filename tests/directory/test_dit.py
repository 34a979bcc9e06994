"""The tree layout as functions: DN builders, `is_inside`, `domain_of`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import override_settings

from mailadmin.directory import InvalidName, dit

pytestmark = pytest.mark.usefixtures("base_dn")


@pytest.fixture
def base_dn() -> Iterator[str]:
    with override_settings(LDAP_BASE_DN="dc=mailadmin"):
        yield "dc=mailadmin"


def test_builders() -> None:
    assert dit.domains_dn() == "ou=domains,dc=mailadmin"
    assert dit.domain_dn("A.test") == "dc=a.test,ou=domains,dc=mailadmin"
    assert dit.organization_dn("a.test", "a.test") == "o=a.test,dc=a.test,ou=domains,dc=mailadmin"
    org = dit.organization_dn("a.test", "a.test")
    assert dit.group_dn(org, "sales") == f"ou=sales,{org}"
    assert dit.account_dn(org, "alice") == f"uid=alice,{org}"
    assert dit.admins_dn() == "ou=admins,dc=mailadmin"
    assert dit.administrators_group_dn() == "cn=administrators,ou=roles,dc=mailadmin"
    assert dit.aliases_dn("a.test") == "ou=aliases,dc=a.test,ou=domains,dc=mailadmin"
    assert dit.system_aliases_dn() == "ou=system-aliases,dc=mailadmin"


def test_builders_read_settings_at_call_time() -> None:
    with override_settings(LDAP_BASE_DN="dc=example,dc=org"):
        assert dit.domain_dn("a.test") == "dc=a.test,ou=domains,dc=example,dc=org"


@pytest.mark.parametrize("name", ["*)(uid=*", "x,ou=admins", "a+uid=root", "#x", "x ", "a\x00", "a" * 300])
def test_builders_refuse_hostile(name: str) -> None:
    org = dit.organization_dn("a.test", "a.test")
    with pytest.raises(InvalidName):
        dit.account_dn(org, name)
    with pytest.raises(InvalidName):
        dit.group_dn(org, name)
    with pytest.raises(InvalidName):
        dit.domain_dn(name)


def test_builders_refuse_invalid_parent() -> None:
    with pytest.raises(InvalidName):
        dit.account_dn("not a dn", "alice")


A = "dc=a.test,ou=domains,dc=mailadmin"


@pytest.mark.parametrize(
    ("dn", "container", "inside"),
    [
        (f"uid=x,o=a.test,{A}", A, True),
        (A, A, True),  # subtree scope includes the base
        ("UID=X,O=A.TEST,DC=A.Test,OU=Domains,DC=MailAdmin", A, True),  # case-insensitive
        ("uid=x,o=a.test,dc=a.test, ou=domains, dc=mailadmin", A, True),  # spacing after commas
        ("uid=x,domainComponent=a.test,ou=domains,dc=mailadmin", A, True),  # long attribute name
        ("uid=x,dc=aa.test,ou=domains,dc=mailadmin", A, False),  # string suffix, not a component suffix
        ("uid=x,dc=xa.test,ou=domains,dc=mailadmin", A, False),
        ("uid=x\\,dc=a.test,ou=domains,dc=mailadmin", A, False),  # escaped comma: one RDN, not two
        ("uid=x,dc=b.test,ou=domains,dc=mailadmin", A, False),
        ("ou=domains,dc=mailadmin", A, False),  # the parent is not inside the child
        (f"uid=x,{A},dc=other", A, False),  # the suffix must be at the end
        ("not a dn", A, False),
        ("", A, False),
        (f"uid=x,{A}", "garbage,,", False),
        (f"cn=a+uid=b,{A}", A, True),  # multi-valued RDN below
        (f"uid=b+cn=a,{A}", f"cn=a+uid=b,{A}", True),  # multi-valued RDN order does not matter
    ],
)
def test_is_inside(dn: str, container: str, inside: bool) -> None:
    assert dit.is_inside(dn, container) is inside


def test_is_inside_strict() -> None:
    assert dit.is_inside(A, A, strict=True) is False
    assert dit.is_inside(f"o=a.test,{A}", A, strict=True) is True


def test_domain_of() -> None:
    assert dit.domain_of(f"uid=x,ou=sales,o=a.test,{A}") == "a.test"
    assert dit.domain_of(A) == "a.test"
    assert dit.domain_of("DC=A.Test,OU=Domains,DC=MailAdmin") == "a.test"
    assert dit.domain_of("ou=domains,dc=mailadmin") is None
    assert dit.domain_of("uid=admin,ou=admins,dc=mailadmin") is None
    assert dit.domain_of("uid=x,ou=domains,dc=other") is None
    assert dit.domain_of("garbage") is None
    assert dit.domains_of(f"uid=x,o=a.test,{A}") == ["a.test"]
    assert dit.domains_of("uid=admin,ou=admins,dc=mailadmin") == []


def test_same_dn_and_normalize() -> None:
    assert dit.same_dn("UID=Alice,O=A.test", "uid=alice, o=a.test")
    assert not dit.same_dn("uid=alice,o=a.test", "uid=alicia,o=a.test")
    assert not dit.same_dn("garbage", "garbage")
    assert dit.normalize_dn("UID=Alice , O=A.test") == "uid=alice,o=a.test"
    assert dit.rdn_value("uid=a\\,b,o=x") == "a,b"
    assert dit.parent_dn("uid=a,o=x,dc=y") == "o=x,dc=y"
