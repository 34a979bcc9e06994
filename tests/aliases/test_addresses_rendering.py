"""The renderer's parts for the address tables: map order, virtual_alias_domains, `domain` as a table, several
result attributes; bad values refused before anything is written. Pure rendering: no stack needed."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailadmin.configfiles import values as v
from mailadmin.configfiles.contract import ADDRESS_TABLES
from mailadmin.configfiles.postfix import PostfixParams, render_main_cf
from mailadmin.configfiles.postfix_maps import bind_tables
from mailadmin.configfiles.postfix_tables import LdapTable, render_ldap_table

COMMON = {
    "server_uri": "ldap://127.0.0.1:10389",
    "bind_dn": "cn=postfix,ou=services,dc=mailadmin",
    "bind_pw": "secret",
    "search_base": "ou=domains,dc=mailadmin",
}


def _params(**kw: object) -> PostfixParams:
    base: dict[str, object] = {
        "config_dir": Path("/etc/pf"),
        "queue_dir": Path("/var/pf"),
        "data_dir": Path("/var/pfd"),
        "log_file": Path("/var/log/pf.log"),
        "myhostname": "mx.mailbox.internal",
        "mailbox_domain": "mailbox.internal",
        "relay_host": "127.0.0.1",
        "relay_port": 10029,
        "lmtp_host": "127.0.0.1",
        "lmtp_port": 10024,
        "smtp_port": 10025,
    }
    base.update(kw)
    return PostfixParams(**base)  # type: ignore[arg-type]


def _setting(text: str, name: str) -> str:
    for line in text.splitlines():
        if line.startswith(f"{name} = "):
            return line.split(" = ", 1)[1]
    raise AssertionError(f"{name} not set")


def test_virtual_alias_maps_order_and_alias_domains() -> None:
    text = render_main_cf(
        _params(
            forward_tables=("ldap:/e/fw.cf",),
            alias_tables=("ldap:/e/accounts.cf",),
            extra_alias_tables=("ldap:/e/ali.cf",),
            late_alias_tables=("ldap:/e/sys.cf", "ldap:/e/catch.cf"),
            alias_domain_tables=("ldap:/e/ad.cf",),
        )
    )
    assert _setting(text, "virtual_alias_maps") == (
        "ldap:/e/fw.cf, ldap:/e/accounts.cf, ldap:/e/ali.cf, ldap:/e/sys.cf, ldap:/e/catch.cf"
    )
    assert _setting(text, "virtual_alias_domains") == "ldap:/e/ad.cf"
    assert "virtual_alias_domains" not in render_main_cf(_params())


def test_address_tables_render() -> None:
    bound = bind_tables(
        ADDRESS_TABLES,
        server_uri=COMMON["server_uri"],
        bind_dn=COMMON["bind_dn"],
        bind_pw=COMMON["bind_pw"],
        base_dn="dc=mailadmin",
        hosted_domains="ldap:/e/domains.cf",
    )
    tables = {t.name: render_ldap_table(t) for t in bound}
    assert "result_attribute = mailForward, uid\n" in tables["addr-forwards-keep"]
    assert "domain = ldap:/e/domains.cf\n" in tables["addr-system-aliases"]
    assert "search_base = ou=system-aliases,dc=mailadmin\n" in tables["addr-system-aliases"]
    assert "result_format = @%s\n" in tables["addr-alias-domain-rewrite"]


@pytest.mark.parametrize(
    "change",
    [
        {"domain_tables": ("ldap:/e/x.cf\nbind_pw = x",)},
        {"domain_tables": ("nosuchtype:/e/x.cf",)},
        {"result_attribute": "mailForward,uid\nx"},
        {"result_attribute": "mail forward"},
    ],
)
def test_bad_values_are_refused(change: dict[str, object]) -> None:
    fields: dict[str, object] = {
        "name": "t",
        **COMMON,
        "query_filter": "(mail=%s)",
        "result_attribute": "mail",
        **change,
    }
    with pytest.raises(v.ConfigValueError):
        render_ldap_table(LdapTable(**fields))  # type: ignore[arg-type]


def test_bad_alias_domain_table_is_refused() -> None:
    with pytest.raises(v.ConfigValueError):
        render_main_cf(_params(alias_domain_tables=("ldap:/e/a.cf, ldap:/e/b.cf",)))


def test_explain_reads_postfix_lists_with_braces() -> None:
    from aliases.explain import table_list, words

    value = "check_recipient_access inline:{a.test=OK, b.test=OK},  check_sender_access ldap:/e/x.cf"
    assert words(value) == [
        "check_recipient_access",
        "inline:{a.test=OK, b.test=OK}",
        "check_sender_access",
        "ldap:/e/x.cf",
    ]
    assert table_list("ldap:/a.cf,ldap:/b.cf  hash:/c") == ["ldap:/a.cf", "ldap:/b.cf", "hash:/c"]
