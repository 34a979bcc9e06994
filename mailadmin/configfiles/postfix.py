"""Postfix main.cf and master.cf (the `ldap:` table files: mailadmin/configfiles/postfix_tables.py)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mailadmin.configfiles import values as v
from mailadmin.configfiles.files import with_header
from mailadmin.configfiles.postfix_tables import table_ref

SOURCE = "mailadmin/configfiles/postfix.py"

# "Send only local mail" / "Receive only local mail" (ACC-07): the restriction classes the lookup tables name.
SEND_LOCAL_ONLY_CLASS = "mailadmin_send_local_only"
RECEIVE_LOCAL_ONLY_CLASS = "mailadmin_receive_local_only"
SEND_LOCAL_ONLY_REPLY = "REJECT 5.7.1 This account may send mail only to local domains"
RECEIVE_LOCAL_ONLY_REPLY = "REJECT 5.7.1 This recipient accepts mail only from senders in local domains"


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


# Aliases of a domain (ALI-03, docs/decisions/0006-alias-senders.md): who may write to them. An alias without
# Open Membership takes mail only from senders of hosted domains; a Restricted one only from its own domain.
ALIAS_LOCAL_SENDERS_CLASS = "mailadmin_alias_local_senders"
ALIAS_SAME_DOMAIN_CLASS = "mailadmin_alias_same_domain"
ALIAS_LOCAL_SENDERS_REPLY = "REJECT 5.7.1 Only senders in the domains of this server may write to this alias"
ALIAS_POLICY_SERVICE = "mailadmin_alias_policy"


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


_WHEN_DOWN = ("defer", "dunno")


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
    message_size_limit: int = 50 * 1024 * 1024
    minimal_backoff_time: str = "1h"
    maximal_backoff_time: str = "4h"
    queue_run_delay: str = "1h"
    extra: Sequence[tuple[str, str]] = field(default_factory=tuple)


_DURATION = re.compile(r"\d{1,6}[smhdw]?")


def render_main_cf(p: PostfixParams) -> str:
    config_dir = v.path("config_dir", p.config_dir)
    log_file = v.path("log_file", p.log_file)
    relay = f"[{v.host('relay_host', p.relay_host)}]:{v.port('relay_port', p.relay_port)}"
    lmtp = f"lmtp:inet:{v.host('lmtp_host', p.lmtp_host)}:{v.port('lmtp_port', p.lmtp_port)}"
    mailbox_domain = v.host("mailbox_domain", p.mailbox_domain)
    domains = [mailbox_domain] + [table_ref(f"domain_tables[{i}]", t) for i, t in enumerate(p.domain_tables)]
    aliases = [table_ref(f"forward_tables[{i}]", t) for i, t in enumerate(p.forward_tables)]
    aliases += [table_ref(f"alias_tables[{i}]", t) for i, t in enumerate(p.alias_tables)]
    aliases += [table_ref(f"extra_alias_tables[{i}]", t) for i, t in enumerate(p.extra_alias_tables)]
    aliases += [table_ref(f"late_alias_tables[{i}]", t) for i, t in enumerate(p.late_alias_tables)]
    mailboxes = [table_ref(f"mailbox_tables[{i}]", t) for i, t in enumerate(p.mailbox_tables)]
    # maillog_file must start with one of these prefixes or `postfix start` exits 1 without a word.
    log_prefix = str(Path(log_file).parent)
    settings: list[tuple[str, str]] = [
        ("compatibility_level", "3.6"),
        # must equal the -c directory, or postfix warns about an overriding entry
        ("config_directory", config_dir),
        ("queue_directory", v.path("queue_dir", p.queue_dir)),
        ("data_directory", v.path("data_dir", p.data_dir)),
        # no syslogd here: postlogd writes the log file (postlog service in master.cf)
        ("maillog_file", log_file),
        ("maillog_file_prefixes", f"/var, /dev/stdout, {log_prefix}"),
        ("syslog_name", v.word("syslog_name", p.syslog_name)),
        ("myhostname", v.host("myhostname", p.myhostname)),
        ("mydomain", mailbox_domain),
        ("myorigin", "$mydomain"),
        ("mydestination", ""),
        ("inet_interfaces", "loopback-only"),
        ("inet_protocols", "ipv4"),
        ("mynetworks", "127.0.0.0/8"),
        (
            "smtpd_relay_restrictions",
            "permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination",
        ),
        # long ids are never reused: safe keys for the queue pages
        ("enable_long_queue_ids", "yes"),
        ("relayhost", relay),
        ("smtp_connect_timeout", "2s"),
        ("minimal_backoff_time", v.text("minimal_backoff_time", p.minimal_backoff_time, pattern=_DURATION)),
        ("maximal_backoff_time", v.text("maximal_backoff_time", p.maximal_backoff_time, pattern=_DURATION)),
        ("queue_run_delay", v.text("queue_run_delay", p.queue_run_delay, pattern=_DURATION)),
        ("message_size_limit", str(v.integer("message_size_limit", p.message_size_limit, minimum=1024))),
        ("alias_maps", ""),
        ("alias_database", ""),
        ("local_recipient_maps", ""),
        ("biff", "no"),
        ("append_dot_mydomain", "no"),
        ("smtputf8_enable", "no"),
        ("virtual_mailbox_domains", ", ".join(domains)),
        ("virtual_alias_maps", ", ".join(aliases)),
        *([("virtual_alias_domains", ", ".join(_alias_domain_refs(p)))] if p.alias_domain_tables else []),
        ("virtual_mailbox_maps", ", ".join(mailboxes)),
        ("virtual_transport", lmtp),
    ]
    if p.sasl_config_dir is not None:
        settings += [
            ("smtpd_sasl_type", "cyrus"),
            ("smtpd_sasl_path", "smtpd"),
            ("cyrus_sasl_config_path", v.path("sasl_config_dir", p.sasl_config_dir)),
            ("smtpd_sasl_security_options", "noanonymous"),
        ]
    settings += _sender_login_settings(p)
    settings += _local_only_settings(p.local_only, mailbox_domain)
    settings = _with_alias_senders(settings, p.alias_senders, mailbox_domain)
    settings += _content_filter_settings(p.content_filter)
    settings = _with_relay_policy(settings, p.relay_policy)
    settings = _with_submission_recipients(settings)
    known = {key for key, _ in settings}
    for i, (key, value) in enumerate(p.extra):
        v.word(f"extra[{i}].name", key)
        if key in known:
            raise v.ConfigValueError(f"extra[{i}].name", "is set by the renderer already", key)
        settings.append((key, v.text(f"extra[{i}]({key})", value, allow_empty=True)))
    body = "".join(f"{key} = {value}\n" for key, value in settings)
    return with_header(body, source=SOURCE)


def _alias_domain_refs(p: PostfixParams) -> list[str]:
    return [table_ref(f"alias_domain_tables[{i}]", t) for i, t in enumerate(p.alias_domain_tables)]


def _sender_login_settings(p: PostfixParams) -> list[tuple[str, str]]:
    tables = [table_ref(f"sender_login_tables[{i}]", t) for i, t in enumerate(p.sender_login_tables)]
    if not tables:
        return []
    if p.sasl_config_dir is None:
        raise v.ConfigValueError("sender_login_tables", "need sasl_config_dir (SASL logins)", tables[0])
    return [("smtpd_sender_login_maps", ", ".join(tables))]


def _local_only_settings(lo: LocalOnly | None, mailbox_domain: str) -> list[tuple[str, str]]:
    """Restriction classes for the two flags, and the smtpd_recipient_restrictions that trigger them.

    Inside a class, a hosted domain answers OK, which ends smtpd_recipient_restrictions with "permit" for
    this recipient (relaying is decided before, in smtpd_relay_restrictions, and unknown recipients are still
    refused afterwards by smtpd_reject_unlisted_recipient). Hence the order: the send checks, then the
    receive check last; a check added later belongs before them. A class whose sender is local-only ends
    the list early, which is safe: that sender is an account of a hosted domain, so the receive check passes.
    """
    if lo is None:
        return []
    local = [
        table_ref(f"local_only.local_domain_tables[{i}]", t) for i, t in enumerate(lo.local_domain_tables)
    ]
    if not local:
        raise v.ConfigValueError("local_only.local_domain_tables", "must name at least one table", "")
    login = [table_ref(f"local_only.send_login_tables[{i}]", t) for i, t in enumerate(lo.send_login_tables)]
    sender = [
        table_ref(f"local_only.send_sender_tables[{i}]", t) for i, t in enumerate(lo.send_sender_tables)
    ]
    receive = [table_ref(f"local_only.receive_tables[{i}]", t) for i, t in enumerate(lo.receive_tables)]
    if not (login or sender or receive):
        raise v.ConfigValueError("local_only", "needs at least one send or receive table", "")
    # the delivery domain (uid@mailbox_domain) is local too
    hosted = [f"inline:{{{mailbox_domain}=OK}}", *local]
    send_class = [f"check_recipient_access {t}" for t in hosted]
    send_class.append(f"check_recipient_access static:{{{SEND_LOCAL_ONLY_REPLY}}}")
    receive_class = [f"check_sender_access {t}" for t in hosted]
    receive_class.append(f"check_recipient_access static:{{{RECEIVE_LOCAL_ONLY_REPLY}}}")
    triggers = [f"check_sasl_access {t}" for t in login]
    triggers += [f"check_sender_access {t}" for t in sender]
    triggers += [f"check_recipient_access {t}" for t in receive]
    return [
        ("smtpd_restriction_classes", f"{SEND_LOCAL_ONLY_CLASS}, {RECEIVE_LOCAL_ONLY_CLASS}"),
        (SEND_LOCAL_ONLY_CLASS, ", ".join(send_class)),
        (RECEIVE_LOCAL_ONLY_CLASS, ", ".join(receive_class)),
        ("smtpd_recipient_restrictions", ", ".join(triggers)),
    ]


def _with_alias_senders(
    settings: list[tuple[str, str]], a: AliasSenders | None, mailbox_domain: str
) -> list[tuple[str, str]]:
    """Add the alias sender classes to smtpd_restriction_classes and their triggers to
    smtpd_recipient_restrictions: after any leading check_policy_service (relay rules come first), before
    the local-only triggers (whose classes end the list with OK for hosted domains). A class that lets the
    sender through ends the list with OK too, which is safe for the same reason: the recipient is an alias
    of a hosted domain, relaying is decided before, and unknown recipients are refused after."""
    if a is None:
        return settings
    name = "alias_senders"
    restricted = [table_ref(f"{name}.restricted_tables[{i}]", t) for i, t in enumerate(a.restricted_tables)]
    closed = [table_ref(f"{name}.closed_tables[{i}]", t) for i, t in enumerate(a.closed_tables)]
    local = [table_ref(f"{name}.local_domain_tables[{i}]", t) for i, t in enumerate(a.local_domain_tables)]
    if not (restricted and closed and local and a.policy_argv):
        raise v.ConfigValueError(name, "needs restricted, closed and local-domain tables and a policy", "")
    hosted = [f"inline:{{{mailbox_domain}=OK}}", *local]
    local_class = [f"check_sender_access {t}" for t in hosted]
    local_class.append(f"check_recipient_access static:{{{ALIAS_LOCAL_SENDERS_REPLY}}}")
    same_class = f"check_policy_service unix:private/{ALIAS_POLICY_SERVICE}"
    triggers = [f"check_recipient_access {t}" for t in restricted + closed]
    out = dict(settings)
    classes = [c for c in out.get("smtpd_restriction_classes", "").split(", ") if c]
    out["smtpd_restriction_classes"] = ", ".join(
        [*classes, ALIAS_SAME_DOMAIN_CLASS, ALIAS_LOCAL_SENDERS_CLASS]
    )
    out[ALIAS_SAME_DOMAIN_CLASS] = same_class
    out[ALIAS_LOCAL_SENDERS_CLASS] = ", ".join(local_class)
    present = [r for r in out.get("smtpd_recipient_restrictions", "").split(", ") if r]
    lead = 0
    while lead < len(present) and present[lead].startswith("check_policy_service"):
        lead += 1
    out["smtpd_recipient_restrictions"] = ", ".join([*present[:lead], *triggers, *present[lead:]])
    # spawn(8) ends a policy process after $<service>_time_limit; smtpd keeps its connection much shorter
    out[f"{ALIAS_POLICY_SERVICE}_time_limit"] = "3600s"
    return list(out.items())


def _alias_policy_service(a: AliasSenders) -> str:
    # absolute paths only (interpreter, script): spawn splits argv on white space and passes no shell
    argv = [v.path(f"alias_senders.policy_argv[{i}]", arg) for i, arg in enumerate(a.policy_argv)]
    user = v.word("alias_senders.policy_user", a.policy_user)
    if user in ("root", "postfix"):
        raise v.ConfigValueError("alias_senders.policy_user", "must be an unprivileged account", user)
    command = f"spawn user={user} argv={' '.join(argv)}"
    return _service(ALIAS_POLICY_SERVICE, "unix", "-", "n", "n", "-", "0", command)


def _content_filter_settings(cf: ContentFilter | None) -> list[tuple[str, str]]:
    if cf is None:
        return []
    port = v.port("content_filter.filter_port", cf.filter_port)
    return [
        ("content_filter", f"{MAILFILTER_TRANSPORT}:[127.0.0.1]:{port}"),
        ("receive_override_options", "no_address_mappings"),
    ]


MAILFILTER_TRANSPORT = "mailfilter"


def _content_filter_services(cf: ContentFilter, syslog_name: str) -> list[str]:
    """The transport to the filter and the re-injection smtpd (FILTER_README, advanced content filter)."""
    maxproc = str(v.integer("content_filter.maxproc", cf.maxproc, minimum=1, maximum=100))
    to_filter = _service(
        MAILFILTER_TRANSPORT, "unix", "-", "-", "n", "-", maxproc, "smtp",
        options=(
            ("syslog_name", f"{syslog_name}/mailfilter"),
            ("disable_mime_output_conversion", "yes"),
            ("smtp_generic_maps", ""),
        ),
    )  # fmt: skip
    reinject = _service(
        f"127.0.0.1:{v.port('content_filter.reinject_port', cf.reinject_port)}",
        "inet", "n", "-", "n", "-", maxproc, "smtpd",
        options=(
            ("syslog_name", f"{syslog_name}/reinject"),
            ("content_filter", ""),
            # the mappings the first pass skipped happen here; recipients were checked there already
            ("receive_override_options", "no_unknown_recipient_checks,no_header_body_checks,no_milters"),
            ("smtpd_client_restrictions", ""),
            ("smtpd_helo_restrictions", ""),
            ("smtpd_sender_restrictions", ""),
            ("smtpd_relay_restrictions", ""),
            ("smtpd_recipient_restrictions", "permit_mynetworks,reject"),
            ("smtpd_data_restrictions", ""),
            ("smtpd_end_of_data_restrictions", ""),
            ("smtpd_sasl_auth_enable", "no"),
            ("mynetworks", "127.0.0.0/8"),
            ("smtpd_authorized_xforward_hosts", "127.0.0.0/8"),
        ),
    )  # fmt: skip
    return [to_filter, reinject]


def _relay_check(rp: RelayPolicy, context: str) -> str:
    """Settings inside the braces apply to this service only (not to other helpers' policy services)."""
    port = v.port("relay_policy.port", rp.port)
    timeout = v.text("relay_policy.timeout", rp.timeout, pattern=_DURATION)
    # "defer": Postfix's own default_action, 451 4.3.5 Server configuration problem
    when_down = v.choice("relay_policy.when_down", rp.when_down, _WHEN_DOWN)
    settings = [f"inet:127.0.0.1:{port}", f"timeout={timeout}", f"policy_context={context}"]
    if when_down == "dunno":
        settings.append("default_action=DUNNO")
    # no ", " inside the braces: other renderers split these lists on ", " (see _with_alias_senders)
    return "check_policy_service { " + ",".join(settings) + " }"


def _with_relay_policy(settings: list[tuple[str, str]], rp: RelayPolicy | None) -> list[tuple[str, str]]:
    """The relay rules' checks: FIRST in smtpd_recipient_restrictions; in smtpd_relay_restrictions after
    permit_auth_destination (so only relay attempts reach it) and before the permits; the submission lists
    as parameters that master.cf names (they hold spaces, which `-o` values cannot)."""
    if rp is None:
        return settings
    out = dict(settings)
    present = [r for r in out.get("smtpd_recipient_restrictions", "").split(", ") if r]
    out["smtpd_recipient_restrictions"] = ", ".join([_relay_check(rp, "recipient"), *present])
    relay = [r for r in out.get("smtpd_relay_restrictions", "").split(", ") if r]
    out["smtpd_relay_restrictions"] = ", ".join(
        ["permit_auth_destination", _relay_check(rp, "relay"), *relay]
    )
    out[RELAY_POLICY_SUBMISSION_RELAY] = ", ".join(
        ["permit_auth_destination", _relay_check(rp, "relay"), "permit_sasl_authenticated", "reject"]
    )
    out[RELAY_POLICY_SUBMISSION_SENDER] = ", ".join(
        [
            _relay_check(rp, "sender"),
            *(["reject_sender_login_mismatch"] if out.get("smtpd_sender_login_maps") else []),
        ]
    )
    return list(out.items())


RELAY_POLICY_SUBMISSION_RELAY = "mailadmin_relayrules_submission_relay"
RELAY_POLICY_SUBMISSION_SENDER = "mailadmin_relayrules_submission_sender"
SUBMISSION_RECIPIENTS = "mailadmin_submission_recipient_restrictions"
_SASL_CHECK = "check_sasl_access "


def _with_submission_recipients(settings: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """check_sasl_access means something only where clients log in. On port 25 (no SASL) smtpd would log
    "check_sasl_access ignored: no SASL support" for every RCPT, so main.cf's list leaves those checks out and
    the whole list, in its order, becomes a parameter that the submission service names in master.cf."""
    out = dict(settings)
    present = [r for r in out.get("smtpd_recipient_restrictions", "").split(", ") if r]
    if not any(r.startswith(_SASL_CHECK) for r in present):
        return settings
    out["smtpd_recipient_restrictions"] = ", ".join(r for r in present if not r.startswith(_SASL_CHECK))
    out[SUBMISSION_RECIPIENTS] = ", ".join(present)
    return list(out.items())


# name, type, private, unpriv, chroot, wakeup, maxproc, command
_BASE_SERVICES: tuple[tuple[str, ...], ...] = (
    ("pickup", "unix", "n", "-", "n", "60", "1", "pickup"),
    ("cleanup", "unix", "n", "-", "n", "-", "0", "cleanup"),
    ("qmgr", "unix", "n", "-", "n", "300", "1", "qmgr"),
    ("tlsmgr", "unix", "-", "-", "n", "1000?", "1", "tlsmgr"),
    ("rewrite", "unix", "-", "-", "n", "-", "-", "trivial-rewrite"),
    ("bounce", "unix", "-", "-", "n", "-", "0", "bounce"),
    ("defer", "unix", "-", "-", "n", "-", "0", "bounce"),
    ("trace", "unix", "-", "-", "n", "-", "0", "bounce"),
    ("verify", "unix", "-", "-", "n", "-", "1", "verify"),
    ("flush", "unix", "n", "-", "n", "1000?", "0", "flush"),
    ("proxymap", "unix", "-", "-", "n", "-", "-", "proxymap"),
    ("proxywrite", "unix", "-", "-", "n", "-", "1", "proxymap"),
    ("smtp", "unix", "-", "-", "n", "-", "-", "smtp"),
    ("relay", "unix", "-", "-", "n", "-", "-", "smtp"),
    ("showq", "unix", "n", "-", "n", "-", "-", "showq"),
    ("error", "unix", "-", "-", "n", "-", "-", "error"),
    ("retry", "unix", "-", "-", "n", "-", "-", "error"),
    ("discard", "unix", "-", "-", "n", "-", "-", "discard"),
    ("local", "unix", "-", "n", "n", "-", "-", "local"),
    ("virtual", "unix", "-", "n", "n", "-", "-", "virtual"),
    ("lmtp", "unix", "-", "-", "n", "-", "-", "lmtp"),
    ("anvil", "unix", "-", "-", "n", "-", "1", "anvil"),
    ("scache", "unix", "-", "-", "n", "-", "1", "scache"),
    ("postlog", "unix-dgram", "n", "-", "n", "-", "1", "postlogd"),
)


def _service(*columns: str, options: Sequence[tuple[str, str]] = ()) -> str:
    line = (
        f"{columns[0]:<20} {columns[1]:<10} " + " ".join(f"{c:<6}" for c in columns[2:7]) + f" {columns[7]}"
    )
    opts = "".join(f"\n  -o {key}={value}" for key, value in options)
    return line.rstrip() + opts + "\n"


def _submission_checks(p: PostfixParams) -> list[tuple[str, str]]:
    recipients = (
        [("smtpd_recipient_restrictions", f"${SUBMISSION_RECIPIENTS}")]
        if p.local_only is not None and p.local_only.send_login_tables  # see _with_submission_recipients
        else []
    )
    if p.relay_policy is not None:  # the relay rules first (main.cf holds the lists: see _with_relay_policy)
        return [
            ("smtpd_relay_restrictions", f"${RELAY_POLICY_SUBMISSION_RELAY}"),
            ("smtpd_sender_restrictions", f"${RELAY_POLICY_SUBMISSION_SENDER}"),
            *recipients,
        ]
    return [
        *recipients,
        ("smtpd_relay_restrictions", "permit_sasl_authenticated,reject"),
        # a login may send only as an address it owns (so a local-only account cannot claim
        # another account's address to escape its restriction)
        *([("smtpd_sender_restrictions", "reject_sender_login_mismatch")] if p.sender_login_tables else []),
    ]


def render_master_cf(p: PostfixParams) -> str:
    """Every service with chroot n: a chroot would need /etc files copied into the private spool."""
    smtp_port = v.port("smtp_port", p.smtp_port)
    out = [_service(f"127.0.0.1:{smtp_port}", "inet", "n", "-", "n", "-", "-", "smtpd")]
    if p.submission_port is not None:
        sub_port = v.port("submission_port", p.submission_port)
        if p.sasl_config_dir is None:
            raise v.ConfigValueError("submission_port", "needs sasl_config_dir (SASL AUTH)", sub_port)
        out.append(
            _service(
                f"127.0.0.1:{sub_port}",
                "inet",
                "n",
                "-",
                "n",
                "-",
                "-",
                "smtpd",
                options=(
                    ("syslog_name", f"{v.word('syslog_name', p.syslog_name)}/submission"),
                    ("smtpd_sasl_auth_enable", "yes"),
                    ("smtpd_client_restrictions", "permit_sasl_authenticated,reject"),
                    *_submission_checks(p),
                ),
            )
        )
    out.extend(_service(*row) for row in _BASE_SERVICES)
    if p.alias_senders is not None:
        out.append(_alias_policy_service(p.alias_senders))
    if p.content_filter is not None:
        out.extend(_content_filter_services(p.content_filter, v.word("syslog_name", p.syslog_name)))
    return with_header("".join(out), source=SOURCE)
