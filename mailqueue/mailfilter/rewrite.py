"""Add a disclaimer to a message: once to each text/plain and text/html body part, in the part's charset.

Pure functions on bytes, no I/O. A message is returned unchanged (None) when it must not be touched:
signed or encrypted (multipart/signed, multipart/encrypted, S/MIME application/pkcs7-mime, inline PGP), it
carries the marker header already (re-injected, or looped back), or a body part cannot be decoded in the
charset it claims (better no disclaimer than a damaged message).
"""

from __future__ import annotations

from email import message_from_bytes
from email.generator import BytesGenerator
from email.message import Message
from email.policy import compat32
from io import BytesIO

from mailqueue.mailfilter import fastmime
from mailqueue.mailfilter.bodies import (
    INLINE_PGP,
    KNOWN_CTE,
    MARKER,
    SIGNED_TYPES,
    Disclaimer,
    Untouched,
    with_addition,
)

__all__ = ["MARKER", "Disclaimer", "add_disclaimer", "add_disclaimer_parsed", "is_signed_or_encrypted"]

MAX_CONTENT_TYPE = 2000  # characters; a real one is well under 200
MAX_NESTING = 100  # multiparts inside multiparts (Postfix's own mime_nesting_limit)
# compat32 keeps the headers as they came (no refolding with maxheaderlen=0); CRLF as SMTP wants it.
_POLICY = compat32.clone(linesep="\r\n")


def is_signed_or_encrypted(msg: Message) -> bool:
    return any(part.get_content_type() in SIGNED_TYPES for part in msg.walk())


def add_disclaimer(raw: bytes, disclaimer: Disclaimer) -> bytes | None:
    """The message with the disclaimer added, or None when it must stay as it is."""
    if INLINE_PGP.search(raw):
        return None
    try:
        return fastmime.add_disclaimer(raw, disclaimer)
    except fastmime.Fallback:
        # anything the byte-level path does not take on: the email package decides
        return _parsed(raw, disclaimer)


def add_disclaimer_parsed(raw: bytes, disclaimer: Disclaimer) -> bytes | None:
    """add_disclaimer through the email package's parser and generator: any message, at twice the cost."""
    if INLINE_PGP.search(raw):
        return None
    return _parsed(raw, disclaimer)


def _parsed(raw: bytes, disclaimer: Disclaimer) -> bytes | None:
    msg = message_from_bytes(raw, policy=compat32)
    if msg.get(MARKER) is not None:
        return None
    if _nesting(msg) > MAX_NESTING:
        return None  # nobody's real mail; the email package's generator would recurse too deep
    for part in msg.walk():
        # A defect anywhere means the parse may not be the whole message (a part the parser dropped would be
        # gone from what is generated); a huge Content-Type makes the package's parameter parsing quadratic.
        if part.defects or len(str(part.get("Content-Type", ""))) > MAX_CONTENT_TYPE:
            return None
    if is_signed_or_encrypted(msg):
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


def _nesting(msg: Message) -> int:
    """How deep multiparts are nested, counted without recursion."""
    deepest, todo = 0, [(msg, 0)]
    while todo:
        part, depth = todo.pop()
        deepest = max(deepest, depth)
        if part.is_multipart():
            todo.extend((sub, depth + 1) for sub in part.get_payload() if isinstance(sub, Message))
    return deepest


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
    raw_cte = str(part.get("Content-Transfer-Encoding", "7bit"))
    cte = raw_cte.strip().lower()
    if cte not in KNOWN_CTE or raw_cte != raw_cte.strip():
        # x-uuencode and friends; or "base64 " that the email package would not decode: leave alone
        raise Untouched
    # decode=True gives the bytes as they were for 7bit/8bit (get_payload without it would decode 8bit text
    # with the charset already) and decodes base64/quoted-printable; a broken encoding shows as a defect.
    defects = len(part.defects)
    body = part.get_payload(decode=True)
    if not isinstance(body, bytes) or len(part.defects) > defects:
        raise Untouched
    new = with_addition(body, part.get_content_charset() or "us-ascii", cte, addition, html=html)
    if new.utf8:
        part.set_param("charset", "utf-8")
    del part["Content-Transfer-Encoding"]
    part["Content-Transfer-Encoding"] = new.cte or "7bit"
    part.set_payload(new.payload)
