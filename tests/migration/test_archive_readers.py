"""Readers and folder names, on archives made in the test: messages come out one at a time with their
folder, flags and date; a `From ` line inside a body does not split a message; names become Cyrus's."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from mailadmin import mailheaders as headers
from migration.archives.names import FolderRefused, check_into, map_folder
from migration.archives.readers import classify, read_mbox, read_sources
from migration.archives.safety import Member

LIMIT = 1024 * 1024

MBOX = (
    b"From alice@example.org Mon Jan  1 10:00:00 2001\n"
    b"From: alice@example.org\n"
    b"Subject: one\n"
    b"Message-ID: <one@example.org>\n"
    b"Status: RO\n"
    b"X-Status: AF\n"
    b"\n"
    b"Dear Bob,\n"
    b"\n"
    b"From the desk of Alice: this line is not a new message.\n"
    b"\n"
    b"From bob@example.org Tue Feb  2 11:00:00 2002\n"
    b"is a line someone pasted into the body; no header follows it.\n"
    b">From here on, a quoted From line.\n"
    b"\n"
    b"From bob@example.org Wed Mar  3 12:30:45 2003 +0100\n"
    b"From: bob@example.org\n"
    b"Subject: two\n"
    b"\n"
    b"second body\n"
    b"\n"
)


def test_an_mbox_with_a_from_line_inside_a_body(tmp_path: Path) -> None:
    path = tmp_path / "box"
    path.write_bytes(MBOX)
    one, two = list(read_mbox(path, ("Archive",), limit=LIMIT))
    assert one.folder == two.folder == ("Archive",)
    assert one.data is not None and two.data is not None
    assert b"From the desk of Alice" in one.data
    assert b"\nFrom bob@example.org Tue Feb  2 11:00:00 2002\nis a line" in one.data
    assert b"\nFrom here on, a quoted From line.\n" in one.data  # mboxrd: one '>' removed
    assert one.data.startswith(b"From: alice@example.org\n") and one.data.endswith(b"quoted From line.\n")
    assert one.flags == {headers.SEEN, headers.ANSWERED, headers.FLAGGED}
    assert one.when == datetime(2001, 1, 1, 10, 0, tzinfo=UTC)
    assert two.data == b"From: bob@example.org\nSubject: two\n\nsecond body\n"
    assert two.flags == frozenset()
    assert two.when == datetime(2003, 3, 3, 11, 30, 45, tzinfo=UTC)  # +0100 applied
    assert two.done == len(MBOX)


def test_a_message_over_the_limit_is_passed_over_unread(tmp_path: Path) -> None:
    path = tmp_path / "box"
    big = b"x" * 200 + b"\n"
    path.write_bytes(MBOX.replace(b"second body\n", big * 100))
    one, two = list(read_mbox(path, (), limit=5000))
    assert one.data is not None and two.data is None and two.size > 5000


def _member(root: Path, name: str, data: bytes, mtime: float | None = None) -> Member:
    path = root / f"m{len(list(root.iterdir())):07d}"
    path.write_bytes(data)
    return Member(tuple(name.split("/")), path, len(data), mtime)


def test_a_maildir_tree_with_subfolders(tmp_path: Path) -> None:
    msg = b"Subject: x\r\nMessage-ID: <%d@x>\r\n\r\nbody\r\n"
    members = [
        _member(tmp_path, "Maildir/cur/1200000000.M1P1.host:2,FS", msg % 1),
        _member(tmp_path, "Maildir/new/1200000001.M2P2.host", msg % 2, mtime=5.0),
        _member(tmp_path, "Maildir/.Sent/cur/1200000002.M3P3.host:2,RS", msg % 3),
        _member(tmp_path, "Maildir/.Projects.2019/cur/1200000003.M4P4.host:2,", msg % 4),
        _member(tmp_path, "Maildir/.Entw&APw-rfe/cur/1200000004.M5P5.host:2,DS", msg % 5),
        _member(tmp_path, "Maildir/tmp/1200000005.M6P6.host", msg % 6),
        _member(tmp_path, "Maildir/dovecot.index", b"\0\0"),
    ]
    sources, ignored = classify(members)
    assert len(ignored) == 2
    found = {(m.folder, m.flags, m.when) for m in read_sources(sources, limit=LIMIT)}
    at = lambda n: datetime.fromtimestamp(1200000000 + n, UTC)  # noqa: E731
    assert found == {
        ((), frozenset({headers.SEEN, headers.FLAGGED}), at(0)),
        ((), frozenset(), at(1)),
        (("Sent",), frozenset({headers.SEEN, headers.ANSWERED}), at(2)),
        (("Projects", "2019"), frozenset(), at(3)),
        (("Entwürfe",), frozenset({headers.SEEN, headers.DRAFT}), at(4)),
    }


def test_eml_files_and_mbox_files_in_a_tree(tmp_path: Path) -> None:
    eml = b"Subject: x\r\nDate: Tue, 4 Jun 2019 08:15:00 +0200\r\nStatus: RO\r\n\r\nbody\r\n"
    members = [
        _member(tmp_path, "export/Inbox/1.eml", eml),
        _member(tmp_path, "export/Work/Clients/a.EML", eml.replace(b"Status: RO\r\n", b"")),
        _member(tmp_path, "Local Folders/Lists.sbd/python.mbox", MBOX),
        _member(tmp_path, "export/readme.txt", b"hello"),
    ]
    sources, ignored = classify(members)
    assert [m.parts[-1] for m in ignored] == ["readme.txt"]
    messages = list(read_sources(sources, limit=LIMIT))
    by_folder = {m.folder: m for m in messages}
    assert set(by_folder) == {
        ("export", "Inbox"),
        ("export", "Work", "Clients"),
        ("Local Folders", "Lists", "python"),
    }
    assert by_folder[("export", "Inbox")].flags == {headers.SEEN}
    assert by_folder[("export", "Inbox")].when == datetime(2019, 6, 4, 6, 15, tzinfo=UTC)
    assert messages[-1].done == sum(m.size for m in members[:3])


def test_folder_names_follow_cyrus_rules() -> None:
    special = {"\\Sent": ("Gesendete Objekte",), "\\Trash": ("Deleted Items",)}
    assert map_folder(("Top of Personal Folders", "Sent Items"), special=special) == ("Gesendete Objekte",)
    assert map_folder(("Deleted Items", "old"), special=special) == ("Deleted Items", "old")
    assert map_folder(("Drafts",), special=special) == ("Drafts",)  # no \Drafts folder: kept as it is
    assert map_folder(("INBOX",), special=special) == ()
    assert map_folder(("inbox", "Clients"), special=special) == ("Clients",)
    assert map_folder(("a!b", "c|d{e}", " f ", "x/y%z*", "tab\there"), special={}) == (
        "a_b",
        "c_d_e_",
        "f",
        "x_y_z_",
        "tab_here",
    )
    assert map_folder(("Archive", "Inbox"), special={}) == ("Archive", "Inbox_")
    assert map_folder(("Sent Items",), special=special, into=("Old mail",)) == ("Old mail", "Sent Items")
    assert check_into("INBOX/Archive/2019/") == ("Archive", "2019")
    with pytest.raises(FolderRefused):
        map_folder(tuple("x" * 90 for _ in range(6)), special={})


def test_keys_are_equal_for_equal_messages() -> None:
    data = headers.crlf(b"Subject: x\nMessage-ID:  <a@b>\nDate: Mon, 1 Jan 2001 00:00:00 +0000\n\nbody\n")
    assert headers.message_key(data) == ("<a@b>", "Mon, 1 Jan 2001 00:00:00 +0000", len(data))
    no_id = headers.crlf(b"Subject: x\nDate: Mon, 1 Jan 2001 00:00:00 +0000\n\nbody\n")
    ident, _date, _size = headers.message_key(no_id)
    assert ident.startswith("#") and ident != headers.message_key(no_id.replace(b"x", b"y", 1))[0]
