"""The content filter with real mail: SMTP into the stack's Postfix, through amavisd (ClamAV with the
project's signatures, SpamAssassin with Debian's rules) and the disclaimer filter, read back over IMAP.
Default settings: a virus is quarantined, spam is tagged and delivered."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from mailadmin import verdicts
from mailadmin.directory import dit
from mailadmin.stack.contentfilter import SIGNATURES
from mailqueue.disclaimers.services import disclaimer_save
from tests.contentfilter import cftool
from tests.mailqueue.disclaimer_tool import ACTOR, fetch_all, make_user, parse, send, text_parts

SENDER = "someone@example.org"
DISCLAIMER = "Content filter test disclaimer."
TEST_FILE = "MAILADMIN-TEST-MALWARE-0f5b2c9e"


@pytest.fixture
def rcpt(filter_on: Any, domain: str, unique: Callable[[str], str]) -> Iterator[tuple[str, str]]:
    """(uid, address) of a fresh user in a fresh domain, with the filter on."""
    uid = unique("cf")
    make_user(domain, uid)
    yield uid, f"{uid}@{domain}"


def test_the_shipped_signature_is_eicar_built_from_the_string() -> None:
    lines = SIGNATURES.read_text(encoding="ascii").split()
    assert lines[0].split(":")[3] == cftool.EICAR.encode().hex()
    assert lines[1].split(":")[3] == TEST_FILE.encode().hex()


def test_clean_mail_passes_both_filters_exactly_once(
    rcpt: tuple[str, str], domain: str, django_capture_on_commit_callbacks: Any
) -> None:
    uid, to = rcpt
    with django_capture_on_commit_callbacks(execute=True):
        disclaimer_save(actor=ACTOR, owner=domain, text=DISCLAIMER, html="", outbound_only=False)
    frm = f"boss@{domain}"  # the disclaimer is the sender's domain's
    send(frm, [to], cftool.message(frm, to, "clean one", "Hello, nothing to see.\n"))
    (raw,) = fetch_all(uid, 1)
    msg = parse(raw)
    assert msg.get_all("X-Virus-Scanned") == [f"amavis at {dit_mailbox_domain()}"], raw.decode()[:3000]
    assert msg.get_all("X-Mailadmin-Disclaimer") == [dit.normalize_dn(dit.domain_dn(domain))]
    (part,) = list(text_parts(msg))
    assert part[2].count(DISCLAIMER) == 1
    assert cftool.inbox(uid) == [raw]


def dit_mailbox_domain() -> str:
    from django.conf import settings

    return str(settings.MAILBOX_DOMAIN)


def test_eicar_never_reaches_the_inbox_and_is_quarantined(stack: Any, rcpt: tuple[str, str]) -> None:
    uid, to = rcpt
    log = stack.layout.amavis_log
    start = cftool.log_size(log)
    virus = cftool.message(SENDER, to, "a virus", "See attached.\n", attachment=cftool.EICAR)
    send(SENDER, [to], virus)
    line = cftool.wait_log(log, start, "Blocked INFECTED")
    assert "Mailadmin.Test.EICAR" in line and to in line
    kept = cftool.wait_for_file(stack.layout.quarantine / "virus", "Subject: a virus")
    assert kept.name.startswith("virus-")
    # a clean message sent after it arrives; the virus never does
    send(SENDER, [to], cftool.message(SENDER, to, "after the virus", "Hello.\n"))
    (raw,) = fetch_all(uid, 1)
    assert parse(raw)["Subject"] == "after the virus"
    assert len(cftool.inbox(uid)) == 1


def test_our_test_file_signature_is_found_too(stack: Any, rcpt: tuple[str, str]) -> None:
    _uid, to = rcpt
    start = cftool.log_size(stack.layout.amavis_log)
    send(SENDER, [to], cftool.message(SENDER, to, "test file", "x\n", attachment=TEST_FILE))
    line = cftool.wait_log(stack.layout.amavis_log, start, "Blocked INFECTED")
    assert "Mailadmin.Test.File" in line


def test_gtube_is_tagged_and_delivered(rcpt: tuple[str, str]) -> None:
    uid, to = rcpt
    send(SENDER, [to], cftool.message(SENDER, to, "cheap pills", f"Buy now.\n{cftool.GTUBE}\n"))
    (raw,) = fetch_all(uid, 1)
    msg = parse(raw)
    assert msg["X-Spam-Flag"] == "YES", raw.decode()[:3000]
    assert msg["Subject"].startswith("***SPAM***")
    assert "GTUBE" in msg["X-Spam-Status"]


def test_each_verdict_is_counted_once_from_the_logs(stack: Any, rcpt: tuple[str, str]) -> None:
    """Real mail: one clean, one spam, one virus; the counters read amavis's log after an offset."""
    uid, to = rcpt
    logs = [stack.layout.amavis_log, stack.layout.maillog]
    _before, offsets = verdicts.count_logs(logs)
    send(SENDER, [to], cftool.message(SENDER, to, "v clean", "Hello.\n"))
    send(SENDER, [to], cftool.message(SENDER, to, "v spam", f"{cftool.GTUBE}\n"))
    send(SENDER, [to], cftool.message(SENDER, to, "v virus", "x\n", attachment=cftool.EICAR))
    fetch_all(uid, 2)
    cftool.wait_log(stack.layout.amavis_log, offsets[stack.layout.amavis_log], "Blocked INFECTED")
    counts, _after = verdicts.count_logs(logs, offsets)
    assert (counts["clean"], counts["spam"], counts["virus"]) == (1, 1, 1), counts
    assert counts["rejected"] == 0
