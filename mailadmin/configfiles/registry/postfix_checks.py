"""The header and body checks group of the Postfix registry (CFG-02): one stored value per rule table.

These are not main.cf parameters. Each holds a table's rules as JSON (mailadmin/configfiles/postfix/checks.py
checks and renders them); the stack's Postfix writes the table into its own `.pcre` file and main.cf names
that file under the real parameter (header_checks = pcre:/.../header_checks.pcre). The rules have their own
pages (Configuration -> UCE controls), so the generic parameter form leaves this group out.

The help texts of the actions are here too, so the pages and the docs say the same thing.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from mailadmin.configfiles.postfix.checks import TABLES
from mailadmin.configfiles.registry import Kind, Param

CHECKS = "checks"

TITLES = {
    "header_checks": _("Header checks"),
    "mime_header_checks": _("MIME header checks"),
    "nested_header_checks": _("Nested header checks"),
    "body_checks": _("Body checks"),
}

# fmt: off
HELP = {
    "header_checks": _(
        "Rules for the message's own header lines (Subject:, From:, Received:, ...), each seen as one line "
        "with its continuation lines joined. Example: ^Subject:.*viagra -> REJECT."),
    "mime_header_checks": _(
        "Rules for the MIME headers of the message and of each attachment (Content-Type:, "
        "Content-Disposition:, ...), tried before the header checks, which look at these lines too. Example: "
        "^Content-Disposition:.*filename=.*\\.(exe|scr)\" -> REJECT."),
    "nested_header_checks": _(
        "Rules for the headers of messages attached to the message (a forwarded mail), tried before the "
        "header checks, which look at these lines too. Example: ^Subject:.*invoice -> WARN."),
    "body_checks": _(
        "Rules for each line of the body as it travels, before any base64 or quoted-printable decoding; "
        "only the first body_checks_size_limit bytes of each part are looked at. Example: "
        "cheap pills -> DISCARD."),
}

ACTION_HELP = {
    "REJECT": _(
        "Refuse the whole message at the end of DATA; the client gets a 5xx reply with the text (Postfix "
        "writes \"Message content rejected\" when there is none)."),
    "IGNORE": _("Drop this line from the message and go on with the next; takes no text."),
    "WARN": _(
        "Only write a warning with the line and the text to the mail log; the message goes on. Good for "
        "trying a rule before it refuses anything."),
    "HOLD": _(
        "Take the message and put it into the hold queue, where it waits until someone releases or deletes "
        "it on the queue page; the text goes to the log."),
    "DISCARD": _(
        "Take the message and throw it away, telling the client it was delivered; the text goes to the log. "
        "Nobody is told, so use it with care."),
    "FILTER": _(
        "Deliver the message through another transport and next hop, given as transport:nexthop (e.g. "
        "smtp:[127.0.0.1]:10025), instead of the content filter; the last FILTER that matches wins."),
    "PREPEND": _(
        "Add the text as a line before this one: in a header table a header such as X-Checked: yes, in the "
        "body table any line. No rule looks at the added line itself."),
    "REDIRECT": _(
        "Send the message to the given address instead of its recipients (e.g. quarantine@example.com); "
        "the original recipients do not get it."),
}
# fmt: on


def _param(table_main_cf: str, param: str) -> Param:
    return Param(param, Kind.RULES, CHECKS, help=HELP[table_main_cf], example="[]")


CHECKS_PARAMS: tuple[Param, ...] = tuple(_param(t.main_cf, t.param) for t in TABLES)
