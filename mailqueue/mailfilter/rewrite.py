"""Add a disclaimer to a message: once to each text/plain and text/html body part, in the part's charset.

Pure functions on bytes, no I/O. A message is returned unchanged (None) when it must not be touched:
signed or encrypted (multipart/signed, multipart/encrypted, S/MIME application/pkcs7-mime, inline PGP), it
carries the marker header already (re-injected, or looped back), or a body part cannot be decoded in the
charset it claims (better no disclaimer than a damaged message).
"""

from __future__ import annotations

import base64
import quopri
import re
from dataclasses import dataclass
from email import message_from_bytes
from email.generator import BytesGenerator
from email.message import Message
from email.policy import compat32
from io import BytesIO

MARKER = "X-Mailadmin-Disclaimer"

_SIGNED_TYPES = frozenset(
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
_INLINE_PGP = re.compile(rb"^-----BEGIN PGP (SIGNED )?MESSAGE-----", re.MULTILINE)
_KNOWN_CTE = frozenset({"7bit", "8bit", "binary", "quoted-printable", "base64", ""})
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)
# compat32 keeps the headers as they came (no refolding with maxheaderlen=0); CRLF as SMTP wants it.
_POLICY = compat32.clone(linesep="\r\n")


@dataclass(frozen=True)
class Disclaimer:
    key: str  # what the marker header names (the owner's DN)
    text: str  # for text/plain parts
    html: str  # sanitised HTML fragment for text/html parts


class Untouched(Exception):
    """The message must go on exactly as it came."""


def is_signed_or_encrypted(msg: Message) -> bool:
    return any(part.get_content_type() in _SIGNED_TYPES for part in msg.walk())


def add_disclaimer(raw: bytes, disclaimer: Disclaimer) -> bytes | None:
    """The message with the disclaimer added, or None when it must stay as it is."""
    if _INLINE_PGP.search(raw):
        return None
    msg = message_from_bytes(raw, policy=compat32)
    if msg.get(MARKER) is not None or is_signed_or_encrypted(msg) or msg.defects:
        return None
    headers = msg.items()
    try:
        changed = _visit(msg, disclaimer)
    except Untouched:
        return None
    if not changed:
        return None
    key = disclaimer.key.replace("\r", "").replace("\n", "")
    out = BytesIO()
    end = raw.find(b"\r\n\r\n")
    if end > 0 and key.isascii() and msg.items() == headers:
        # The top-level headers did not change (a multipart message: only parts were rewritten): write them
        # as they came instead of re-folding every Received line, which was a sixth of the filter's time.
        top = raw[: end + 2] + f"{MARKER}: {key}\r\n".encode("ascii")
        _RawTopGenerator(out, msg, top).flatten(msg)
    else:
        msg[MARKER] = key
        BytesGenerator(out, mangle_from_=False, maxheaderlen=0, policy=_POLICY).flatten(msg)
    return out.getvalue()


class _RawTopGenerator(BytesGenerator):
    """Writes the given bytes as the top-level message's header block; every part is generated as usual."""

    def __init__(self, out: BytesIO, top: Message, header_block: bytes) -> None:
        super().__init__(out, mangle_from_=False, maxheaderlen=0, policy=_POLICY)
        self._top = top
        self._header_block = header_block

    def _write_headers(self, msg: Message) -> None:
        if msg is self._top:
            self._fp.write(self._header_block)  # type: ignore[attr-defined]
            self.write(self._NL)  # type: ignore[attr-defined]
        else:
            super()._write_headers(msg)  # type: ignore[misc]

    def clone(self, fp: BytesIO) -> BytesGenerator:  # type: ignore[override]
        return BytesGenerator(fp, mangle_from_=False, maxheaderlen=0, policy=_POLICY)


def _visit(part: Message, disclaimer: Disclaimer) -> bool:
    """Walk the body parts; never into an attached message (message/rfc822: someone else's mail)."""
    if part.get_content_maintype() == "message":
        return False
    if part.is_multipart():
        changed = False
        for sub in part.get_payload():
            if isinstance(sub, Message):
                changed = _visit(sub, disclaimer) or changed
        return changed
    ctype = part.get_content_type()
    if ctype not in ("text/plain", "text/html"):
        return False
    if (part.get_content_disposition() or "inline") == "attachment":
        return False
    _append(part, disclaimer.html if ctype == "text/html" else disclaimer.text, html=ctype == "text/html")
    return True


def _append(part: Message, addition: str, *, html: bool) -> None:
    cte = str(part.get("Content-Transfer-Encoding", "7bit")).strip().lower()
    if cte not in _KNOWN_CTE:
        raise Untouched  # x-uuencode and friends: leave alone
    # decode=True gives the bytes as they were for 7bit/8bit (get_payload without it would decode 8bit text
    # with the charset already) and decodes base64/quoted-printable; a broken encoding shows as a defect.
    defects = len(part.defects)
    body = part.get_payload(decode=True)
    if not isinstance(body, bytes) or len(part.defects) > defects:
        raise Untouched
    charset = part.get_content_charset() or "us-ascii"
    try:
        text = body.decode(charset)
    except (LookupError, UnicodeDecodeError) as exc:
        raise Untouched from exc
    # "\n" inside; the generator writes CRLF. base64 keeps the canonical CRLF form of text (RFC 2045).
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
    try:
        encoded = text.encode(charset)
    except UnicodeEncodeError:
        if html:  # HTML can say any character in any charset
            encoded = text.encode(charset, errors="xmlcharrefreplace")
        else:  # plain text cannot: the part becomes UTF-8
            encoded = text.encode("utf-8")
            part.set_param("charset", "utf-8")
    _set_body(part, encoded, cte)


def _set_body(part: Message, body: bytes, cte: str) -> None:
    """Keep the part's transfer encoding where it still fits: base64 stays base64, 7bit that became
    non-ASCII turns quoted-printable (lines stay short for any relay)."""
    if cte == "base64":
        payload = base64.encodebytes(body).decode("ascii")
    elif cte == "quoted-printable" or (cte in ("7bit", "") and not body.isascii()):
        payload = quopri.encodestring(body).decode("ascii")
        cte = "quoted-printable"
    else:  # 8bit, binary, or 7bit that is still ASCII
        payload = body.decode("ascii", errors="surrogateescape")
    del part["Content-Transfer-Encoding"]
    part["Content-Transfer-Encoding"] = cte if cte else "7bit"
    part.set_payload(payload)
