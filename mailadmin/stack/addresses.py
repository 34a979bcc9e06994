"""Postfix `ldap:` tables of the user addresses (docs/aliases.md, "System aliases, addresses, explain").

virtual_alias_maps asks, for one address, every table for the full address first and only then every table
for `@domain`; the first answer wins and its result is expanded again. Hence:

- forwards (`addr-forwards-keep`, `addr-forwards`) come before the account map: they answer for the same
  addresses. Keep copy answers the forward targets plus the bare login, which Postfix qualifies with
  `$myorigin` (= the mailbox domain), so the copy lands in `user/<uid>`.
- system aliases, catch-all and alias domains come after every other map (`late`): an account or domain alias
  of the same name wins. The system-alias table only looks up keys of hosted domains (ldap_table `domain`
  pointing at the domain table), so `postmaster@gmail.com` sent by a local user is never captured.
- catch-all and alias domain answer any address of their domain (`%d`), which only matters when nothing
  before them answered, i.e. for unknown addresses.
"""

from __future__ import annotations

from typing import Any

from mailadmin.configfiles.postfix_tables import LdapTable

ENABLED_ACCOUNT = "(objectClass=mailAccount)(!(mailEnabled=FALSE))"
_ADDRESS = "(|(mail=%s)(mailAlias=%s))"

ADDRESS_FORWARD_TABLES = ("addr-forwards-keep", "addr-forwards")
ADDRESS_LATE_TABLES = ("addr-system-aliases", "addr-catch-all", "addr-alias-domain-rewrite")
ADDRESS_ALIAS_DOMAINS_TABLE = "addr-alias-domains"


def address_tables(common: dict[str, Any], hosted_domains: str) -> list[LdapTable]:
    """`common`: server_uri, bind_dn, bind_pw and search_base (ou=domains,$BASE) of the other tables."""
    base = str(common["search_base"]).split(",", 1)[1]
    system_common = {**common, "search_base": f"ou=system-aliases,{base}"}
    return [
        LdapTable(
            name="addr-forwards-keep",
            query_filter=f"(&{ENABLED_ACCOUNT}(mailKeepCopy=TRUE)(mailForward=*){_ADDRESS})",
            result_attribute="mailForward,uid",
            **common,
        ),
        LdapTable(
            name="addr-forwards",
            query_filter=f"(&{ENABLED_ACCOUNT}(!(mailKeepCopy=TRUE))(mailForward=*){_ADDRESS})",
            result_attribute="mailForward",
            **common,
        ),
        LdapTable(
            name="addr-system-aliases",
            query_filter="(&(objectClass=nisMailAlias)(cn=%u))",
            result_attribute="rfc822MailMember",
            scope="one",
            domain_tables=(hosted_domains,),
            **system_common,
        ),
        LdapTable(
            name="addr-catch-all",
            query_filter="(&(objectClass=mailDomain)(mailCatchAll=*)(dc=%d))",
            result_attribute="mailCatchAll",
            scope="one",
            **common,
        ),
        # x@b.test -> @a.test, which Postfix turns into x@a.test (a result starting with @ keeps the user)
        LdapTable(
            name="addr-alias-domain-rewrite",
            query_filter="(&(objectClass=mailDomain)(mailDomainAlias=%d))",
            result_attribute="dc",
            result_format="@%s",
            scope="one",
            **common,
        ),
        # virtual_alias_domains: the alias domains are accepted (key: the domain name)
        LdapTable(
            name="addr-alias-domains",
            query_filter="(&(objectClass=mailDomain)(mailDomainAlias=%s))",
            result_attribute="mailDomainAlias",
            scope="one",
            **common,
        ),
    ]
