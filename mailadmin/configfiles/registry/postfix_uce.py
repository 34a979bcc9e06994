"""The "UCE controls" group of the Postfix registry (CFG-02): the checks on a client's HELO, envelope sender
and recipients, DNS blocklists, strict envelopes and VRFY, as the SCOoffice manual's Configuration → Postfix →
UCE Controls offered them. The header and body checks have pages of their own.

Two entries are the console's own names, not Postfix parameters (each is rendered into main.cf and referenced
as `$name` from smtpd_recipient_restrictions, so Postfix counts it as used):
- `mailadmin_uce_recipient_checks`: recipient checks placed after the relay rules' policy check and before the
  console's alias-sender and local-only checks (which may end the list with OK);
- `mailadmin_uce_rbl_sites`: blocklist zones; main.cf gets `mailadmin_uce_rbl_checks` = one
  `reject_rbl_client <zone>` per zone, which the submission service empties (logged-in users are not
  blocklisted by their dial-up address). See mailadmin/configfiles/postfix/restrictions.py (with_uce_checks).

Permits are not offered in the recipient checks: a permit would end smtpd_recipient_restrictions before the
console's own checks.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext_lazy as _

from mailadmin.configfiles.postfix.params import RBL_ZONE, UCE_RBL_SITES, UCE_RECIPIENT_CHECKS
from mailadmin.configfiles.registry import Kind, Param

UCE = "uce"
RECIPIENT_CHECKS = UCE_RECIPIENT_CHECKS
RBL_SITES = UCE_RBL_SITES


def _one_of(*words: str) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(w) for w in words))


# fmt: off
UCE_PARAMS: tuple[Param, ...] = (
    Param("smtpd_helo_required", Kind.BOOLEAN, UCE, example="yes", help=_(
        "Whether a client must introduce itself with HELO or EHLO before MAIL FROM; many spam tools do not. "
        "Example: yes.")),
    Param("smtpd_helo_restrictions", Kind.LIST, UCE, empty=True,
          example="permit_mynetworks, reject_invalid_helo_hostname, reject_non_fqdn_helo_hostname",
          pattern=_one_of("permit_mynetworks", "permit_sasl_authenticated", "reject_invalid_helo_hostname",
                          "reject_non_fqdn_helo_hostname", "reject_unknown_helo_hostname", "warn_if_reject",
                          "permit"), help=_(
        "Checks on the name a client gives in HELO/EHLO, in order: a name that is no valid host name, not "
        "fully qualified, or has no DNS record. A client that skips HELO escapes them unless "
        "smtpd_helo_required is on. Port 25 only: users who log in on the submission port are not checked. "
        "Example: permit_mynetworks, reject_invalid_helo_hostname, reject_non_fqdn_helo_hostname.")),
    Param("smtpd_client_restrictions", Kind.LIST, UCE, empty=True,
          example="permit_mynetworks, reject_unknown_reverse_client_hostname",
          pattern=_one_of("permit_mynetworks", "permit_sasl_authenticated", "reject_unknown_client_hostname",
                          "reject_unknown_reverse_client_hostname", "reject_unauth_pipelining",
                          "warn_if_reject", "permit", "reject"), help=_(
        "Checks on the connecting client, in order; an unknown or unresolvable client can be refused here. "
        "Example: permit_mynetworks, reject_unknown_reverse_client_hostname.")),
    Param("smtpd_sender_restrictions", Kind.LIST, UCE, empty=True,
          example="reject_non_fqdn_sender, reject_unknown_sender_domain",
          pattern=_one_of("permit_mynetworks", "permit_sasl_authenticated", "reject_non_fqdn_sender",
                          "reject_unknown_sender_domain", "reject_unlisted_sender",
                          "reject_unauth_pipelining", "warn_if_reject", "permit"), help=_(
        "Checks on the MAIL FROM address at port 25, in order: an address without a full domain, or whose "
        "domain has no DNS record (mail to it could never be answered). The submission port keeps its own "
        "check that a login sends only as its own addresses. "
        "Example: reject_non_fqdn_sender, reject_unknown_sender_domain.")),
    Param(RECIPIENT_CHECKS, Kind.LIST, UCE, empty=True,
          example="reject_non_fqdn_recipient, reject_unknown_recipient_domain, reject_unauth_pipelining",
          pattern=_one_of("reject_non_fqdn_recipient", "reject_unknown_recipient_domain",
                          "reject_unauth_pipelining", "reject_unlisted_recipient", "warn_if_reject"), help=_(
        "Recipient checks of the console's own list (smtpd_recipient_restrictions), in order. They run after "
        "the relay rules and before the alias and local-only checks: a recipient address without a full "
        "domain, a domain without a DNS record, a client that talks before it is asked to. No permit here: "
        "it would skip the console's checks. "
        "Example: reject_non_fqdn_recipient, reject_unknown_recipient_domain, reject_unauth_pipelining.")),
    Param(RBL_SITES, Kind.LIST, UCE, empty=True, example="zen.spamhaus.org, bl.spamcop.net", pattern=RBL_ZONE,
          help=_(
        "DNS blocklists (RBL) asked about every client on port 25, in order: a listed client is refused "
        "at RCPT TO with maps_rbl_reject_code. Logged-in users on the submission port are not asked about. "
        "Each lookup needs working DNS; a zone that does not answer lets the mail through. "
        "Example: zen.spamhaus.org, bl.spamcop.net.")),
    Param("maps_rbl_reject_code", Kind.NUMBER, UCE, unit="SMTP code", example="554", minimum=400,
          maximum=599, help=_(
        "The reply code when a blocklist lists the client; a 4xx code makes senders retry, which is safer "
        "while trying a new list. Example: 554.")),
    Param("smtpd_data_restrictions", Kind.LIST, UCE, example="reject_unauth_pipelining", empty=True,
          pattern=_one_of("reject_unauth_pipelining", "reject_multi_recipient_bounce", "permit_mynetworks",
                          "warn_if_reject", "permit"), help=_(
        "Checks made when the client sends DATA, in order: for example refusing clients that talk before "
        "they are asked to. Example: reject_unauth_pipelining.")),
    Param("strict_rfc821_envelopes", Kind.BOOLEAN, UCE, example="no", help=_(
        "Whether MAIL FROM and RCPT TO must be written exactly as the standard says (angle brackets, no "
        "comments). Some sloppy software then cannot send. Example: no.")),
    Param("disable_vrfy_command", Kind.BOOLEAN, UCE, example="yes", help=_(
        "Whether the VRFY command is switched off, so nobody can ask the server which addresses exist. "
        "Example: yes.")),
    Param("smtpd_reject_unlisted_sender", Kind.BOOLEAN, UCE, example="yes", help=_(
        "Whether a MAIL FROM address in a hosted domain is refused when no account or alias has it, which "
        "stops forged local senders. Example: yes.")),
    Param("unknown_client_reject_code", Kind.NUMBER, UCE, unit="SMTP code", example="450", minimum=400,
          maximum=599, help=_(
        "The reply code when reject_unknown_client_hostname refuses a client; a 4xx code lets it retry, "
        "which is safer while DNS trouble is possible. Example: 450.")),
    Param("unknown_hostname_reject_code", Kind.NUMBER, UCE, unit="SMTP code", example="450",
          minimum=400, maximum=599, help=_(
        "The reply code when reject_unknown_helo_hostname refuses a HELO name that has no DNS record. "
        "Example: 450.")),
    Param("unknown_address_reject_code", Kind.NUMBER, UCE, unit="SMTP code", example="450", minimum=400,
          maximum=599, help=_(
        "The reply code when a sender or recipient domain has no DNS record "
        "(reject_unknown_sender_domain, reject_unknown_recipient_domain). Example: 450.")),
)
# fmt: on
