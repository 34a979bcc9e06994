"""What main.cf and master.cf are rendered from: typed parameters and the names they share."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

# "Send only local mail" / "Receive only local mail" (ACC-07): the classes the lookup tables answer are part
# of the contract with the directory (contract.py); these are the replies when a class refuses.
SEND_LOCAL_ONLY_REPLY = "REJECT 5.7.1 This account may send mail only to local domains"
RECEIVE_LOCAL_ONLY_REPLY = "REJECT 5.7.1 This recipient accepts mail only from senders in local domains"

# Aliases of a domain (ALI-03, docs/decisions/0006-alias-senders.md): who may write to them. An alias without
# Open Membership takes mail only from senders of hosted domains; a Restricted one only from its own domain.
ALIAS_LOCAL_SENDERS_REPLY = "REJECT 5.7.1 Only senders in the domains of this server may write to this alias"
ALIAS_POLICY_SERVICE = "mailadmin_alias_policy"

# The master.cf transport that carries mail to the disclaimer filter.
MAILFILTER_TRANSPORT = "mailfilter"
# The master.cf transport that carries mail to amavisd (CFG-03, the content filter).
AMAVIS_TRANSPORT = "smtp-amavis"
# The content filter's smoke test sends a probe to this recipient through amavisd; the smtpd amavis hands
# mail back to refuses it (and only it), so the probe goes the whole way and is never queued.
AMAVIS_PROBE_RCPT = "smoke-probe@mailadmin.invalid"

DURATION = re.compile(r"\d{1,6}[smhdw]?")
# UCE controls (mailadmin/configfiles/registry/postfix_uce.py): the console's own main.cf names. The
# recipient checks are a menu value written as a main.cf line; the blocklist zones are a menu value that
# main.cf holds as UCE_RBL_CHECKS (one reject_rbl_client per zone). Both are named as $name in
# smtpd_recipient_restrictions.
UCE_RECIPIENT_CHECKS = "mailadmin_uce_recipient_checks"
UCE_RBL_SITES = "mailadmin_uce_rbl_sites"
UCE_RBL_CHECKS = "mailadmin_uce_rbl_checks"
_DNS_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
RBL_ZONE = re.compile(rf"{_DNS_LABEL}(?:\.{_DNS_LABEL})+")
WHEN_DOWN = ("defer", "dunno")


@dataclass(frozen=True)
class LocalOnly:
    """The tables behind "Send only local mail" and "Receive only local mail" (table refs, TYPE:/path).

    A trigger table answers a restriction class name for an account that has the flag; the class then
    compares the other side of the message with the hosted domains (`local_domain_tables`: address -> OK).
    """

    local_domain_tables: Sequence[str]
    # key: the SASL login name (submission) -> SEND_LOCAL_ONLY_CLASS
    send_login_tables: Sequence[str] = ()
    # key: MAIL FROM (plain SMTP from mynetworks; on submission the login owns it) -> SEND_LOCAL_ONLY_CLASS
    send_sender_tables: Sequence[str] = ()
    # key: RCPT TO -> RECEIVE_LOCAL_ONLY_CLASS
    receive_tables: Sequence[str] = ()


@dataclass(frozen=True)
class AliasSenders:
    """The tables and the policy command behind Open Membership / Restricted (table refs, TYPE:/path).

    `restricted_tables` answer ALIAS_SAME_DOMAIN_CLASS for a Restricted alias, `closed_tables`
    ALIAS_LOCAL_SENDERS_CLASS for an alias with neither flag (RCPT TO is the key). The same-domain test
    compares sender and recipient, which no table can, so that class asks `policy_argv` (spawn(8), run as
    `policy_user`; aliases/sender_policy.py)."""

    restricted_tables: Sequence[str]
    closed_tables: Sequence[str]
    local_domain_tables: Sequence[str]
    policy_argv: Sequence[str]
    policy_user: str = "nobody"


@dataclass(frozen=True)
class ContentFilter:
    """The disclaimer filter (DLV-03), Postfix FILTER_README's "advanced content filter": every message goes
    to the filter over the `mailfilter` transport, which re-injects it into a second smtpd on `reinject_port`
    that has no content_filter. Address mappings (virtual aliases) are skipped on the first pass and done on
    the second, so the filter sees the envelope as the sender wrote it and each message is expanded once."""

    filter_port: int
    reinject_port: int
    maxproc: int = 10
    amavis: AmavisHop | None = None


@dataclass(frozen=True)
class AmavisHop:
    """amavisd (CFG-03) before the disclaimer filter: master.cf always has the `smtp-amavis` transport and
    the smtpd on `reinject_port` that amavis hands mail back to (whose content_filter is the disclaimer
    filter), so `enabled` only switches main.cf's content_filter between amavis and the disclaimer filter.
    `concurrency`: Postfix opens no more connections to amavis than it has children."""

    port: int
    reinject_port: int
    enabled: bool = False
    concurrency: int = 2


@dataclass(frozen=True)
class RelayPolicy:
    """The SMTP relay rules (DLV-04): `manage.py policyd` on 127.0.0.1:`port`, asked first in
    smtpd_recipient_restrictions, in smtpd_relay_restrictions for remote recipients, and on submission before
    reject_sender_login_mismatch (mailqueue/relayrules/engine.py explains the three `policy_context`s).

    `when_down`: "defer" (Postfix's own behaviour: 451, the client retries, no mail lost and no rule skipped)
    or "dunno" (mail flows as if there were no rules while the service is down)."""

    port: int
    when_down: str = "defer"
    timeout: str = "10s"


@dataclass(frozen=True)
class PostfixParams:
    config_dir: Path
    queue_dir: Path
    data_dir: Path
    log_file: Path
    myhostname: str
    mailbox_domain: str
    relay_host: str
    relay_port: int
    lmtp_host: str
    lmtp_port: int
    smtp_port: int
    submission_port: int | None = None
    domain_tables: Sequence[str] = ()
    alias_tables: Sequence[str] = ()
    mailbox_tables: Sequence[str] = ()
    # Room for later issues (aliases, forwards, system aliases): more maps appended after the account map.
    extra_alias_tables: Sequence[str] = ()
    # Forwards come before the account map (they answer for the same addresses); system aliases, catch-all
    # and alias domains after every other map (virtual_alias_maps: forward, alias, extra, late).
    forward_tables: Sequence[str] = ()
    late_alias_tables: Sequence[str] = ()
    # virtual_alias_domains (domains accepted only to be rewritten: alias domains); empty: Postfix default
    alias_domain_tables: Sequence[str] = ()
    # Where SASL finds smtpd.conf (pwcheck_method: saslauthd) for the submission port.
    sasl_config_dir: Path | None = None
    syslog_name: str = "mailadmin"
    # smtpd_sender_login_maps (address -> owning login): the submission port then refuses a MAIL FROM that the
    # authenticated login does not own (reject_sender_login_mismatch).
    sender_login_tables: Sequence[str] = ()
    local_only: LocalOnly | None = None
    alias_senders: AliasSenders | None = None
    content_filter: ContentFilter | None = None
    relay_policy: RelayPolicy | None = None
    # DNS blocklist zones (the menu's UCE_RBL_SITES): a reject_rbl_client each (restrictions.with_uce_checks)
    rbl_sites: Sequence[str] = ()
    message_size_limit: int = 50 * 1024 * 1024
    minimal_backoff_time: str = "1h"
    maximal_backoff_time: str = "4h"
    queue_run_delay: str = "1h"
    extra: Sequence[tuple[str, str]] = field(default_factory=tuple)
    # The directory of the header and body checks tables (postfix/checks.py); main.cf then always names all
    # four (an empty table is a valid one). None: no checks.
    checks_dir: Path | None = None
    # The Configuration menu's values (mailadmin/configfiles/registry/postfix.py, checked there): each one
    # replaces the renderer's own line of that name in place, or is added after them. Never the `ldap_*`
    # entries (those are the lookup tables' settings, see PostfixMaps).
    menu: Mapping[str, str] = field(default_factory=dict)
