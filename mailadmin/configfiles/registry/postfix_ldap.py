"""The LDAP group of the Postfix registry: settings of the `ldap:` lookup table files (ldap_table(5)), not of
main.cf. Each `ldap_<setting>` entry goes into every table file the console renders as `<setting> = value`:
server_host, search_base (the base DN; each table searches its branch below it), bind_dn and bind_pw through
PostfixMaps' fields, the others through postfix_tables.MENU_SETTINGS. main.cf has no parameter starting with
`ldap_` (test_registry_postfix.py checks), so the prefix cannot collide. The table renderer refuses `%` in
every setting (ldap_table expands it), the password included.

What each table asks the directory (its query_filter and result_attribute) belongs to the directory contract
(mailadmin/configfiles/contract.py). Those are shown, never edited: one pair of fixed entries per table,
made from contract.TABLES so they cannot drift from what is rendered.
"""

from __future__ import annotations

import re

from django.utils.functional import Promise
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from mailadmin.configfiles import contract
from mailadmin.configfiles.registry import Kind, Param

LDAP = "ldap"

# The shape mailadmin.configfiles.values.ldap_uri accepts (the renderer checks server_host with it).
LDAP_URI = re.compile(
    r"(?:ldaps?://(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?|ldapi://[A-Za-z0-9%._-]*)/?"
)

# fmt: off
SETTINGS: tuple[Param, ...] = (
    Param("ldap_server_host", Kind.TEXT, LDAP, example="ldaps://ldap.example.com:636", pattern=LDAP_URI,
          help=_(
        "The directory server the lookup tables ask, as one ldap://, ldaps:// or ldapi:// URI with an "
        "optional port. Example: ldaps://ldap.example.com:636.")),
    # Postfix passes a URI to OpenLDAP as it is and adds server_port only to a bare host name, which the
    # console never writes: an editable port would change nothing.
    Param("ldap_server_port", Kind.NUMBER, LDAP, unit="port", example="389", minimum=1, maximum=65535,
          fixed=_("ldap_server_host is always a URI, and a URI's own port (or its scheme's standard port) "
                  "wins; write the port there."), help=_(
        "The port for a server given as a bare host name. With the URI form the console writes, the port "
        "comes from the URI: ldap://host:389, ldaps://host:636.")),
    Param("ldap_search_base", Kind.DN, LDAP, example="dc=example,dc=com", help=_(
        "The base DN of the mail directory; each table searches its own branch below it, for example "
        "ou=domains under this base. Example: dc=example,dc=com.")),
    Param("ldap_bind_dn", Kind.DN, LDAP, example="cn=postfix,ou=services,dc=example,dc=com", help=_(
        "The entry the tables log in as; it needs to read the mail attributes, nothing more. Example: "
        "cn=postfix,ou=services,dc=example,dc=com.")),
    Param("ldap_bind_pw", Kind.SECRET, LDAP, forbid="%", example="secret123", help=_(
        "The password of ldap_bind_dn. It is written into every table file (readable by root and the "
        "postfix group only); no spaces or percent signs. Example: a long random string.")),
    Param("ldap_timeout", Kind.NUMBER, LDAP, unit="seconds", example="5", minimum=1, maximum=300, help=_(
        "How many seconds one search may take; a lookup that times out defers the mail, nothing is lost. "
        "A bare number of seconds, no unit letter. Example: 5.")),
    Param("ldap_version", Kind.CHOICE, LDAP, example="3", choices=("2", "3"), help=_(
        "The LDAP protocol version the tables speak. Keep 3: ldaps://, STARTTLS and current servers need "
        "it. Example: 3.")),
    Param("ldap_size_limit", Kind.NUMBER, LDAP, unit="entries", example="100", minimum=0, maximum=100000,
          help=_(
        "How many entries one search may return before the lookup fails; 0 means no limit. One alias is "
        "one entry however many members it has. Example: 100.")),
    Param("ldap_start_tls", Kind.BOOLEAN, LDAP, example="yes", help=_(
        "Whether an ldap:// connection is switched to TLS with STARTTLS before the tables log in. Not for "
        "ldaps:// or ldapi://. Example: yes.")),
    Param("ldap_tls_require_cert", Kind.BOOLEAN, LDAP, example="yes", help=_(
        "Whether the directory server's certificate must be valid and signed by a trusted CA when TLS is "
        "used. Example: yes.")),
    Param("ldap_tls_ca_cert_file", Kind.PATH, LDAP, forbid="%", example="/etc/ssl/certs/ca-certificates.crt",
          help=_(
        "CA certificates in PEM format the tables trust for the directory server's certificate. Example: "
        "/etc/ssl/certs/ca-certificates.crt.")),
    Param("ldap_bind", Kind.CHOICE, LDAP, example="yes", choices=("yes", "no", "sasl"), fixed=_(
        "The console's tables always log in (simple bind) with ldap_bind_dn and ldap_bind_pw."), help=_(
        "Whether and how the tables log in to the directory before they search.")),
)

