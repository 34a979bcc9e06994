"""Postfix policy server (policy delegation protocol) for Restricted aliases (ALI-03): "only senders of the
same domain may write to this alias".

Postfix asks it only for recipients that its `ldap:` trigger table found to be a Restricted alias (restriction
class `mailadmin_alias_same_domain`), so the one question left is whether the envelope sender's domain is the
recipient's domain — a comparison of two attributes of the request, which no lookup table can make (a table
sees one key). No directory access, no Django: Postfix runs this file with the system interpreter through
spawn(8) as an unprivileged user, one process per smtpd connection, and talks over stdin/stdout.

Standard library only, on purpose: it must start fast and must not read the console's settings or secrets.
"""

from __future__ import annotations

import sys
from typing import TextIO

MAX_LINE = 4096  # Postfix's attributes are far shorter; a longer line is not a request we understand
MAX_ATTRS = 200


def domain_of(address: str) -> str:
    """The domain part, lower-case; "" for the null sender or an address without one."""
    local, at, domain = address.strip().rpartition("@")
    return domain.strip().rstrip(".").lower() if at and local else ""


def decide(request: dict[str, str]) -> str:
    """The action for one request: DUNNO (no objection; the restriction list goes on) or a 5xx REJECT."""
    recipient_domain = domain_of(request.get("recipient", ""))
    sender_domain = domain_of(request.get("sender", ""))
    if recipient_domain and sender_domain == recipient_domain:
        return "DUNNO"
    # The reply text names the rule only; the domain comes from our own table hit, never from the sender.
    if recipient_domain and all(c.isalnum() or c in ".-" for c in recipient_domain):
        return f"REJECT 5.7.1 Only senders in {recipient_domain} may write to this alias"
    return "REJECT 5.7.1 Only senders of the same domain may write to this alias"


def serve(stdin: TextIO, stdout: TextIO) -> None:
    request: dict[str, str] = {}
    for raw in stdin:
        line = raw[:MAX_LINE].rstrip("\r\n")
        if line:
            name, sep, value = line.partition("=")
            if sep and len(request) < MAX_ATTRS:
                request[name] = value
            continue
        stdout.write(f"action={decide(request)}\n\n")
        stdout.flush()
        request = {}


if __name__ == "__main__":
    serve(sys.stdin, sys.stdout)
