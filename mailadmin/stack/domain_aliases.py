"""The `ldap:` tables of the aliases of a domain (ALI-03) moved to the core: the filters are in
mailadmin/configfiles/contract.py (ALIAS_TABLES), the tables and the policy command are built by
mailadmin/configfiles/postfix_maps.py. The names stay importable from here."""

from __future__ import annotations

from mailadmin.configfiles.contract import ALIAS_MAP_TABLES
from mailadmin.configfiles.postfix_maps import POLICY_PYTHON, POLICY_SCRIPT, domain_alias_senders

__all__ = ["ALIAS_MAP_TABLES", "POLICY_PYTHON", "POLICY_SCRIPT", "domain_alias_senders"]
