"""main.cf: the server's own settings, the lookup tables it routes mail with, the content filter hook, and
the restriction lists (mailadmin/configfiles/postfix/restrictions.py) in their order."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from mailadmin.configfiles import values as v
from mailadmin.configfiles.files import with_header
from mailadmin.configfiles.postfix.checks import check_table_settings
from mailadmin.configfiles.postfix.params import (
    AMAVIS_TRANSPORT,
    DURATION,
    MAILFILTER_TRANSPORT,
    ContentFilter,
    PostfixParams,
)
from mailadmin.configfiles.postfix.restrictions import (
    local_only_settings,
    sender_login_settings,
    with_alias_senders,
    with_relay_policy,
    with_submission_recipients,
    with_uce_checks,
)
from mailadmin.configfiles.postfix_tables import table_ref

SOURCE = "mailadmin/configfiles/postfix/main_cf.py"


def render_main_cf(p: PostfixParams) -> str:
    config_dir = v.path("config_dir", p.config_dir)
    log_file = v.path("log_file", p.log_file)
    relay = f"[{v.host('relay_host', p.relay_host)}]:{v.port('relay_port', p.relay_port)}"
    lmtp = f"lmtp:inet:{v.host('lmtp_host', p.lmtp_host)}:{v.port('lmtp_port', p.lmtp_port)}"
    mailbox_domain = v.host("mailbox_domain", p.mailbox_domain)
    virtual = virtual_settings(
        mailbox_domain,
        domain_tables=p.domain_tables,
        forward_tables=p.forward_tables,
        alias_tables=p.alias_tables,
        extra_alias_tables=p.extra_alias_tables,
        late_alias_tables=p.late_alias_tables,
        alias_domain_tables=p.alias_domain_tables,
        mailbox_tables=p.mailbox_tables,
    )
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
        ("minimal_backoff_time", v.text("minimal_backoff_time", p.minimal_backoff_time, pattern=DURATION)),
        ("maximal_backoff_time", v.text("maximal_backoff_time", p.maximal_backoff_time, pattern=DURATION)),
        ("queue_run_delay", v.text("queue_run_delay", p.queue_run_delay, pattern=DURATION)),
        ("message_size_limit", str(v.integer("message_size_limit", p.message_size_limit, minimum=1024))),
        ("alias_maps", ""),
        ("alias_database", ""),
        ("local_recipient_maps", ""),
        ("biff", "no"),
        ("append_dot_mydomain", "no"),
        ("smtputf8_enable", "no"),
        *virtual,
        ("virtual_transport", lmtp),
    ]
    if p.sasl_config_dir is not None:
        settings += [
            ("smtpd_sasl_type", "cyrus"),
            ("smtpd_sasl_path", "smtpd"),
            ("cyrus_sasl_config_path", v.path("sasl_config_dir", p.sasl_config_dir)),
            ("smtpd_sasl_security_options", "noanonymous"),
        ]
    settings += sender_login_settings(p.sender_login_tables, sasl=p.sasl_config_dir is not None)
    settings += local_only_settings(p.local_only, mailbox_domain)
    settings = with_alias_senders(settings, p.alias_senders, mailbox_domain)
    settings += _content_filter_settings(p.content_filter)
    settings += check_table_settings(p.checks_dir)
    settings = with_relay_policy(settings, p.relay_policy)
    settings = with_uce_checks(settings, p.rbl_sites)
    settings = with_submission_recipients(settings)
    settings = with_menu(settings, p.menu)
    known = {key for key, _ in settings}
    for i, (key, value) in enumerate(p.extra):
        v.word(f"extra[{i}].name", key)
        if key in known:
            raise v.ConfigValueError(f"extra[{i}].name", "is set by the renderer already", key)
        settings.append((key, v.text(f"extra[{i}]({key})", value, allow_empty=True)))
    body = "".join(f"{key} = {value}\n" for key, value in settings)
    return with_header(body, source=SOURCE)


def with_menu(settings: list[tuple[str, str]], menu: Mapping[str, str]) -> list[tuple[str, str]]:
    """The menu's values: each replaces the renderer's line of that name where it stands; the others follow
    in name order (so the file, and its checksum, do not depend on the order the values were set in)."""
    for key, value in menu.items():
        v.word("menu", key)
        v.text(f"menu[{key}]", value, allow_dollar=True, allow_empty=True)
    out = [(key, menu.get(key, value)) for key, value in settings]
    known = {key for key, _ in settings}
    out += [(key, menu[key]) for key in sorted(menu) if key not in known]
    return out


def virtual_settings(
    mailbox_domain: str,
    *,
    domain_tables: Sequence[str],
    forward_tables: Sequence[str],
    alias_tables: Sequence[str],
    extra_alias_tables: Sequence[str],
    late_alias_tables: Sequence[str],
    alias_domain_tables: Sequence[str],
    mailbox_tables: Sequence[str],
) -> list[tuple[str, str]]:
    """The virtual_* maps that route mail (`mailbox_domain` checked already). virtual_alias_maps in the
    order forward, alias, extra, late (see PostfixParams)."""
    domains = [mailbox_domain] + [table_ref(f"domain_tables[{i}]", t) for i, t in enumerate(domain_tables)]
    aliases = [table_ref(f"forward_tables[{i}]", t) for i, t in enumerate(forward_tables)]
    aliases += [table_ref(f"alias_tables[{i}]", t) for i, t in enumerate(alias_tables)]
    aliases += [table_ref(f"extra_alias_tables[{i}]", t) for i, t in enumerate(extra_alias_tables)]
    aliases += [table_ref(f"late_alias_tables[{i}]", t) for i, t in enumerate(late_alias_tables)]
    alias_domains = [table_ref(f"alias_domain_tables[{i}]", t) for i, t in enumerate(alias_domain_tables)]
    mailboxes = [table_ref(f"mailbox_tables[{i}]", t) for i, t in enumerate(mailbox_tables)]
    return [
        ("virtual_mailbox_domains", ", ".join(domains)),
        ("virtual_alias_maps", ", ".join(aliases)),
        *([("virtual_alias_domains", ", ".join(alias_domains))] if alias_domains else []),
        ("virtual_mailbox_maps", ", ".join(mailboxes)),
    ]


def _content_filter_settings(cf: ContentFilter | None) -> list[tuple[str, str]]:
    if cf is None:
        return []
    port = v.port("content_filter.filter_port", cf.filter_port)
    first = f"{MAILFILTER_TRANSPORT}:[127.0.0.1]:{port}"
    amavis: list[tuple[str, str]] = []
    if cf.amavis is not None:  # the content filter (CFG-03): amavis first, the disclaimer filter after it
        if cf.amavis.enabled:
            first = f"{AMAVIS_TRANSPORT}:[127.0.0.1]:{v.port('content_filter.amavis.port', cf.amavis.port)}"
        limit = v.integer("content_filter.amavis.concurrency", cf.amavis.concurrency, minimum=1, maximum=100)
        amavis.append((f"{AMAVIS_TRANSPORT}_destination_concurrency_limit", str(limit)))
    return [
        ("content_filter", first),
        ("receive_override_options", "no_address_mappings"),
        *amavis,
    ]
