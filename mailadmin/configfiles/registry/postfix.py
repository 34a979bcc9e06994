"""The Postfix registry of the Configuration menu (CFG-01, CFG-06): the main.cf parameters an administrator
may change, grouped as the SCOoffice manual grouped them, plus the parameters the console's renderer owns
(shown with the reason they are fixed) and the settings of the `ldap:` lookup tables (postfix_ldap.py).

Every name is a real main.cf parameter of Postfix 3.7 (tests/configfiles/test_registry_postfix.py asks
`postconf -d`), except the `ldap_` entries: those go into each table file the console renders. Defaults are
not kept here; the menu asks `postconf -d`. A menu value replaces the renderer's line of the same name.

The data tables are laid out by hand (one parameter, then its help), hence `fmt: off`.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext_lazy as _

from mailadmin.configfiles.registry import Group, Kind, Param, Registry
from mailadmin.configfiles.registry.postfix_checks import CHECKS, CHECKS_PARAMS
from mailadmin.configfiles.registry.postfix_ldap import LDAP, LDAP_PARAMS
from mailadmin.configfiles.registry.postfix_uce import UCE, UCE_PARAMS

LOCAL, SMTPD, RELAY, LIMITS, QUEUE, TLS = "local", "smtpd", "relay", "limits", "queue", "tls"

GROUPS = (
    Group(LOCAL, _("Local delivery and addresses")),
    Group(SMTPD, _("SMTP server")),
    Group(UCE, _("UCE controls: HELO, sender, recipient and blocklist checks")),
    Group(RELAY, _("Relay and networks")),
    Group(LIMITS, _("Limits and sizes")),
    Group(QUEUE, _("Queue and retry")),
    Group(TLS, _("TLS")),
    Group(LDAP, _("LDAP lookup tables")),
    Group(CHECKS, _("Header and body checks")),  # their own pages (configuration/views/checks.py)
)

# --- shapes of values -------------------------------------------------------------------------------------
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST = rf"{_LABEL}(?:\.{_LABEL})*"
_IPV4 = r"(?:(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])"
_IPV6 = r"[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}"
# relayhost style: [host]:port skips the MX lookup; the port may be a number or a service name
NEXT_HOP = re.compile(
    rf"(?:\[(?:{_HOST}|{_IPV4}|ipv6:{_IPV6})\]|{_HOST})(?::(?:[0-9]{{1,5}}|[a-z][a-z0-9-]{{0,30}}))?"
)
NETWORK = re.compile(
    rf"{_IPV4}(?:/(?:3[0-2]|[12]?[0-9]))?|\[{_IPV6}\](?:/(?:12[0-8]|1[01][0-9]|[1-9]?[0-9]))?"
)
DOMAIN = re.compile(_HOST)
IPV4 = re.compile(_IPV4)
LOCAL_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}")
ADDRESS = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._+-]{{0,63}}(?:@{_HOST})?")
_FQDN = rf"{_LABEL}(?:\.{_LABEL})+"
HOST_OR_MYHOSTNAME = re.compile(rf"\$myhostname|{_FQDN}")
# the banner starts with the host name; `$name` (no braces or parentheses) may appear after it
BANNER = re.compile(rf"(?:\$myhostname|{_FQDN})(?: (?:[^$]|\$[a-z_]{{1,64}})*)?")
TLS_PROTOCOL = re.compile(r"(?:[<>]=|!)?(?:SSLv2|SSLv3|TLSv1|TLSv1\.[123])")
WORD = re.compile(r"[a-z][a-z0-9_-]{0,63}")


def one_of(*words: str) -> re.Pattern[str]:
    """A LIST item pattern that takes exactly these words."""
    return re.compile("|".join(re.escape(w) for w in words))


_STACK = _("The console's mail flow depends on it; the stack renderer writes it.")

# fmt: off
LOCAL_PARAMS: tuple[Param, ...] = (
    Param("myhostname", Kind.HOST, LOCAL, example="mail.example.com", help=_(
        "The fully qualified name of this mail server, used in the SMTP greeting, in Received: headers and "
        "as the EHLO name of outgoing mail. Example: mail.example.com.")),
    Param("recipient_delimiter", Kind.TEXT, LOCAL, example="+", empty=True,
          pattern=re.compile(r"[+=_-]{1,4}"), help=_(
        "Characters that separate an address extension from the local part: with +, user+news@example.com "
        "reaches user@example.com and the extension travels on to the mailbox. Empty turns extensions off. "
        "Example: +.")),
    Param("append_dot_mydomain", Kind.BOOLEAN, LOCAL, example="no", help=_(
        "Whether an address whose domain has no dot (user@host) gets the server's own domain appended. "
        "Mail programs should send complete domains, so the console leaves it off. Example: no.")),
    Param("allow_percent_hack", Kind.BOOLEAN, LOCAL, example="no", help=_(
        "Whether the old routing form user%domain@server is rewritten to user@domain. Turning it off "
        "avoids surprises with addresses that contain a percent sign. Example: no.")),
    Param("masquerade_domains", Kind.LIST, LOCAL, example="example.com", empty=True,
          pattern=re.compile(rf"!?{_HOST}"), help=_(
        "Domains that outgoing addresses are shortened to: with example.com listed, user@host.example.com "
        "leaves as user@example.com. A leading ! keeps that subdomain unchanged. Example: example.com.")),
    Param("masquerade_exceptions", Kind.LIST, LOCAL, example="root, mailer-daemon", empty=True,
          pattern=LOCAL_PART, help=_(
        "Local parts (user names) that masquerading never shortens, so their full host name stays "
        "visible. Example: root, mailer-daemon.")),
    Param("masquerade_classes", Kind.LIST, LOCAL, example="envelope_sender, header_sender, header_recipient",
          pattern=one_of("envelope_sender", "envelope_recipient", "header_sender", "header_recipient"),
          help=_(
        "Which addresses masquerading rewrites: envelope and/or header, sender and/or recipient. Example: "
        "envelope_sender, header_sender, header_recipient.")),
    Param("canonical_maps", Kind.TABLES, LOCAL, example="hash:/etc/postfix/canonical", empty=True, help=_(
        "Lookup tables that rewrite sender and recipient addresses, in the envelope and in the headers, "
        "before mail is routed. Example: hash:/etc/postfix/canonical.")),
    Param("sender_canonical_maps", Kind.TABLES, LOCAL, example="hash:/etc/postfix/sender_canonical",
          empty=True, help=_(
        "Like canonical_maps, for sender addresses only: for example to send the mail of jdoe@example.com "
        "as john.doe@example.com. Example: hash:/etc/postfix/sender_canonical.")),
    Param("recipient_canonical_maps", Kind.TABLES, LOCAL, example="hash:/etc/postfix/recipient_canonical",
          empty=True, help=_(
        "Like canonical_maps, for recipient addresses only. Example: hash:/etc/postfix/recipient_canonical."
    )),
    Param("propagate_unmatched_extensions", Kind.LIST, LOCAL, example="canonical, virtual", empty=True,
          pattern=one_of("canonical", "virtual", "alias", "forward", "include", "generic"), help=_(
        "Which rewriting steps keep an address extension when their table only knew the address without "
        "it (user+news found as user). Example: canonical, virtual.")),
    Param("lmtp_connect_timeout", Kind.TIME, LOCAL, unit="seconds", example="10s", minimum=0, help=_(
        "How long Postfix waits for the mailbox server (Cyrus, over LMTP) to accept a connection; 0 leaves "
        "it to the operating system. A bare number counts seconds. Example: 10s.")),
    Param("lmtp_destination_concurrency_limit", Kind.NUMBER, LOCAL, unit="deliveries", example="20",
          minimum=1, maximum=1000, help=_(
        "How many deliveries to the mailbox server may run at the same time. Example: 20.")),
    Param("lmtp_destination_recipient_limit", Kind.NUMBER, LOCAL, unit="recipients", example="50",
          minimum=1, maximum=100000, help=_(
        "How many recipients one LMTP delivery to the mailbox server may carry; 1 delivers every recipient "
        "on its own. Example: 50.")),
    # fixed: the renderer's mail flow
    Param("mydomain", Kind.HOST, LOCAL, example="mail.example.com", fixed=_(
        "The console sets it to the mailbox domain; myorigin and the keep-copy forwards depend on it."),
          help=_(
        "The domain of this server. The console sets it to the mailbox domain, the domain every mailbox "
        "address is delivered in (<login>@<mailbox domain>).")),
    Param("myorigin", Kind.TEXT, LOCAL, example="$mydomain", dollar=True, fixed=_(
        "A forward that keeps a copy answers the bare login, which must become <login>@<mailbox domain>."),
          help=_(
        "The domain added to addresses that have none. Here it is $mydomain, so a bare login becomes its "
        "mailbox address.")),
    Param("mydestination", Kind.LIST, LOCAL, example="", empty=True, fixed=_STACK, help=_(
        "Domains delivered to Unix accounts by local(8). Empty here: every hosted domain is a virtual "
        "mailbox domain whose mail goes to Cyrus.")),
    Param("local_recipient_maps", Kind.TABLES, LOCAL, example="", empty=True, fixed=_STACK, help=_(
        "The valid Unix recipients. Empty, like mydestination and alias_maps: no Unix account or "
        "/etc/aliases entry receives mail here.")),
    Param("alias_maps", Kind.TABLES, LOCAL, example="", empty=True, fixed=_STACK, help=_(
        "The tables of local(8) aliases. Empty: aliases live in the directory and are answered by the "
        "virtual alias tables.")),
    Param("virtual_mailbox_domains", Kind.LIST, LOCAL, example="ldap:/etc/postfix/ldap/domains.cf",
          fixed=_STACK, help=_(
        "The domains this server hosts: the mailbox domain and the directory's domains table.")),
    Param("virtual_alias_maps", Kind.TABLES, LOCAL, example="ldap:/etc/postfix/ldap/accounts.cf",
          fixed=_STACK, help=_(
        "The directory tables that turn an address into mailboxes or other addresses, in a fixed order: "
        "forwards, accounts, aliases, then system aliases, catch-all and alias domains.")),
    Param("virtual_alias_domains", Kind.TABLES, LOCAL, example="ldap:/etc/postfix/ldap/addr-alias-domains.cf",
          fixed=_STACK, help=_(
        "Domains that only stand for another hosted domain (alias domains), from the directory.")),
    Param("virtual_mailbox_maps", Kind.TABLES, LOCAL, example="ldap:/etc/postfix/ldap/mailboxes.cf",
          fixed=_STACK, help=_(
        "Which <login>@<mailbox domain> addresses have a mailbox: the directory's mailboxes table.")),
    Param("virtual_transport", Kind.TEXT, LOCAL, example="lmtp:inet:127.0.0.1:24", fixed=_STACK, help=_(
        "How mail reaches the mailboxes: LMTP to the Cyrus server.")),
    Param("compatibility_level", Kind.TEXT, LOCAL, example="3.6", fixed=_(
        "Pinned, so that an upgrade of Postfix does not change defaults under the console's settings."),
          help=_(
        "Which release's defaults Postfix follows where newer releases changed them.")),
)

SMTPD_PARAMS: tuple[Param, ...] = (
    Param("smtpd_banner", Kind.TEXT, SMTPD, example="$myhostname ESMTP", dollar=True, pattern=BANNER,
          help=_(
        "The text after 220 in the server's greeting. It must start with the host name; say no more about "
        "the software than needed. $name refers to another parameter. Example: $myhostname ESMTP.")),
    Param("smtpd_delay_reject", Kind.BOOLEAN, SMTPD, example="yes", help=_(
        "Whether refusals from the client, HELO and sender checks wait until RCPT TO, so the log names the "
        "recipient and clients that give up on an early refusal behave. Example: yes.")),
    Param("smtpd_timeout", Kind.TIME, SMTPD, unit="seconds", example="300s", minimum=1, help=_(
        "How long the SMTP server waits for the client's next command, or for it to take a reply, before "
        "it hangs up. A bare number counts seconds. Example: 300s.")),
    Param("smtpd_error_sleep_time", Kind.TIME, SMTPD, unit="seconds", example="1s", minimum=0, help=_(
        "The pause before each error reply once a client has made some errors, which slows down address "
        "guessing. A bare number counts seconds. Example: 1s.")),
    Param("smtpd_soft_error_limit", Kind.NUMBER, SMTPD, unit="errors", example="10", minimum=1,
          maximum=1000, help=_(
        "After this many errors in one session the server pauses before every reply "
        "(smtpd_error_sleep_time). Example: 10.")),
    Param("smtpd_hard_error_limit", Kind.NUMBER, SMTPD, unit="errors", example="20", minimum=1,
          maximum=1000, help=_(
        "After this many errors in one session the server closes the connection. Example: 20.")),
    Param("smtpd_sasl_security_options", Kind.LIST, SMTPD, example="noanonymous",
          pattern=one_of("noanonymous", "noplaintext", "noactive", "nodictionary", "mutual_auth",
                         "forward_secrecy"), help=_(
        "Which kinds of login mechanism the server does not offer: always noanonymous; noplaintext only if "
        "every mail program can use something other than PLAIN or LOGIN. Example: noanonymous.")),
    Param("smtpd_sasl_authenticated_header", Kind.BOOLEAN, SMTPD, example="no", help=_(
        "Whether the Received: header names the login that sent the message. It helps to trace abuse but "
        "shows the login to every recipient. Example: no.")),
    Param("broken_sasl_auth_clients", Kind.BOOLEAN, SMTPD, example="no", help=_(
        "Whether AUTH is also announced in the non-standard form that very old Outlook versions expect. "
        "Example: no.")),
    Param("smtputf8_enable", Kind.BOOLEAN, SMTPD, example="no", help=_(
        "Whether the server announces SMTPUTF8, i.e. accepts addresses and headers in UTF-8. Leave it off "
        "unless every part of the mail flow handles such addresses. Example: no.")),
    Param("smtpd_discard_ehlo_keywords", Kind.LIST, SMTPD, example="silent-discard, dsn", empty=True,
          pattern=WORD, help=_(
        "EHLO features the server does not announce, such as dsn, pipelining or chunking; silent-discard "
        "stops it from logging each one. Example: silent-discard, dsn.")),
    # fixed: the renderer's restriction lists and logins
    Param("smtpd_recipient_restrictions", Kind.LIST, SMTPD, example="check_recipient_access ldap:...",
          fixed=_STACK, help=_(
        "The console's recipient checks in their required order: relay rules, who may write to an alias, "
        "and the Send/Receive only local mail flags.")),
    Param("smtpd_relay_restrictions", Kind.LIST, SMTPD,
          example="permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination", fixed=_STACK,
          help=_(
        "Who may relay: clients in mynetworks and logged-in users; everyone else only to hosted domains. "
        "The relay rules' policy check sits here too.")),
    Param("smtpd_restriction_classes", Kind.LIST, SMTPD, example="mailadmin_send_local_only",
          fixed=_STACK, help=_(
        "Names the console's restriction classes (local-only accounts, alias senders) that the directory "
        "tables answer.")),
    Param("smtpd_sender_login_maps", Kind.TABLES, SMTPD, example="ldap:/etc/postfix/ldap/sender-logins.cf",
          fixed=_STACK, help=_(
        "Which login owns which sender address: the directory's sender-logins table.")),
    Param("smtpd_sasl_auth_enable", Kind.BOOLEAN, SMTPD, example="no", fixed=_(
        "Logins belong on the submission port, which turns them on together with the sender checks."),
          help=_(
        "Whether the server offers AUTH. Port 25 does not; the submission service does, and applies the "
        "login-based checks there.")),
    Param("smtpd_reject_unlisted_recipient", Kind.BOOLEAN, SMTPD, example="yes", fixed=_(
        "The console's restriction classes rely on it to refuse unknown recipients after they answer OK."),
          help=_(
        "Whether RCPT TO is refused for an address of a hosted domain that no account or alias has.")),
    Param("cyrus_sasl_config_path", Kind.PATH, SMTPD, example="/etc/postfix/sasl", fixed=_STACK, help=_(
        "Where Cyrus SASL finds the console's smtpd.conf, which says how logins are checked.")),
)

RELAY_PARAMS: tuple[Param, ...] = (
    Param("relayhost", Kind.TEXT, RELAY, example="[smtp.example.net]:587", empty=True, pattern=NEXT_HOP,
          help=_(
        "The smarthost all outgoing mail goes through; empty sends straight to each recipient's mail "
        "server. Brackets skip the MX lookup, :port picks the port. Example: [smtp.example.net]:587.")),
    Param("mynetworks", Kind.LIST, RELAY, example="127.0.0.0/8, 192.168.10.0/24", pattern=NETWORK, help=_(
        "Networks whose clients may send through this server without logging in. Keep it small: an open "
        "relay lands on blocklists within hours. Example: 127.0.0.0/8, 192.168.10.0/24.")),
    Param("relay_domains", Kind.LIST, RELAY, example="partner.example.org", empty=True, pattern=DOMAIN,
          help=_(
        "Domains that are not hosted here but whose mail this server accepts and passes on, e.g. as a backup "
        "MX. Pair it with relay_recipient_maps. Example: partner.example.org.")),
    Param("relay_recipient_maps", Kind.TABLES, RELAY, example="hash:/etc/postfix/relay_recipients",
          empty=True, help=_(
        "Tables of the valid addresses in relay_domains, so mail to unknown users there is refused at once "
        "instead of bounced later. Example: hash:/etc/postfix/relay_recipients.")),
    Param("transport_maps", Kind.TABLES, RELAY, example="hash:/etc/postfix/transport", empty=True, help=_(
        "Tables that send the mail of chosen domains or addresses to a particular transport or next hop, "
        "before the usual routing. Example: hash:/etc/postfix/transport.")),
    Param("sender_dependent_relayhost_maps", Kind.TABLES, RELAY, example="hash:/etc/postfix/sender_relay",
          empty=True, help=_(
        "Tables that choose the smarthost by sender address or domain, ahead of relayhost. Example: "
        "hash:/etc/postfix/sender_relay.")),
    Param("smtp_fallback_relay", Kind.LIST, RELAY, example="[backup-relay.example.net]:25", empty=True,
          pattern=NEXT_HOP, help=_(
        "Hosts tried when the usual next hop of outgoing mail cannot be found or reached. Example: "
        "[backup-relay.example.net]:25.")),
    Param("smtp_generic_maps", Kind.TABLES, RELAY, example="hash:/etc/postfix/generic", empty=True, help=_(
        "Tables that rewrite addresses in mail leaving this server only, e.g. internal addresses into "
        "ones valid on the Internet. Example: hash:/etc/postfix/generic.")),
    Param("smtp_sasl_auth_enable", Kind.BOOLEAN, RELAY, example="yes", help=_(
        "Whether outgoing connections log in to the next hop (usually the relayhost) with a name and "
        "password from smtp_sasl_password_maps. Example: yes.")),
    Param("smtp_sasl_password_maps", Kind.TABLES, RELAY, example="hash:/etc/postfix/sasl_passwd", empty=True,
          table_types=("hash", "lmdb", "texthash"), help=_(
        "Tables with name:password per next hop, keyed as written in relayhost. The file holds passwords: "
        "make it readable by root only. Example: hash:/etc/postfix/sasl_passwd.")),
    Param("smtp_sasl_security_options", Kind.LIST, RELAY, example="noanonymous", empty=True,
          pattern=one_of("noanonymous", "noplaintext", "noactive", "nodictionary", "mutual_auth"), help=_(
        "Which kinds of login mechanism outgoing connections refuse; most providers need PLAIN or LOGIN, "
        "so leave out noplaintext when the link is encrypted. Example: noanonymous.")),
    Param("smtp_sasl_mechanism_filter", Kind.LIST, RELAY, example="plain, login", empty=True,
          pattern=re.compile(r"[A-Za-z0-9_-]{1,32}"), help=_(
        "Limits the login mechanisms outgoing connections try to those listed; empty tries whatever the "
        "server offers. Example: plain, login.")),
    Param("inet_interfaces", Kind.LIST, RELAY, example="all", restart=True,
          pattern=re.compile(rf"all|loopback-only|{_IPV4}|{_HOST}|\[?{_IPV6}\]?"), help=_(
        "The addresses Postfix receives mail on: all, loopback-only or some of this machine's addresses. "
        "Takes effect only after Postfix is stopped and started. Example: all.")),
    Param("inet_protocols", Kind.LIST, RELAY, example="ipv4", restart=True,
          pattern=one_of("ipv4", "ipv6", "all"), help=_(
        "The IP versions Postfix uses: ipv4, ipv6 or all. Takes effect only after Postfix is stopped and "
        "started. Example: ipv4.")),
    Param("smtp_bind_address", Kind.TEXT, RELAY, example="192.0.2.25", empty=True, pattern=IPV4, help=_(
        "The local IPv4 address outgoing connections come from on a machine that has several; empty lets "
        "the system choose. Example: 192.0.2.25.")),
    Param("smtp_helo_name", Kind.TEXT, RELAY, example="$myhostname", dollar=True, pattern=HOST_OR_MYHOSTNAME,
          help=_(
        "The name this server gives in EHLO when it delivers to other servers. Example: $myhostname.")),
    Param("smtp_connect_timeout", Kind.TIME, RELAY, unit="seconds", example="30s", minimum=0, help=_(
        "How long outgoing delivery waits for a remote server to accept the connection; 0 leaves it to the "
        "operating system. A bare number counts seconds. Example: 30s.")),
    Param("smtp_host_lookup", Kind.LIST, RELAY, example="dns, native", pattern=one_of("dns", "native"),
          help=_(
        "How outgoing delivery finds a next hop's address: dns, native (the system resolver, including "
        "/etc/hosts), or both in the given order. Example: dns, native.")),
    Param("smtp_dns_support_level", Kind.CHOICE, RELAY, example="enabled", empty=True,
          choices=("enabled", "disabled", "dnssec"), help=_(
        "Whether outgoing delivery uses DNS: enabled, disabled (hosts come from elsewhere) or dnssec "
        "(validated answers, needed for DANE). Empty keeps the traditional behaviour. Example: enabled.")),
    Param("smtp_address_preference", Kind.CHOICE, RELAY, example="ipv4", choices=("ipv4", "ipv6", "any"),
          help=_(
        "Which address family outgoing delivery tries first when a server has both. Example: ipv4.")),
    # fixed: the disclaimer filter
    Param("content_filter", Kind.TEXT, RELAY, example="mailfilter:[127.0.0.1]:10025", fixed=_STACK, help=_(
        "Sends every message through the disclaimer filter, which hands it back on a second SMTP port.")),
    Param("receive_override_options", Kind.LIST, RELAY, example="no_address_mappings", fixed=_STACK, help=_(
        "Leaves alias expansion to the second pass after the filter, so every message is expanded once.")),
)

LIMITS_PARAMS: tuple[Param, ...] = (
    Param("message_size_limit", Kind.SIZE, LIMITS, unit="bytes", example="26214400", minimum=1024,
          maximum=2147483647, help=_(
        "The largest message accepted, in bytes, headers included; attachments grow by about a third when "
        "encoded. Keep mailbox_size_limit at 0 or above it. Example: 26214400 (25 MiB).")),
    Param("mailbox_size_limit", Kind.SIZE, LIMITS, unit="bytes", example="0", minimum=0,
          maximum=2147483647, help=_(
        "The largest mailbox file Postfix's own delivery agents write, in bytes; 0 means no limit. Mail "
        "goes to Cyrus here, but it must not be below message_size_limit. Example: 0.")),
    Param("header_size_limit", Kind.SIZE, LIMITS, unit="bytes", example="102400", minimum=1024,
          maximum=10485760, help=_(
        "How many bytes of one message header are kept; the rest of an oversized header is dropped. "
        "Example: 102400.")),
    Param("line_length_limit", Kind.SIZE, LIMITS, unit="bytes", example="2048", minimum=1024,
          maximum=1048576, help=_(
        "Lines longer than this many bytes are broken into pieces when mail is received. Example: 2048.")),
    Param("smtpd_recipient_limit", Kind.NUMBER, LIMITS, unit="recipients", example="1000", minimum=1,
          maximum=100000, help=_(
        "How many recipients one message may have when it is received by SMTP; further ones are told to "
        "try again later. Example: 1000.")),
    Param("default_process_limit", Kind.NUMBER, LIMITS, unit="processes", example="100", minimum=1,
          maximum=10000, help=_(
        "How many processes of one service may run at once, for services whose master.cf maxproc column "
        "is -. Example: 100.")),
    Param("smtpd_client_connection_count_limit", Kind.NUMBER, LIMITS, unit="connections", example="50",
          minimum=0, maximum=10000, help=_(
        "How many connections one client may hold open at once; 0 means no limit. By default clients in "
        "mynetworks are exempt. Example: 50.")),
    Param("smtpd_client_connection_rate_limit", Kind.NUMBER, LIMITS, unit="connections", example="60",
          minimum=0, maximum=1000000, help=_(
        "How many connections one client may open per anvil_rate_time_unit; 0 means no limit. Example: 60.")),
    Param("smtpd_client_message_rate_limit", Kind.NUMBER, LIMITS, unit="messages", example="100",
          minimum=0, maximum=1000000, help=_(
        "How many messages one client may send per anvil_rate_time_unit; 0 means no limit. Example: 100.")),
    Param("smtpd_client_recipient_rate_limit", Kind.NUMBER, LIMITS, unit="recipients", example="500",
          minimum=0, maximum=1000000, help=_(
        "How many recipient addresses one client may give per anvil_rate_time_unit; 0 means no limit. "
        "Example: 500.")),
    Param("anvil_rate_time_unit", Kind.TIME, LIMITS, unit="seconds", example="60s", minimum=1, help=_(
        "The period the per-client rate limits are counted over. A bare number counts seconds. Example: "
        "60s.")),
    Param("default_destination_concurrency_limit", Kind.NUMBER, LIMITS, unit="deliveries", example="20",
          minimum=1, maximum=1000, help=_(
        "How many deliveries to one destination may run in parallel, where a transport has no limit of "
        "its own. Example: 20.")),
    Param("default_destination_recipient_limit", Kind.NUMBER, LIMITS, unit="recipients", example="50",
          minimum=1, maximum=100000, help=_(
        "How many recipients one delivery may carry, where a transport has no limit of its own. Example: "
        "50.")),
    Param("hopcount_limit", Kind.NUMBER, LIMITS, unit="headers", example="50", minimum=10, maximum=1000,
          help=_(
        "A message with more Received: headers than this is taken for a mail loop and bounced. Example: "
        "50.")),
    Param("bounce_size_limit", Kind.SIZE, LIMITS, unit="bytes", example="50000", minimum=1,
          maximum=10485760, help=_(
        "How many bytes of an undeliverable message are sent back with the bounce. Example: 50000.")),
    Param("qmgr_message_active_limit", Kind.NUMBER, LIMITS, unit="messages", example="20000", minimum=1,
          maximum=10000000, help=_(
        "How many messages the queue manager works on at the same time (the active queue). Example: 20000."
    )),
    Param("in_flow_delay", Kind.TIME, LIMITS, unit="seconds", example="1s", minimum=0, help=_(
        "How long a process that takes in mail pauses when mail arrives faster than it is delivered; 0 "
        "turns this brake off. A bare number counts seconds. Example: 1s.")),
    Param("queue_minfree", Kind.SIZE, LIMITS, unit="bytes", example="104857600", minimum=0,
          maximum=107374182400, help=_(
        "Free bytes the queue's file system must keep, or mail is refused for now; 0 means only the "
        "built-in check. At least 1.5 times message_size_limit when set. Example: 104857600.")),
)

QUEUE_PARAMS: tuple[Param, ...] = (
    Param("maximal_queue_lifetime", Kind.TIME, QUEUE, unit="days", example="5d", minimum=0, help=_(
        "How long a message that cannot be delivered is retried before it goes back to its sender. A bare "
        "number counts days; 0 means a single attempt. Example: 5d.")),
    Param("bounce_queue_lifetime", Kind.TIME, QUEUE, unit="days", example="2d", minimum=0, help=_(
        "The same for bounces and other mail from the null sender; not longer than maximal_queue_lifetime. "
        "A bare number counts days. Example: 2d.")),
    Param("minimal_backoff_time", Kind.TIME, QUEUE, unit="seconds", example="300s", minimum=1, help=_(
        "The shortest wait before a deferred message is tried again; also how long a failed destination "
        "counts as down. At least queue_run_delay. A bare number counts seconds. Example: 300s.")),
    Param("maximal_backoff_time", Kind.TIME, QUEUE, unit="seconds", example="4000s", minimum=1, help=_(
        "The longest wait between two attempts; the wait doubles after each failure up to this. A bare "
        "number counts seconds. Example: 4000s.")),
    Param("queue_run_delay", Kind.TIME, QUEUE, unit="seconds", example="300s", minimum=1, help=_(
        "How often the deferred queue is scanned for messages due for another attempt. A bare number "
        "counts seconds. Example: 300s.")),
    Param("delay_warning_time", Kind.TIME, QUEUE, unit="hours", example="4h", minimum=0, help=_(
        "After this long in the queue the sender is told the message is delayed but still being tried; 0 "
        "sends no such notice. A bare number counts hours. Example: 4h.")),
    Param("confirm_delay_cleared", Kind.BOOLEAN, QUEUE, example="no", help=_(
        "Whether a sender who was told about a delay hears again once the message is delivered. Example: "
        "no.")),
    Param("defer_transports", Kind.LIST, QUEUE, example="smtp", empty=True, pattern=WORD, help=_(
        "Transports whose mail stays in the queue instead of being delivered, e.g. smtp to hold outgoing "
        "mail during maintenance; empty the list to let it go. Example: smtp.")),
    Param("initial_destination_concurrency", Kind.NUMBER, QUEUE, unit="deliveries", example="5", minimum=1,
          maximum=1000, help=_(
        "How many parallel deliveries a destination gets before it has proved it works; the number then "
        "grows up to the destination's limit. Example: 5.")),
    Param("smtp_connection_cache_on_demand", Kind.BOOLEAN, QUEUE, example="yes", help=_(
        "Whether outgoing connections are kept open and reused while a destination has a backlog of mail. "
        "Example: yes.")),
    Param("transport_retry_time", Kind.TIME, QUEUE, unit="seconds", example="60s", minimum=1, help=_(
        "How long the queue manager waits before it uses a delivery agent again that had a problem. A bare "
        "number counts seconds. Example: 60s.")),
    Param("notify_classes", Kind.LIST, QUEUE, example="resource, software", empty=True,
          pattern=one_of("bounce", "2bounce", "data", "delay", "policy", "protocol", "resource",
                         "software"), help=_(
        "Which problems the postmaster is told about: bounces, failed bounces (2bounce), delays, policy "
        "refusals, protocol errors, resource shortages, software faults. Example: resource, software.")),
    Param("bounce_notice_recipient", Kind.TEXT, QUEUE, example="postmaster@example.com", pattern=ADDRESS,
          help=_(
        "Who receives the postmaster copy of a bounce (notify class bounce). Example: "
        "postmaster@example.com.")),
    Param("2bounce_notice_recipient", Kind.TEXT, QUEUE, example="postmaster@example.com", pattern=ADDRESS,
          help=_(
        "Who receives bounces that could not be delivered themselves (notify class 2bounce). Example: "
        "postmaster@example.com.")),
    Param("delay_notice_recipient", Kind.TEXT, QUEUE, example="postmaster@example.com", pattern=ADDRESS,
          help=_(
        "Who receives the postmaster copy of a delay notice (notify class delay). Example: "
        "postmaster@example.com.")),
    Param("error_notice_recipient", Kind.TEXT, QUEUE, example="postmaster@example.com", pattern=ADDRESS,
          help=_(
        "Who is told about policy, protocol, resource and software problems. Example: "
        "postmaster@example.com.")),
    # fixed: where the console's instance lives
    Param("config_directory", Kind.PATH, QUEUE, example="/etc/postfix", fixed=_STACK, help=_(
        "The directory of main.cf and master.cf; it must be the one Postfix is started with.")),
    Param("queue_directory", Kind.PATH, QUEUE, example="/var/spool/postfix", fixed=_STACK, help=_(
        "The spool directory of the queue, which the queue pages read.")),
    Param("data_directory", Kind.PATH, QUEUE, example="/var/lib/postfix", fixed=_STACK, help=_(
        "Where Postfix keeps its caches and lock files.")),
    Param("maillog_file", Kind.PATH, QUEUE, example="/var/log/postfix.log", fixed=_STACK, help=_(
        "The log file Postfix writes (through postlogd) and the console's log pages read.")),
    Param("enable_long_queue_ids", Kind.BOOLEAN, QUEUE, example="yes", fixed=_(
        "The queue pages use queue ids as keys; long ids are never reused."), help=_(
        "Whether queue ids are long, unique names instead of short ones that may be reused.")),
)

TLS_PARAMS: tuple[Param, ...] = (
    Param("smtpd_tls_security_level", Kind.CHOICE, TLS, example="may", empty=True,
          choices=("none", "may", "encrypt"), help=_(
        "Whether the SMTP server offers STARTTLS: none, may (offered, optional) or encrypt (required; "
        "never on a public port 25). Needs smtpd_tls_cert_file. Example: may.")),
    Param("smtpd_tls_cert_file", Kind.PATH, TLS, example="/etc/ssl/certs/mail.pem", empty=True, help=_(
        "The server's certificate in PEM format, followed by any intermediate certificates. Example: "
        "/etc/ssl/certs/mail.pem.")),
    Param("smtpd_tls_key_file", Kind.PATH, TLS, example="/etc/ssl/private/mail.key", help=_(
        "The private key of smtpd_tls_cert_file in PEM format, readable by root only. Example: "
        "/etc/ssl/private/mail.key.")),
    Param("smtpd_tls_CAfile", Kind.PATH, TLS, example="/etc/ssl/certs/ca-certificates.crt", empty=True,
          help=_(
        "CA certificates in PEM format the server trusts for client certificates; only needed when "
        "clients present one. Example: /etc/ssl/certs/ca-certificates.crt.")),
    Param("smtpd_tls_auth_only", Kind.BOOLEAN, TLS, example="yes", help=_(
        "Whether logins are offered only after STARTTLS, so passwords never cross the network in clear "
        "text. Without a working certificate nobody can log in. Example: yes.")),
    Param("smtpd_tls_loglevel", Kind.NUMBER, TLS, unit="level", example="1", minimum=0, maximum=4, help=_(
        "How much the SMTP server logs about TLS: 0 nothing, 1 one line per connection, 2 and more the "
        "handshake in growing detail. Example: 1.")),
    Param("smtpd_tls_received_header", Kind.BOOLEAN, TLS, example="yes", help=_(
        "Whether the Received: header records the TLS version and cipher of the incoming connection. "
        "Example: yes.")),
    Param("smtpd_tls_protocols", Kind.LIST, TLS, example=">=TLSv1.2", empty=True, pattern=TLS_PROTOCOL,
          help=_(
        "TLS versions the server accepts while TLS is optional, as a range (>=TLSv1.2) or as exclusions "
        "(!SSLv3). Example: >=TLSv1.2.")),
    Param("smtpd_tls_mandatory_protocols", Kind.LIST, TLS, example=">=TLSv1.2", pattern=TLS_PROTOCOL,
          help=_(
        "TLS versions the server accepts where TLS is required (level encrypt). Example: >=TLSv1.2.")),
    Param("smtpd_tls_ciphers", Kind.CHOICE, TLS, example="medium",
          choices=("export", "low", "medium", "high", "null"), help=_(
        "The weakest cipher grade the server accepts while TLS is optional; weak encryption still beats "
        "plain text here. Example: medium.")),
    Param("smtpd_tls_mandatory_ciphers", Kind.CHOICE, TLS, example="high",
          choices=("export", "low", "medium", "high", "null"), help=_(
        "The weakest cipher grade the server accepts where TLS is required. Example: high.")),
    Param("smtpd_starttls_timeout", Kind.TIME, TLS, unit="seconds", example="300s", minimum=1, help=_(
        "How long the server waits for a TLS handshake, and for each step of it, before it gives up. A bare "
        "number counts seconds. Example: 300s.")),
    Param("smtp_tls_security_level", Kind.CHOICE, TLS, example="may", empty=True,
          choices=("none", "may", "encrypt", "dane", "dane-only", "fingerprint", "verify", "secure"), help=_(
        "How outgoing delivery uses TLS: none, may (when offered), encrypt (always), dane, or verify and "
        "secure (the certificate is checked). Example: may.")),
    Param("smtp_tls_CAfile", Kind.PATH, TLS, example="/etc/ssl/certs/ca-certificates.crt", empty=True,
          help=_(
        "CA certificates in PEM format that outgoing delivery trusts when it checks a server's certificate. "
        "Example: /etc/ssl/certs/ca-certificates.crt.")),
    Param("smtp_tls_loglevel", Kind.NUMBER, TLS, unit="level", example="1", minimum=0, maximum=4, help=_(
        "How much outgoing delivery logs about TLS: 0 nothing, 1 one line per connection, more for "
        "debugging. Example: 1.")),
    Param("smtp_tls_protocols", Kind.LIST, TLS, example=">=TLSv1.2", empty=True, pattern=TLS_PROTOCOL,
          help=_(
        "TLS versions outgoing delivery uses while TLS is optional, as a range or as exclusions. Example: "
        ">=TLSv1.2.")),
    Param("smtp_tls_note_starttls_offer", Kind.BOOLEAN, TLS, example="yes", help=_(
        "Whether outgoing delivery logs the servers that offered STARTTLS while TLS was off, which shows "
        "where it could be turned on. Example: yes.")),
    Param("tls_preempt_cipherlist", Kind.BOOLEAN, TLS, example="no", help=_(
        "Whether the server's order of ciphers wins over the client's during the handshake. Example: no.")),
    Param("tls_ssl_options", Kind.LIST, TLS, example="NO_RENEGOTIATION, NO_COMPRESSION", empty=True,
          pattern=re.compile(r"[A-Z][A-Z0-9_]{0,63}|0x[0-9A-Fa-f]{1,16}"), help=_(
        "OpenSSL options switched on for every TLS connection, by name or as a hex mask. Example: "
        "NO_RENEGOTIATION, NO_COMPRESSION.")),
)
# fmt: on

POSTFIX = Registry(
    service="postfix",
    title=_("Postfix"),
    file="main.cf",
    groups=GROUPS,
    params=(
        *LOCAL_PARAMS,
        *SMTPD_PARAMS,
        *UCE_PARAMS,
        *RELAY_PARAMS,
        *LIMITS_PARAMS,
        *QUEUE_PARAMS,
        *TLS_PARAMS,
        *LDAP_PARAMS,
        *CHECKS_PARAMS,
    ),
)
