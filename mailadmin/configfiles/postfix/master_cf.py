"""master.cf: the smtpd services (port 25 and submission), Postfix's own services, the alias policy service
and the content filter's transport and re-injection smtpd."""

from __future__ import annotations

from collections.abc import Sequence

from mailadmin.configfiles import values as v
from mailadmin.configfiles.files import with_header
from mailadmin.configfiles.postfix.params import (
    ALIAS_POLICY_SERVICE,
    AMAVIS_PROBE_RCPT,
    AMAVIS_TRANSPORT,
    MAILFILTER_TRANSPORT,
    UCE_RBL_CHECKS,
    AliasSenders,
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

SOURCE = "mailadmin/configfiles/postfix/master_cf.py"

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


def service_line(*columns: str, options: Sequence[tuple[str, str]] = ()) -> str:
    """One master.cf entry: name, type, private, unpriv, chroot, wakeup, maxproc, command; `-o` options."""
    line = (
        f"{columns[0]:<20} {columns[1]:<10} " + " ".join(f"{c:<6}" for c in columns[2:7]) + f" {columns[7]}"
    )
    opts = "".join(f"\n  -o {key}={value}" for key, value in options)
    return line.rstrip() + opts + "\n"


def alias_policy_service(a: AliasSenders) -> str:
    # absolute paths only (interpreter, script): spawn splits argv on white space and passes no shell
    argv = [v.path(f"alias_senders.policy_argv[{i}]", arg) for i, arg in enumerate(a.policy_argv)]
    user = v.word("alias_senders.policy_user", a.policy_user)
    if user in ("root", "postfix"):
        raise v.ConfigValueError("alias_senders.policy_user", "must be an unprivileged account", user)
    command = f"spawn user={user} argv={' '.join(argv)}"
    return service_line(ALIAS_POLICY_SERVICE, "unix", "-", "n", "n", "-", "0", command)


def _reinject_checks(recipients: str) -> tuple[tuple[str, str], ...]:
    """A re-injection smtpd takes mail from a filter on loopback only: none of port 25's checks again (the
    first smtpd made them), no login, XFORWARD from loopback; `recipients` is its one recipient list."""
    return (
        ("smtpd_client_restrictions", ""),
        ("smtpd_helo_restrictions", ""),
        ("smtpd_sender_restrictions", ""),
        ("smtpd_relay_restrictions", ""),
        ("smtpd_recipient_restrictions", recipients),
        ("smtpd_data_restrictions", ""),
        ("smtpd_end_of_data_restrictions", ""),
        ("smtpd_sasl_auth_enable", "no"),
        ("mynetworks", "127.0.0.0/8"),
        ("smtpd_authorized_xforward_hosts", "127.0.0.0/8"),
    )


def _content_filter_services(cf: ContentFilter, syslog_name: str) -> list[str]:
    """The transport to the filter and the re-injection smtpd (FILTER_README, advanced content filter)."""
    maxproc = str(v.integer("content_filter.maxproc", cf.maxproc, minimum=1, maximum=100))
    to_filter = service_line(
        MAILFILTER_TRANSPORT, "unix", "-", "-", "n", "-", maxproc, "smtp",
        options=(
            ("syslog_name", f"{syslog_name}/mailfilter"),
            ("disable_mime_output_conversion", "yes"),
            ("smtp_generic_maps", ""),
        ),
    )  # fmt: skip
    reinject = service_line(
        f"127.0.0.1:{v.port('content_filter.reinject_port', cf.reinject_port)}",
        "inet", "n", "-", "n", "-", maxproc, "smtpd",
        options=(
            ("syslog_name", f"{syslog_name}/reinject"),
            ("content_filter", ""),
            # the mappings the first pass skipped happen here; recipients were checked there already
            ("receive_override_options", "no_unknown_recipient_checks,no_header_body_checks,no_milters"),
            *_reinject_checks("permit_mynetworks,reject"),
        ),
    )  # fmt: skip
    return [to_filter, reinject, *_amavis_services(cf, syslog_name)]


def _amavis_services(cf: ContentFilter, syslog_name: str) -> list[str]:
    """amavis's transport and the smtpd it re-injects into, which passes mail on to the disclaimer filter
    (docs/decisions/0015-content-filter-order.md). No checks or mappings there: the first smtpd did them."""
    if cf.amavis is None:
        return []
    to_amavis = service_line(
        AMAVIS_TRANSPORT, "unix", "-", "-", "n", "-", "20", "smtp",
        options=(
            ("syslog_name", f"{syslog_name}/amavis"),
            ("smtp_data_done_timeout", "1200s"),
            ("smtp_send_xforward_command", "yes"),
            ("disable_dns_lookups", "yes"),
            ("max_use", "20"),
        ),
    )  # fmt: skip
    filter_port = v.port("content_filter.filter_port", cf.filter_port)
    back = service_line(
        f"127.0.0.1:{v.port('content_filter.amavis.reinject_port', cf.amavis.reinject_port)}",
        "inet", "n", "-", "n", "-", "-", "smtpd",
        options=(
            ("syslog_name", f"{syslog_name}/amavis-reinject"),
            ("content_filter", f"{MAILFILTER_TRANSPORT}:[127.0.0.1]:{filter_port}"),
            ("receive_override_options",
             "no_address_mappings,no_unknown_recipient_checks,no_header_body_checks,no_milters"),
            *_reinject_checks(
                f"check_recipient_access,inline:{{{AMAVIS_PROBE_RCPT}=REJECT}},permit_mynetworks,reject"
            ),
        ),
    )  # fmt: skip
    return [to_amavis, back]


def submission_checks(
    *, local_only: LocalOnly | None, sender_login_tables: Sequence[str], relay_policy: RelayPolicy | None
) -> list[tuple[str, str]]:
    """The `-o` restrictions of the submission service; the lists themselves are main.cf parameters."""
    recipients = (
        [("smtpd_recipient_restrictions", f"${SUBMISSION_RECIPIENTS}")]
        if local_only is not None and local_only.send_login_tables  # see with_submission_recipients
        else []
    )
    if relay_policy is not None:  # the relay rules first (main.cf holds the lists: see with_relay_policy)
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
        *([("smtpd_sender_restrictions", "reject_sender_login_mismatch")] if sender_login_tables else []),
    ]


def render_master_cf(p: PostfixParams) -> str:
    """Every service with chroot n: a chroot would need /etc files copied into the private spool."""
    smtp_port = v.port("smtp_port", p.smtp_port)
    out = [service_line(f"127.0.0.1:{smtp_port}", "inet", "n", "-", "n", "-", "-", "smtpd")]
    if p.submission_port is not None:
        sub_port = v.port("submission_port", p.submission_port)
        if p.sasl_config_dir is None:
            raise v.ConfigValueError("submission_port", "needs sasl_config_dir (SASL AUTH)", sub_port)
        out.append(
            service_line(
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
                    # logged-in users are not refused for their (dial-up) address: no blocklists here, and
                    # no checks of the name their laptop gives in EHLO
                    (UCE_RBL_CHECKS, ""),
                    ("smtpd_helo_restrictions", ""),
                    *submission_checks(
                        local_only=p.local_only,
                        sender_login_tables=p.sender_login_tables,
                        relay_policy=p.relay_policy,
                    ),
                ),
            )
        )
    out.extend(service_line(*row) for row in _BASE_SERVICES)
    if p.alias_senders is not None:
        out.append(alias_policy_service(p.alias_senders))
    if p.content_filter is not None:
        out.extend(_content_filter_services(p.content_filter, v.word("syslog_name", p.syslog_name)))
    return with_header("".join(out), source=SOURCE)
