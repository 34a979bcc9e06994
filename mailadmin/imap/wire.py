"""What goes on the wire and comes back: quoting of names and identifiers, decoding of names, and Cyrus's
refusals in a form fit for a message. No connection here (see mailadmin/imap/__init__.py).

The one module of the gateway that imports `imapclient`: the others take the library's names from here, so
the gateway's dependency on it has one door."""

from __future__ import annotations

import re

from imapclient import IMAPClient, imap_utf7
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError, LoginError
from imapclient.imapclient import Namespace
from imapclient.imapclient import Quota as IMAPQuota
from imapclient.response_parser import parse_response

__all__ = [
    "IMAPClient",
    "IMAPClientAbortError",
    "IMAPClientError",
    "IMAPQuota",
    "LoginError",
    "Namespace",
    "decode_name",
    "failure",
    "parse_response",
    "quote_id",
    "quote_name",
]

# A name that can go inside a quoted string as it is: no quotes, backslashes or control characters.
QUOTABLE = re.compile(r'[^"\\\x00-\x1f\x7f]*')


def quote_name(name: str) -> bytes:
    # Folder names were checked (no quotes, backslashes or line breaks); modified UTF-7 makes them ASCII.
    return b'"' + imap_utf7.encode(name) + b'"'


def quote_id(who: str) -> bytes:
    # Checked by check_acl_identifier (ASCII, no quotes, backslashes or controls): a quoted string is safe.
    return b'"' + who.encode("ascii") + b'"'


def decode_name(value: object) -> str:
    # parse_response gives bytes, or an int for an all-digit folder name.
    if isinstance(value, bytes):
        return imap_utf7.decode(value)
    return str(value)


def failure(exc: Exception) -> str:
    # Cyrus answers "<command> failed: <reason>"; the reason alone reads well.
    message = str(exc)
    if isinstance(exc, IMAPClientError) and "failed:" in message:
        message = message.split("failed:", 1)[1]
    return " ".join(message.split())[:200]
