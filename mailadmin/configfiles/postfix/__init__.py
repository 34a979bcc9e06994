"""Postfix main.cf and master.cf (the `ldap:` table files: mailadmin/configfiles/postfix_tables.py).

- `params`: the typed parameters and the class, service and parameter names the files share;
- `restrictions`: main.cf's restriction lists and classes (local-only mail, alias senders, relay rules);
- `main_cf`, `master_cf`: the two renderers.
"""

from __future__ import annotations

from mailadmin.configfiles.contract import (
    ALIAS_LOCAL_SENDERS_CLASS,
    ALIAS_SAME_DOMAIN_CLASS,
    RECEIVE_LOCAL_ONLY_CLASS,
    SEND_LOCAL_ONLY_CLASS,
)
from mailadmin.configfiles.postfix.main_cf import render_main_cf
from mailadmin.configfiles.postfix.master_cf import render_master_cf
from mailadmin.configfiles.postfix.params import (
    ALIAS_LOCAL_SENDERS_REPLY,
    ALIAS_POLICY_SERVICE,
    AMAVIS_PROBE_RCPT,
    AMAVIS_TRANSPORT,
    MAILFILTER_TRANSPORT,
    RECEIVE_LOCAL_ONLY_REPLY,
    SEND_LOCAL_ONLY_REPLY,
    AliasSenders,
    AmavisHop,
    ContentFilter,
    LocalOnly,
    PostfixParams,
    RelayPolicy,
)
from mailadmin.configfiles.postfix.restrictions import (
    RELAY_POLICY_SUBMISSION_RELAY,
    RELAY_POLICY_SUBMISSION_SENDER,
    SUBMISSION_RECIPIENTS,
)

__all__ = [
    "ALIAS_LOCAL_SENDERS_CLASS",
    "ALIAS_LOCAL_SENDERS_REPLY",
    "ALIAS_POLICY_SERVICE",
    "ALIAS_SAME_DOMAIN_CLASS",
    "AMAVIS_PROBE_RCPT",
    "AMAVIS_TRANSPORT",
    "MAILFILTER_TRANSPORT",
    "RECEIVE_LOCAL_ONLY_CLASS",
    "RECEIVE_LOCAL_ONLY_REPLY",
    "RELAY_POLICY_SUBMISSION_RELAY",
    "RELAY_POLICY_SUBMISSION_SENDER",
    "SEND_LOCAL_ONLY_CLASS",
    "SEND_LOCAL_ONLY_REPLY",
    "SUBMISSION_RECIPIENTS",
    "AliasSenders",
    "AmavisHop",
    "ContentFilter",
    "LocalOnly",
    "PostfixParams",
    "RelayPolicy",
    "render_main_cf",
    "render_master_cf",
]
