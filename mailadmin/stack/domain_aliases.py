"""Postfix `ldap:` tables of the aliases of a domain (ALI-03; docs/aliases.md, docs/decisions/0006).

- `ali-members` (virtual_alias_maps, after the account map): the alias address -> its members
  (rfc822MailMember). Postfix expands every answer again, so a member that is a user becomes its mailbox
  through the account map and a member that is another alias expands in turn; cleanup drops duplicate
  recipients, so each mailbox gets one copy.
- `ali-restricted` / `ali-closed` (smtpd_recipient_restrictions, RCPT TO as the key): the restriction class
  of a Restricted alias (same domain only, asked of aliases/sender_policy.py) and of an alias without Open
  Membership (senders of hosted domains only). An alias with Open Membership is in neither: anyone may write.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from mailadmin.configfiles.postfix import ALIAS_LOCAL_SENDERS_CLASS, ALIAS_SAME_DOMAIN_CLASS, AliasSenders
from mailadmin.configfiles.postfix_tables import LdapTable

ALIAS_MAP_TABLES = ("ali-members",)
_ALIAS = "(objectClass=mailAliasEntry)(mail=%u@%d)"
POLICY_SCRIPT = Path(__file__).resolve().parents[2] / "aliases" / "sender_policy.py"
# The system interpreter: the policy needs the standard library only, and the spawned process runs as
# `nobody`, which must not depend on the console's virtualenv.
POLICY_PYTHON = "/usr/bin/python3"


def domain_alias_tables(common: dict[str, Any]) -> list[LdapTable]:
    """`common`: server_uri, bind_dn, bind_pw and search_base (ou=domains,$BASE) of the other tables."""
    return [
        LdapTable(
            name="ali-members",
            query_filter="(&(objectClass=mailAliasEntry)(mail=%s))",
            result_attribute="rfc822MailMember",
            **common,
        ),
        LdapTable(
            name="ali-restricted",
            query_filter=f"(&{_ALIAS}(mailAliasRestricted=TRUE))",
            result_attribute="mail",
            result_format=ALIAS_SAME_DOMAIN_CLASS,
            **common,
        ),
        LdapTable(
            name="ali-closed",
            query_filter=f"(&{_ALIAS}(!(mailAliasOpen=TRUE))(!(mailAliasRestricted=TRUE)))",
            result_attribute="mail",
            result_format=ALIAS_LOCAL_SENDERS_CLASS,
            **common,
        ),
    ]


def domain_alias_senders(table: Callable[[str], str], local_domains: str) -> AliasSenders:
    """`table(name)` gives the `ldap:/path` of one of the tables above; `local_domains` the table that
    answers OK for an address of a hosted domain."""
    return AliasSenders(
        restricted_tables=(table("ali-restricted"),),
        closed_tables=(table("ali-closed"),),
        local_domain_tables=(local_domains,),
        policy_argv=(POLICY_PYTHON, str(POLICY_SCRIPT)),
    )
