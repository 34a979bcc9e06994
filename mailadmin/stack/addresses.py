"""The `ldap:` tables of the user addresses moved to the core: the filters are in
mailadmin/configfiles/contract.py (ADDRESS_TABLES, with the reasons for their order), the tables are built by
mailadmin/configfiles/postfix_maps.py. The names stay importable from here."""

from __future__ import annotations

from typing import Any

from mailadmin.configfiles.contract import (
    ADDRESS_ALIAS_DOMAINS_TABLE,
    ADDRESS_FORWARD_TABLES,
    ADDRESS_LATE_TABLES,
    ADDRESS_TABLES,
    ENABLED_ACCOUNT,
)
from mailadmin.configfiles.postfix_maps import bind_tables
from mailadmin.configfiles.postfix_tables import LdapTable

__all__ = [
    "ADDRESS_ALIAS_DOMAINS_TABLE",
    "ADDRESS_FORWARD_TABLES",
    "ADDRESS_LATE_TABLES",
    "ENABLED_ACCOUNT",
    "address_tables",
]


def address_tables(common: dict[str, Any], hosted_domains: str) -> list[LdapTable]:
    """`common`: server_uri, bind_dn, bind_pw and search_base (ou=domains,$BASE) of the other tables."""
    return bind_tables(
        ADDRESS_TABLES,
        server_uri=str(common["server_uri"]),
        bind_dn=str(common["bind_dn"]),
        bind_pw=str(common["bind_pw"]),
        base_dn=str(common["search_base"]).split(",", 1)[1],
        hosted_domains=hosted_domains,
    )
