"""Disclaimers end to end (DLV-03): real SMTP into Postfix, through `manage.py mailfilter`, re-injected,
delivered by LMTP to Cyrus, read back over IMAP as the recipient."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from typing import Any

import pytest

from mailadmin.directory import dit
from mailqueue.disclaimers.services import disclaimer_save
from tests.mailqueue.disclaimer_tool import (
    ACTOR,
    drop,
    fetch_all,
    make_user,
    parse,
    send,
    text_parts,
    wait_queued,
)

TEXT = "This mail is confidential. Domain disclaimer."
HTML = '<p>This mail is <b>confidential</b>. <img src="https://example.org/logo.png" alt="logo"></p>'
# what an administrator might paste; the service sanitises it before the filter ever sees it
HOSTILE = '<script>alert(1)</script><img src=x onerror=alert(2)><a href="javascript:alert(3)">x</a>'


@pytest.fixture
def publish_now(django_capture_on_commit_callbacks: Any) -> Iterator[Callable[..., Any]]:
    """disclaimer_save with the commit hook run at once (the test's transaction never commits)."""

    def save(**kwargs: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return disclaimer_save(actor=ACTOR, **kwargs)

    yield save


@pytest.fixture
def pair(domain: str, unique: Callable[[str], str]) -> tuple[str, str, str]:
    """(domain, sender uid, recipient uid): two users with mailboxes in a fresh domain."""
    sender, rcpt = unique("snd"), unique("rcp")
    make_user(domain, sender)
    make_user(domain, rcpt)
    return domain, sender, rcpt


def _mime(msg: Any, sender: str, to: str, subject: str) -> bytes:
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    return bytes(msg.as_bytes())


def test_plain_html_and_alternative_get_it_once_each(pair: tuple[str, str, str], publish_now: Any) -> None:
    domain, sender, rcpt = pair
    publish_now(owner=domain, text=TEXT, html=HTML + HOSTILE, outbound_only=False)
    frm, to = f"{sender}@{domain}", f"{rcpt}@{domain}"
    send(frm, [to], _mime(MIMEText("Hello plain.\n", "plain", "us-ascii"), frm, to, "plain"))
    send(frm, [to], _mime(MIMEText("<html><body><p>Hi</p></body></html>", "html"), frm, to, "html"))
    alt = MIMEMultipart("alternative")
    alt.attach(MIMEText("Both plain.\n", "plain"))
    alt.attach(MIMEText("<html><body><p>Both html</p></body></html>", "html"))
    send(frm, [to], _mime(alt, frm, to, "alternative"))

    messages = {parse(raw)["Subject"]: parse(raw) for raw in fetch_all(rcpt, 3)}
    assert set(messages) == {"plain", "html", "alternative"}
    for msg in messages.values():
        assert msg["X-Mailadmin-Disclaimer"] == dit.normalize_dn(dit.domain_dn(domain))
        parts = list(text_parts(msg))
        assert parts
        for ctype, _charset, text in parts:
            if ctype == "text/plain":
                assert text.count(TEXT) == 1, text
            else:
                assert text.count("<b>confidential</b>") == 1, text
                assert 'src="https://example.org/logo.png"' in text
                for bad in ("<script", "onerror", "javascript:", "alert("):
                    assert bad not in text.lower(), (bad, text)
                # inside the body, before </body>
                assert text.index("confidential") < text.lower().index("</body>")
    assert len(list(text_parts(messages["alternative"]))) == 2


def test_latin1_part_keeps_its_charset(pair: tuple[str, str, str], publish_now: Any) -> None:
    domain, sender, rcpt = pair
    publish_now(owner=domain, text="Vertraulich: für den Empfänger.", html="", outbound_only=False)
    frm, to = f"{sender}@{domain}", f"{rcpt}@{domain}"
    send(frm, [to], _mime(MIMEText("Grüße aus Köln.\n", "plain", "iso-8859-1"), frm, to, "latin"))
    (msg,) = [parse(raw) for raw in fetch_all(rcpt, 1)]
    ((ctype, charset, text),) = list(text_parts(msg))
    assert (ctype, charset) == ("text/plain", "iso-8859-1")
    assert text.startswith("Grüße aus Köln.")
    assert text.count("Vertraulich: für den Empfänger.") == 1


def test_signed_message_untouched_and_attachment_not_changed(
    pair: tuple[str, str, str], publish_now: Any
) -> None:
    domain, sender, rcpt = pair
    publish_now(owner=domain, text=TEXT, html="", outbound_only=False)
    frm, to = f"{sender}@{domain}", f"{rcpt}@{domain}"
    signed = MIMEMultipart("signed", protocol="application/pgp-signature", micalg="pgp-sha256")
    signed.attach(MIMEText("Signed words.\n"))
    signed.attach(MIMEApplication(b"-----BEGIN PGP SIGNATURE-----\nxx\n", "pgp-signature"))
    raw = _mime(signed, frm, to, "signed")
    send(frm, [to], raw)
    mixed = MIMEMultipart("mixed")
    mixed.attach(MIMEText("Body.\n"))
    attached = MIMEText("notes\n")
    attached.add_header("Content-Disposition", "attachment", filename="notes.txt")
    mixed.attach(attached)
    send(frm, [to], _mime(mixed, frm, to, "mixed"))

    got = {parse(r)["Subject"]: r for r in fetch_all(rcpt, 2)}
    signed_got = parse(got["signed"])
    assert signed_got["X-Mailadmin-Disclaimer"] is None
    assert TEXT.encode() not in got["signed"]
    # the signed body is byte for byte what was sent (everything after the headers)
    assert raw.split(b"\n\n", 1)[1].replace(b"\n", b"\r\n") in got["signed"]
    texts = [t for _c, _s, t in text_parts(parse(got["mixed"]))]
    assert texts[0].count(TEXT) == 1
    assert TEXT not in texts[1]  # the attachment stays as it was


def test_most_specific_wins(domain: str, unique: Callable[[str], str], publish_now: Any) -> None:
    group = dit.group_dn(dit.organization_dn(domain, domain), "team")
    from accounts import services

    services.group_create(actor=ACTOR, parent_dn=dit.organization_dn(domain, domain), name="team")
    in_group, own, plain, rcpt = unique("grp"), unique("own"), unique("pln"), unique("rcp")
    make_user(domain, in_group, container=group)
    own_dn = make_user(domain, own, container=group)
    make_user(domain, plain)
    make_user(domain, rcpt)
    publish_now(owner=domain, text="DOMAIN-TEXT", html="", outbound_only=False)
    publish_now(owner=group, text="GROUP-TEXT", html="", outbound_only=False)
    publish_now(owner=own_dn, text="USER-TEXT", html="", outbound_only=False)
    to = f"{rcpt}@{domain}"
    for uid in (in_group, own, plain):
        frm = f"{uid}@{domain}"
        send(frm, [to], _mime(MIMEText("x\n"), frm, to, uid))
    got = {parse(r)["Subject"]: next(text_parts(parse(r)))[2] for r in fetch_all(rcpt, 3)}
    assert "USER-TEXT" in got[own] and "GROUP-TEXT" not in got[own]
    assert "GROUP-TEXT" in got[in_group] and "DOMAIN-TEXT" not in got[in_group]
    assert "DOMAIN-TEXT" in got[plain]


def test_outbound_only(pair: tuple[str, str, str], publish_now: Any, unique: Callable[[str], str]) -> None:
    domain, sender, rcpt = pair
    publish_now(owner=domain, text=TEXT, html="", outbound_only=True)
    frm, local = f"{sender}@{domain}", f"{rcpt}@{domain}"
    remote = f"{unique('far')}@remote-{unique('d')}.example"
    send(frm, [local, remote], _mime(MIMEText("Hello both.\n"), frm, local, "outbound"))
    (inside,) = fetch_all(rcpt, 1)
    assert TEXT.encode() not in inside
    assert parse(inside)["X-Mailadmin-Disclaimer"] is None
    # the remote copy waits in the queue (the relay is dead on purpose); its content has the disclaimer
    item = wait_queued(remote)
    queue_id = str(item["queue_id"])
    try:
        from django.conf import settings

        from mailadmin import postfix

        content, _truncated = postfix.postcat(settings.POSTFIX_CONFIG_DIR, queue_id)
        assert content.count(TEXT.encode()) == 1
        assert b"X-Mailadmin-Disclaimer:" in content
    finally:
        drop(queue_id)


def test_no_disclaimer_for_foreign_sender_domain(pair: tuple[str, str, str], publish_now: Any) -> None:
    domain, _sender, rcpt = pair
    publish_now(owner=domain, text=TEXT, html="", outbound_only=False)
    frm, to = "someone@elsewhere.example", f"{rcpt}@{domain}"
    send(frm, [to], _mime(MIMEText("From outside.\n"), frm, to, "outside"))
    (raw,) = fetch_all(rcpt, 1)
    assert TEXT.encode() not in raw


def test_long_lines_and_8bit_body_delivered(pair: tuple[str, str, str], publish_now: Any) -> None:
    domain, sender, rcpt = pair
    publish_now(owner=domain, text=TEXT, html="", outbound_only=False)
    frm, to = f"{sender}@{domain}", f"{rcpt}@{domain}"
    long_line = "word " * 700  # 3500 characters: Postfix folds lines over 998 on the way to the filter
    raw = (
        f"From: {frm}\r\nTo: {to}\r\nSubject: long\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        f"Grüße {long_line.strip()}\r\nEnd.\r\n"
    ).encode()
    send(frm, [to], raw)
    (got,) = fetch_all(rcpt, 1)
    ((_ctype, charset, text),) = list(text_parts(parse(got)))
    assert charset == "utf-8"
    assert text.startswith("Grüße word")
    assert text.count(TEXT) == 1
    # Postfix breaks lines over 998 bytes with CRLF SPACE on the way to the filter (as on the way to any SMTP
    # server, RFC 5321's limit), possibly inside a word: the words are all there, with one more space
    assert "".join(text.split()).count("word") == 700
