"""The verdict counters' reading of log lines. The amavis lines are counted from real mail in test_mail.py;
here the line formats themselves (Postfix cleanup's header/body check lines are written out as Postfix
writes them: the header and body checks are another page's), offsets and a rotated file."""

from __future__ import annotations

from pathlib import Path

from mailadmin import verdicts

AMAVIS = "Dec  7 12:05:26 mx.mailbox.internal /usr/sbin/amavisd[27850]: (27850-02) "
CLEANUP = "Dec  7 12:05:27 mx.mailbox.internal postfix-mailadmin/cleanup[4242]: 4jjgln6zTlzJBZY: "

LINES = [
    AMAVIS + "Passed CLEAN {RelayedInbound}, [127.0.0.1]:1 <a@x.test> -> <b@y.test>, mail_id: m8IpZ0kO8vP0, "
    "Hits: -1, size: 474, queued_as: 4jjglp1DwkzJBZs, 191 ms",
    AMAVIS
    + "Passed CLEAN, <a@x.test> -> <b@y.test>, Hits: -1, tag=2, tag2=6.31, kill=6.31, queued_as: X, 0/0/0/0",
    AMAVIS
    + "Passed SPAM {RelayedTaggedInbound}, [127.0.0.1]:1 <a@x.test> -> <b@y.test>, mail_id: s1, Hits: 999",
    AMAVIS
    + "Blocked SPAM {DiscardedInbound,Quarantined}, [127.0.0.1]:1 <a@x.test> -> <b@y.test>, mail_id: s2",
    AMAVIS
    + "Blocked INFECTED (Mailadmin.Test.EICAR.UNOFFICIAL) {DiscardedInbound,Quarantined}, [127.0.0.1]:1 "
    "<a@x.test> -> <b@y.test>, mail_id: v1, Hits: -",
    AMAVIS + "Blocked MTA-BLOCKED {RejectedOpenRelay}, [127.0.0.1] <> -> <smoke-probe@mailadmin.invalid>, "
    "mail_id: p1",
    CLEANUP
    + "reject: header Subject: forbidden from x[127.0.0.1]; from=<a@x.test> to=<b@y.test> proto=ESMTP "
    "helo=<x>: 5.7.1 not here",
    CLEANUP
    + "hold: body buy now from x[127.0.0.1]; from=<a@x.test> to=<b@y.test> proto=ESMTP helo=<x>: held",
    CLEANUP + "message-id=<1@x.test>",
]


def test_each_kind_once_and_the_probe_not_at_all() -> None:
    counts = verdicts.count(LINES)
    assert dict(counts) == {
        "clean": 1,
        "spam": 2,
        "virus": 1,
        "banned": 0,
        "rejected": 1,
        "held": 1,
        "other": 0,
    }
    found = list(verdicts.verdicts(LINES))
    assert [v.ident for v in found] == [
        "m8IpZ0kO8vP0",
        "s1",
        "s2",
        "v1",
        "4jjgln6zTlzJBZY",
        "4jjgln6zTlzJBZY",
    ]
    assert found[3].detail == "Blocked INFECTED {DiscardedInbound,Quarantined}"


def test_offsets_count_only_new_lines_and_survive_rotation(tmp_path: Path) -> None:
    log = tmp_path / "amavis.log"
    log.write_text(LINES[0] + "\n" + LINES[2][:40], encoding="utf-8")  # the second line is half written
    counts, offsets = verdicts.count_logs([log])
    assert (counts["clean"], counts["spam"]) == (1, 0)
    with log.open("a", encoding="utf-8") as f:
        f.write(LINES[2][40:] + "\n")
    counts, offsets = verdicts.count_logs([log], offsets)
    assert (counts["clean"], counts["spam"]) == (0, 1)
    log.write_text(LINES[4] + "\n", encoding="utf-8")  # rotated: smaller than the offset, read from the start
    counts, _ = verdicts.count_logs([log], offsets)
    assert counts["virus"] == 1
    assert verdicts.count_logs([tmp_path / "missing.log"])[0]["clean"] == 0


def test_text_from_a_message_cannot_pass_for_a_verdict() -> None:
    """A header check's WARN line carries the sender's header; a Message-ID may name the probe address."""
    forged = [
        CLEANUP + "warning: header Subject: x) Blocked INFECTED (Evil) {DiscardedInbound,Quarantined}, "
        "from x[127.0.0.1]; from=<a@x.test> to=<b@y.test>",
        "Dec  7 12:05:28 mx.mailbox.internal postfix-mailadmin/smtpd[1]: NOQUEUE: reject: RCPT from "
        "x[127.0.0.1]: (1-1) Passed CLEAN {RelayedInbound}",
    ]
    assert verdicts.count(forged)["virus"] == 0 and verdicts.count(forged)["clean"] == 0
    hidden = (
        AMAVIS + "Passed CLEAN {RelayedInbound}, [127.0.0.1]:1 <a@x.test> -> <b@y.test>, Message-ID: "
        "<smoke-probe@mailadmin.invalid>, mail_id: c2, Hits: -1"
    )
    assert verdicts.count([hidden])["clean"] == 1  # not taken for the smoke test's probe
