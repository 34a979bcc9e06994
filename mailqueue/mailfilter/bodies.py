"""What both ways of rewriting a message share (rewrite.py with the email package, fastmime.py on bytes): the
disclaimer, the types never touched, and the one function that adds the text to a decoded body part."""

from __future__ import annotations

import base64
import quopri
import re
from dataclasses import dataclass

MARKER = "X-Mailadmin-Disclaimer"

SIGNED_TYPES = frozenset(
    {
        "multipart/signed",
        "multipart/encrypted",
        "application/pkcs7-mime",
        "application/x-pkcs7-mime",
        "application/pkcs7-signature",
        "application/x-pkcs7-signature",
        "application/pgp-encrypted",
        "application/pgp-signature",
    }
)
INLINE_PGP = re.compile(rb"^-----BEGIN PGP (SIGNED )?MESSAGE-----", re.MULTILINE)
KNOWN_CTE = frozenset({"7bit", "8bit", "binary", "quoted-printable", "base64", ""})
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)


@dataclass(frozen=True)
class Disclaimer:
    key: str  # what the marker header names (the owner's DN)
    text: str  # for text/plain parts
    html: str  # sanitised HTML fragment for text/html parts


class Untouched(Exception):
    """The message must go on exactly as it came."""


@dataclass(frozen=True)
class NewBody:
    payload: str  # "\n" line ends; the writer turns them into CRLF
    cte: str  # the transfer encoding the payload is in ("" stays "": no header was there)
    utf8: bool  # plain text that could not be said in its charset: the part's charset is now utf-8


def with_addition(body: bytes, charset: str, cte: str, addition: str, *, html: bool) -> NewBody:
    """`body` (already transfer-decoded) with `addition` at its end, or before the last </body> of HTML,
    encoded again. Raises Untouched when the body does not decode in the charset it claims."""
    try:
        text = body.decode(charset)
    except (LookupError, UnicodeDecodeError) as exc:
        raise Untouched from exc
    # "\n" inside; the writers put CRLF. base64 keeps the canonical CRLF form of text (RFC 2045).
    text = text.replace("\r\n", "\n")
    addition = addition.replace("\r\n", "\n").replace("\r", "\n")
    if html:
        fragment = f'\n<div class="mailadmin-disclaimer">{addition}</div>\n'
        ends = list(_BODY_END.finditer(text))
        text = text[: ends[-1].start()] + fragment + text[ends[-1].start() :] if ends else text + fragment
    else:
        if text and not text.endswith("\n"):
            text += "\n"
        text += "\n" + addition + "\n"
    if cte == "base64":
        text = text.replace("\n", "\r\n")
    utf8 = False
    try:
        encoded = text.encode(charset)
    except UnicodeEncodeError:
        if html:  # HTML can say any character in any charset
            encoded = text.encode(charset, errors="xmlcharrefreplace")
        else:  # plain text cannot: the part becomes UTF-8
            encoded = text.encode("utf-8")
            utf8 = True
    return _encoded(encoded, cte, utf8)


def _encoded(body: bytes, cte: str, utf8: bool) -> NewBody:
    """Keep the part's transfer encoding where it still fits: base64 stays base64, 7bit that became
    non-ASCII turns quoted-printable (lines stay short for any relay)."""
    if cte == "base64":
        return NewBody(base64.encodebytes(body).decode("ascii"), cte, utf8)
    if cte == "quoted-printable" or (cte in ("7bit", "") and not body.isascii()):
        return NewBody(quopri.encodestring(body).decode("ascii"), "quoted-printable", utf8)
    # 8bit, binary, or 7bit that is still ASCII
    return NewBody(body.decode("ascii", errors="surrogateescape"), cte, utf8)
