"""The disclaimer added at the byte level, for the messages almost all mail is: no email-package parse of the
whole message, no regeneration. Parsing and generating were two fifths of the filter's CPU time.

It takes on only what it can do exactly as rewrite.add_disclaimer_parsed would (the tests compare the two):
CRLF line ends only; header blocks of `Name: value` lines (folding allowed); Content-Type without comments,
RFC 2231 parameters or encoded words; multipart/* (not digest) whose delimiters are all there and closed;
text parts whose new body keeps its transfer encoding and charset. Anything else raises Fallback and the email
package decides: signed, encrypted, forwarded (message/*), damaged or unusual messages are handled as before.
Parts it does not change, preamble and epilogue are copied byte for byte.
"""

from __future__ import annotations

import binascii
import quopri
import re

from mailqueue.mailfilter.bodies import KNOWN_CTE, MARKER, SIGNED_TYPES, Disclaimer, Untouched, with_addition

MAX_DEPTH = 16  # nested multiparts; deeper ones go the slow way
_NAME = re.compile(rb"[\x21-\x39\x3b-\x7e]+")  # a header field name: printable ASCII but ":"
_LINE_END = re.compile(rb"\r\n|\r|\n")
_READ = (b"content-type", b"content-transfer-encoding", b"content-disposition", MARKER.lower().encode())
_CONTAINER_CTE = frozenset({"7bit", "8bit", "binary"})  # what the email package takes without a defect
_BOUNDARY = re.compile(r"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]")


class Fallback(Exception):
    """Not a message for the byte-level path: take the email package's."""


def add_disclaimer(raw: bytes, disclaimer: Disclaimer) -> bytes:
    """The message with the disclaimer added. Raises Fallback for anything else (including "leave it as
    it is": the email package's path says that). Inline PGP is the caller's to rule out first
    (rewrite.add_disclaimer does), so that the whole message is searched for it only once."""
    key = disclaimer.key.replace("\r", "").replace("\n", "")
    if not key.isascii() or raw.count(b"\n") != raw.count(b"\r\n") or raw.count(b"\r") != raw.count(b"\r\n"):
        raise Fallback
    end = raw.find(b"\r\n\r\n")
    if end <= 0:
        raise Fallback
    block = raw[:end]
    headers = _headers(block)
    if MARKER.lower().encode() in headers:
        raise Fallback
    new = _entity(block, headers, raw[end + 4 :], disclaimer, boundaries=(), depth=0)
    if new is None:
        raise Fallback  # nothing to add to
    new_block, new_body = new
    return (new_block or block) + f"\r\n{MARKER}: {key}\r\n\r\n".encode("ascii") + new_body


def _entity(
    block: bytes,
    headers: dict[bytes, list[bytes]],
    body: bytes,
    disclaimer: Disclaimer,
    *,
    boundaries: tuple[bytes, ...],
    depth: int,
) -> tuple[bytes | None, bytes] | None:
    """(its header block when that changed, else None; its new body), or None when nothing in it changed."""
    ctype, params = _content_type(headers.get(b"content-type"))
    if ctype in SIGNED_TYPES:
        raise Fallback
    raw_cte = _one(headers.get(b"content-transfer-encoding"), "7bit", strip=False)
    cte = raw_cte.lower()
    if cte != cte.strip(" \t"):
        raise Fallback  # the email package would not recognise it
    main = ctype.partition("/")[0]
    if main == "multipart":
        if ctype == "multipart/digest" or cte not in _CONTAINER_CTE or depth >= MAX_DEPTH:
            raise Fallback
        new_body = _multipart(body, params, disclaimer, boundaries=boundaries, depth=depth)
        return None if new_body is None else (None, new_body)
    if main == "message":
        raise Fallback  # the parsed path looks inside for signatures
    if ctype not in ("text/plain", "text/html"):
        return None
    disposition = _one(headers.get(b"content-disposition"), "").partition(";")[0].strip().lower()
    if disposition == "attachment":
        return None
    if cte not in KNOWN_CTE:
        raise Fallback
    html = ctype == "text/html"
    charset = params.get("charset", "").lower() or "us-ascii"
    try:
        addition = disclaimer.html if html else disclaimer.text
        new = with_addition(_decoded(body, cte), charset, cte, addition, html=html)
    except Untouched as exc:
        raise Fallback from exc
    new_body = _LINE_END.sub(b"\r\n", new.payload.encode("ascii", errors="surrogateescape"))
    if not new.utf8 and new.cte == cte:
        return None, new_body
    # the part's headers change as the parsed path changes them: charset="utf-8", a new transfer encoding
    content_type = None
    if new.utf8:
        params = {**params, "charset": "utf-8"}
        content_type = "; ".join([ctype, *(f'{k}="{v}"' for k, v in params.items())]).encode("ascii")
    return _edit_headers(block, content_type=content_type, cte=new.cte or "7bit"), new_body


