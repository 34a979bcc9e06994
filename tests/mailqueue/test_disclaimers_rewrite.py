"""The MIME rewriting of the filter on its own (pure functions: no daemons needed)."""

from __future__ import annotations

from email import message_from_bytes
from email.message import Message
from email.mime.application import MIMEApplication
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32

import pytest

from mailqueue.mailfilter.rewrite import MARKER, Disclaimer, add_disclaimer

D = Disclaimer(key="dc=x.test,ou=domains,dc=mailadmin", text="Legal – € text.", html="<p>Legal &ndash; €</p>")


def _texts(raw: bytes) -> list[tuple[str, str, str]]:
    msg = message_from_bytes(raw, policy=compat32)
    out = []
    for part in msg.walk():
        if part.get_content_maintype() == "text":
            charset = part.get_content_charset() or "us-ascii"
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            out.append((part.get_content_type(), charset, payload.decode(charset)))
    return out


def _raw(msg: Message) -> bytes:
    msg["From"], msg["To"], msg["Subject"] = "a@x.test", "b@y.test", "s"
    return msg.as_bytes().replace(b"\n", b"\r\n")


@pytest.mark.parametrize("cte", ["base64", "quoted-printable", "8bit", "7bit"])
def test_each_transfer_encoding(cte: str) -> None:
    msg = MIMEText("Hello there.\n", "plain", "utf-8")
    if cte != "base64":
        del msg["Content-Transfer-Encoding"]
        msg.set_payload("Hello there.\n")
        msg["Content-Transfer-Encoding"] = cte
    out = add_disclaimer(_raw(msg), D)
    assert out is not None
    ((_ctype, charset, text),) = _texts(out)
    assert charset == "utf-8"
    assert text.startswith("Hello there.")
    assert text.count("Legal – € text.") == 1
    assert b"\r\n" in out and b"\n" not in out.replace(b"\r\n", b"")


def test_character_missing_from_the_charset() -> None:
    alt = MIMEMultipart("alternative")
    alt.attach(MIMEText("Grüße.\n", "plain", "iso-8859-1"))
    alt.attach(MIMEText("<html><body>Grüße</body></html>", "html", "iso-8859-1"))
    out = add_disclaimer(_raw(alt), D)
    assert out is not None
    (plain, html) = _texts(out)
    assert plain[1] == "utf-8" and "Grüße." in plain[2] and "€" in plain[2]  # plain text becomes UTF-8
    assert html[1] == "iso-8859-1" and "&#8364;" in html[2]  # HTML keeps its charset, says € as a reference
    assert html[2].index("&#8364;") < html[2].index("</body>")


def test_marker_means_done_already() -> None:
    msg = MIMEText("x\n")
    msg[MARKER] = "somebody"
    assert add_disclaimer(_raw(msg), D) is None
    once = add_disclaimer(_raw(MIMEText("x\n")), D)
    assert once is not None
    assert add_disclaimer(once, D) is None


def test_signed_and_encrypted_untouched() -> None:
    smime = MIMEApplication(b"\x30\x80binary", "pkcs7-mime", smime_type="enveloped-data")
    assert add_disclaimer(_raw(smime), D) is None
    encrypted = MIMEMultipart("encrypted", protocol="application/pgp-encrypted")
    encrypted.attach(MIMEApplication(b"Version: 1\n", "pgp-encrypted"))
    encrypted.attach(MIMEApplication(b"-----BEGIN PGP MESSAGE-----\n", "octet-stream"))
    assert add_disclaimer(_raw(encrypted), D) is None
    inline = MIMEText("-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nhi\n")
    assert add_disclaimer(_raw(inline), D) is None


def test_forwarded_message_inside_is_not_changed() -> None:
    inner = MIMEText("Inner words.\n")
    inner["Subject"] = "inner"
    outer = MIMEMultipart("mixed")
    outer.attach(MIMEText("Outer words.\n"))
    outer.attach(MIMEMessage(inner))
    out = add_disclaimer(_raw(outer), D)
    assert out is not None
    texts = [t for _c, _s, t in _texts(out)]
    assert texts[0].count("Legal") == 1
    assert texts[1].rstrip() == "Inner words."


def test_undecodable_or_unknown_charset_left_alone() -> None:
    msg = MIMEText("x\n", "plain", "us-ascii")
    msg.set_param("charset", "no-such-charset")
    assert add_disclaimer(_raw(msg), D) is None


def test_nothing_to_add_to() -> None:
    assert add_disclaimer(_raw(MIMEApplication(b"%PDF-1.4", "pdf")), D) is None


def test_8bit_utf8_and_broken_base64() -> None:
    raw = (
        b"From: a@x.test\r\nTo: b@y.test\r\nSubject: s\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        + "Grüße.\r\n".encode()
    )
    out = add_disclaimer(raw, D)
    assert out is not None
    ((_c, _s, text),) = _texts(out)
    assert text.startswith("Grüße.") and text.count("Legal – € text.") == 1
    broken = raw.replace(b"8bit", b"base64").replace("Grüße.".encode(), b"!!!not base64")
    assert add_disclaimer(broken, D) is None


def test_multipart_top_headers_are_kept_byte_for_byte() -> None:
    """A multipart message's own headers are not re-folded: they go out as they came, plus the marker."""
    alt = MIMEMultipart("alternative")
    alt.attach(MIMEText("Plain.\n", "plain", "utf-8"))
    alt.attach(MIMEText("<html><body><p>Html.</p></body></html>", "html", "utf-8"))
    raw = _raw(alt)
    received = (
        b"Received: from client.example (client.example [192.0.2.1])\r\n"
        b"\tby mx.example (Postfix) with ESMTP id 4abc\r\n"
        b"\tfor <b@y.test>; Mon, 23 Nov 2026 12:00:00 +0000\r\n"
    )
    raw = received + raw
    out = add_disclaimer(raw, D)
    assert out is not None
    head, _, _ = raw.partition(b"\r\n\r\n")
    assert out.startswith(head + b"\r\n" + f"{MARKER}: {D.key}\r\n\r\n".encode())
    texts = _texts(out)
    assert [t[2].count("Legal") for t in texts] == [1, 1]
    assert add_disclaimer(out, D) is None  # the marker stops a second pass