# What each table of the contract answers, by table name.
_ANSWERS: dict[str, str | Promise] = {
    "domains": _(
        "For virtual_mailbox_domains: it answers for every domain that has a domain entry, i.e. the "
        "domains hosted here."),
    "accounts": _(
        "For virtual_alias_maps: every address of an enabled account (its mail or mailAlias values) "
        "answers <login>@<mailbox domain>."),
    "addr-forwards-keep": _(
        "For virtual_alias_maps, before accounts: an address of an account that forwards and keeps a "
        "copy answers the forward targets plus the login."),
    "addr-forwards": _(
        "For virtual_alias_maps, before accounts: an address of an account that forwards without keeping "
        "a copy answers the forward targets only."),
    "addr-system-aliases": _(
        "For virtual_alias_maps, late: a system alias such as postmaster answers its members, in every "
        "hosted domain and in no other."),
    "addr-catch-all": _(
        "For virtual_alias_maps, late: any unknown address of a domain that has a catch-all answers the "
        "catch-all target."),
    "addr-alias-domain-rewrite": _(
        "For virtual_alias_maps, last: an address in an alias domain answers the same local part in the "
        "domain it stands for."),
    "addr-alias-domains": _(
        "For virtual_alias_domains: it answers for every alias domain, so mail to it is accepted."),
    "ali-members": _(
        "For virtual_alias_maps: the address of an alias of a domain answers the alias's members."),
    "ali-restricted": _(
        "For the recipient checks: a Restricted alias answers the class that lets only senders of its "
        "own domain write to it."),
    "ali-closed": _(
        "For the recipient checks: an alias without Open Membership answers the class that lets only "
        "senders of hosted domains write to it."),
    "mailboxes": _(
        "For virtual_mailbox_maps: <login>@<mailbox domain> answers when an enabled account has that "
        "login."),
    "sender-logins": _(
        "For smtpd_sender_login_maps: a sender address answers the login that owns it, so a login can "
        "only send as its own addresses."),
    "local-domains": _(
        "For the local-only and alias sender classes: an address of a hosted domain answers OK."),
    "send-local-only-logins": _(
        "For the submission service: a login with Send only local mail answers the class that allows "
        "local recipients only."),
    "send-local-only-senders": _(
        "For the sender checks: an address of an account with Send only local mail answers that class."),
    "receive-local-only": _(
        "For the recipient checks: an address of an account with Receive only local mail answers the "
        "class that takes mail from local senders only."),
    "receive-local-only-mailboxes": _(
        "For the recipient checks: the delivery address <login>@<mailbox domain> of such an account "
        "answers the same class, so it is not a way around the flag."),
}
# fmt: on

_CONTRACT = _("part of the directory contract")


def table_params(spec: contract.TableSpec) -> tuple[Param, Param]:
    """The fixed query_filter and result_attribute entries of one table (`-` in its name becomes `_`)."""
    key = spec.name.replace("-", "_")
    answers = _ANSWERS[spec.name]
    return (
        Param(
            f"ldap_{key}_query_filter",
            Kind.TEXT,
            LDAP,
            format_lazy(
                _("The search filter of the {table} table. {answers}"), table=spec.name, answers=answers
            ),
            example=spec.query_filter,
            fixed=_CONTRACT,
        ),
        Param(
            f"ldap_{key}_result_attribute",
            Kind.TEXT,
            LDAP,
            format_lazy(
                _("The attribute(s) the {table} table returns. {answers}"), table=spec.name, answers=answers
            ),
            example=spec.result_attribute,
            fixed=_CONTRACT,
        ),
    )


TABLE_PARAMS: tuple[Param, ...] = tuple(p for spec in contract.TABLES for p in table_params(spec))
LDAP_PARAMS: tuple[Param, ...] = (*SETTINGS, *TABLE_PARAMS)