def _edit_headers(block: bytes, *, content_type: bytes | None, cte: str) -> bytes:
    """The header block with Content-Type replaced (when given), Content-Transfer-Encoding dropped and
    `cte` written at the end; every other field as it was."""
    fields: list[list[bytes]] = []
    for line in block.split(b"\r\n") if block else []:
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1].append(line)
        else:
            fields.append([line])
    out: list[bytes] = []
    for field in fields:
        name = field[0].partition(b":")[0].lower()
        if name == b"content-transfer-encoding":
            continue
        if name == b"content-type" and content_type is not None:
            out.append(b"Content-Type: " + content_type)
            content_type = None
            continue
        out.extend(field)
    if content_type is not None:
        out.append(b"Content-Type: " + content_type)
    out.append(b"Content-Transfer-Encoding: " + cte.encode("ascii"))
    return b"\r\n".join(out)


def _multipart(
    body: bytes, params: dict[str, str], disclaimer: Disclaimer, *, boundaries: tuple[bytes, ...], depth: int
) -> bytes | None:
    text = params.get("boundary", "")
    if not _BOUNDARY.fullmatch(text):
        raise Fallback  # RFC 2046's characters only (the email package unquotes <...>, folds, ...)
    boundary = text.encode("ascii")
    # a delimiter line that an enclosing multipart would also take as its own: the parsed path decides
    if any(b.startswith(boundary) or boundary.startswith(b) for b in boundaries):
        raise Fallback
    delims = _delimiters(body, boundary)
    if len(delims) < 2 or delims[0][2] or not delims[-1][2]:
        raise Fallback  # no parts, a closing delimiter first, or none at the end
    out: list[bytes] = [body[: delims[0][1]]]
    changed = False
    for (_s, start, _c), (stop, next_end, _close) in zip(delims, delims[1:], strict=False):
        if stop - 2 < start:
            raise Fallback
        part = body[start : stop - 2]
        if part.startswith(b"\r\n"):  # no headers at all
            head, content = b"", part[2:]
        else:
            cut = part.find(b"\r\n\r\n")
            if cut < 0:
                raise Fallback
            head, content = part[:cut], part[cut + 4 :]
        inner = (*boundaries, boundary)
        new = _entity(head, _headers(head), content, disclaimer, boundaries=inner, depth=depth + 1)
        if new is not None:
            changed = True
            head, content = new[0] if new[0] is not None else head, new[1]
        out.append(head + b"\r\n" + content if not head else head + b"\r\n\r\n" + content)
        out.append(body[stop - 2 : next_end])
    if not changed:
        return None
    out.append(body[delims[-1][1] :])
    return b"".join(out)


def _delimiters(body: bytes, boundary: bytes) -> list[tuple[int, int, bool]]:
    """(start, end after its CRLF, closing?) of each delimiter line, up to and with the closing one. A
    delimiter is `--boundary` at the start of a line, `--` after it for the last, then only blanks or tabs."""
    dash = b"--" + boundary
    out: list[tuple[int, int, bool]] = []
    pos = 0
    while (i := body.find(dash, pos)) >= 0:
        pos = i + len(dash)
        if i and body[i - 2 : i] != b"\r\n":
            continue
        eol = body.find(b"\r\n", pos)
        line_end = len(body) if eol < 0 else eol
        rest = body[pos:line_end]
        close = rest.startswith(b"--")
        if (rest[2:] if close else rest).strip(b" \t"):
            continue  # a longer line that only starts like a delimiter
        out.append((i, line_end if eol < 0 else eol + 2, close))
        if close:
            break
    return out


def _headers(block: bytes) -> dict[bytes, list[bytes]]:
    """The values of the header fields this module reads (lower-case name -> unfolded values). Every line is
    checked: a line that is not `Name: value` or a continuation makes the parsed path decide."""
    out: dict[bytes, list[bytes]] = {}
    if not block:
        return out
    current: list[bytes] | None = None
    for line in block.split(b"\r\n"):
        if line[:1] in (b" ", b"\t"):
            if current is None:
                raise Fallback  # a continuation before any field
            if current:
                current[-1] += b"\r\n" + line  # as the email package keeps a folded value
            continue
        name, colon, value = line.partition(b":")
        if not colon or not _NAME.fullmatch(name):
            raise Fallback
        name = name.lower()
        if name in _READ:
            current = out.setdefault(name, [])
            current.append(value.lstrip(b" \t"))
        else:
            current = []  # continuations of fields nobody reads
    return out


def _one(values: list[bytes] | None, default: str, *, strip: bool = True) -> str:
    if not values:
        return default
    if len(values) > 1:
        raise Fallback
    try:
        value = values[0].decode("ascii")
    except UnicodeDecodeError as exc:
        raise Fallback from exc
    return value.strip() if strip else value


def _content_type(values: list[bytes] | None) -> tuple[str, dict[str, str]]:
    """(type, parameters); text/plain when there is no Content-Type (multipart/digest, whose parts default to
    message/rfc822, is left to the parsed path)."""
    value = _one(values, "")
    if not value:
        if values:
            raise Fallback
        return "text/plain", {}
    if "(" in value or "=?" in value or "\\" in value:
        raise Fallback
    fields = _split(value)
    ctype = fields[0].strip().lower()
    if ctype.count("/") != 1 or not ctype.isprintable() or " " in ctype:
        raise Fallback
    params: dict[str, str] = {}
    for field in fields[1:]:
        if not field.strip():
            continue
        name, eq, val = field.partition("=")
        name, val = name.strip().lower(), val.strip()
        if not eq or not name or "*" in name or name in params:  # RFC 2231 (charset*0=, ...)
            raise Fallback
        if val.startswith('"'):
            if len(val) < 2 or not val.endswith('"') or '"' in val[1:-1]:
                raise Fallback
            val = val[1:-1]
        elif '"' in val:
            raise Fallback
        params[name] = val
    return ctype, params


def _split(value: str) -> list[str]:
    """Content-Type's value cut at the semicolons outside quotes."""
    if '"' not in value:
        return value.split(";")
    fields: list[str] = []
    current: list[str] = []
    quoted = False
    for ch in value:
        if ch == '"':
            quoted = not quoted
        if ch == ";" and not quoted:
            fields.append("".join(current))
            current = []
        else:
            current.append(ch)
    if quoted:
        raise Fallback
    fields.append("".join(current))
    return fields


def _decoded(body: bytes, cte: str) -> bytes:
    if cte == "base64":
        try:
            return binascii.a2b_base64(body.replace(b"\r\n", b""), strict_mode=True)
        except binascii.Error as exc:
            raise Fallback from exc  # the parsed path sees the defect and leaves the message alone
    if cte == "quoted-printable":
        return quopri.decodestring(body)
    return body
