"""The LDIF reader on its own: what it accepts, what it refuses per entry and why, and that it stays within
its memory bounds whatever the file holds (a 200 MB line is generated as it is read, never held)."""

from __future__ import annotations

import base64
import io
import tracemalloc

from migration.entries import EntryProblem, ImportEntry
from migration.ldif import MAX_ENTRY, MAX_LINE, parse_ldif

ORG = "o=a.test,dc=a.test,ou=domains,dc=mailadmin"


def parse(text: str | bytes) -> list[ImportEntry | EntryProblem]:
    return list(parse_ldif(io.BytesIO(text.encode() if isinstance(text, str) else text)))


def one(text: str | bytes) -> ImportEntry | EntryProblem:
    items = parse(text)
    assert len(items) == 1, items
    return items[0]


def refused(text: str | bytes) -> str:
    item = one(text)
    assert isinstance(item, EntryProblem), item
    return item.reason


def b64(text: str | bytes) -> str:
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


def test_a_full_entry_with_folding_base64_comments_and_version() -> None:
    text = (
        "version: 1\n\n"
        "# exported from the old server\n"
        f"dn: uid=alice,{ORG}\n"
        "changetype: add\n"
        "objectClass: top\nobjectClass: inetOrgPerson\n"
        "uid: alice\ncn: Alice Smith\nsn: Smith\n"
        "givenName: Ali\n ce\n"
        f"displayName:: {b64('Älice Smith')}\n"
        "mail: alice@a.test\nmail: a.smith@a.test\nmailalias: ali@a.test\n"
        "mailForward: alice@example.org\n"
        "telephoneNumber: +49 30 1234\nl: Berlin\nemployeeNumber: 42\n"
        "userPassword: Clear-pass-1\n"
        "mailQuota: 2048\nmailWebAccess: TRUE\nmailEnabled: FALSE\n"
        "entryUUID: 0f6e-ignored\ncreateTimestamp: 20240101000000Z\n"
    )
    entry = one(text)
    assert isinstance(entry, ImportEntry), entry
    assert entry.where == "entry 1 (line 4)"
    assert (entry.uid, entry.first_name, entry.last_name) == ("alice", "Alice", "Smith")
    assert entry.mail == "alice@a.test"
    assert entry.aliases == ("a.smith@a.test", "ali@a.test")
    assert entry.forwards == ("alice@example.org",)
    assert entry.person == {
        "display_name": "Älice Smith",
        "phone": "+49 30 1234",
        "city": "Berlin",
        "employee_number": "42",
    }
    assert (entry.password, entry.password_hash) == ("Clear-pass-1", "")
    assert entry.container_dn == ORG
    assert (entry.quota_kib, entry.web_access, entry.disabled) == (2048, True, True)
    assert entry.send_local_only is None


def test_crlf_line_ends_and_a_byte_order_mark() -> None:
    text = f"\ufeffdn: uid=bob,{ORG}\r\nsn: Bob\r\nuserPassword: x\r\n\r\n".encode()
    entry = one(text)
    assert isinstance(entry, ImportEntry) and entry.uid == "bob" and entry.last_name == "Bob"


def test_hashed_passwords_are_kept_apart_from_clear_ones() -> None:
    hashed = one(f"dn: uid=c,{ORG}\nsn: C\nuserPassword:: {b64('{SSHA}abcdefgh')}\n")
    assert isinstance(hashed, ImportEntry)
    assert (hashed.password, hashed.password_hash) == ("", "{SSHA}abcdefgh")


def test_change_records_other_than_add_are_refused_and_the_rest_goes_on() -> None:
    items = parse(
        f"dn: uid=m,{ORG}\nchangetype: modify\nreplace: sn\nsn: M\n-\n\n"
        f"dn: uid=d,{ORG}\nchangetype: delete\n\n"
        f"dn: uid=r,{ORG}\nchangetype: modrdn\nnewrdn: uid=s\ndeleteoldrdn: 1\n\n"
        f"dn: uid=ok,{ORG}\nsn: Ok\nuserPassword: x\n"
    )
    assert [type(i).__name__ for i in items] == ["EntryProblem"] * 3 + ["ImportEntry"]
    assert [i.uid for i in items] == ["m", "d", "r", "ok"]
    assert "changetype: modify is not imported" in items[0].reason  # type: ignore[union-attr]
    assert "changetype: modrdn" in items[2].reason  # type: ignore[union-attr]


def test_url_values_are_refused_never_fetched() -> None:
    reason = refused(f"dn: uid=u,{ORG}\nsn: U\ndescription:< file:///etc/shadow\n")
    assert "URL" in reason and "never fetched" in reason
    assert "root" not in reason


def test_base64_that_does_not_decode_or_is_not_utf8_is_refused() -> None:
    assert "does not decode" in refused(f"dn: uid=g,{ORG}\nsn:: ***not base64***\n")
    latin1 = b64(b"\xff\xfe")
    assert "not UTF-8" in refused(f"dn: uid=g,{ORG}\nsn:: {latin1}\n")
    assert "not UTF-8" in refused(f"dn: uid=g,{ORG}\nsn: ".encode() + b"M\xfcller\n")
    bad_dn = b64(b"uid=\xff," + ORG.encode())
    assert "not UTF-8" in refused(f"dn:: {bad_dn}\nsn: X\n")


def test_binary_attributes_options_and_unknown_attributes_are_refused() -> None:
    photo = b64(b"\xff\xd8\xff")
    assert "binary" in refused(f"dn: uid=p,{ORG}\nsn: P\njpegPhoto:: {photo}\n")
    assert "binary" in refused(f"dn: uid=p,{ORG}\nsn: P\nuserCertificate;binary:: AAAA\n")
    assert "options" in refused(f"dn: uid=p,{ORG}\nsn: P\ndescription;lang-de: Hallo\n")
    assert "uidNumber is not imported" in refused(f"dn: uid=p,{ORG}\nsn: P\nuidNumber: 1000\n")
    assert "objectClass posixAccount" in refused(f"dn: uid=p,{ORG}\nsn: P\nobjectClass: posixAccount\n")
    assert "not an 'attribute: value' line" in refused(f"dn: uid=p,{ORG}\nsn: P\nthis is junk\n")
    assert "controls" in refused(f"dn: uid=p,{ORG}\ncontrol: 1.2.3 true\nchangetype: add\nsn: P\n")


def test_missing_and_repeated_fields() -> None:
    assert "sn (the last name) is missing" in refused(f"dn: uid=n,{ORG}\nuserPassword: x\n")
    assert "sn has more than one value" in refused(f"dn: uid=n,{ORG}\nsn: A\nsn: B\n")
    assert "userPassword has more than one value" in refused(
        f"dn: uid=n,{ORG}\nsn: A\nuserPassword: a\nuserPassword: b\n"
    )
    assert "telephonenumber has more than one value" in refused(
        f"dn: uid=n,{ORG}\nsn: A\ntelephoneNumber: 1\ntelephoneNumber: 2\n"
    )
    assert "must be TRUE or FALSE" in refused(f"dn: uid=n,{ORG}\nsn: A\nmailWebAccess: yes\n")
    assert "whole number" in refused(f"dn: uid=n,{ORG}\nsn: A\nmailQuota: lots\n")


def test_the_dn_rule() -> None:
    named_cn = one(f"dn: cn=Carla Diaz,{ORG}\nuid: carla\nsn: Diaz\n")
    assert isinstance(named_cn, ImportEntry) and named_cn.uid == "carla" and named_cn.container_dn == ORG
    assert "needs a uid attribute" in refused(f"dn: cn=Carla Diaz,{ORG}\nsn: Diaz\n")
    assert "uid attribute says" in refused(f"dn: uid=carla,{ORG}\nuid: other\nsn: Diaz\n")
    assert "must begin with uid=" in refused(f"dn: mail=c@a.test,{ORG}\nsn: Diaz\n")
    assert "not a valid distinguished name" in refused("dn: uid=x,,,=\nsn: X\n")
    assert "names no container" in refused("dn: uid=lonely\nsn: X\n")
    assert "must begin with its dn" in refused("sn: X\nuid: x\n")


def test_an_empty_file_and_a_file_of_comments_hold_no_entries() -> None:
    assert parse(b"") == []
    assert parse("version: 1\n\n# nothing here\n#  continued\n\n\n") == []


def test_an_entry_over_the_size_limit_is_refused_and_the_next_one_read() -> None:
    lines = "".join(f"description: {'x' * 1000}\n" for _ in range(MAX_ENTRY // 1000 + 2))
    items = parse(f"dn: uid=big,{ORG}\nsn: B\n{lines}\ndn: uid=next,{ORG}\nsn: N\nuserPassword: x\n")
    assert isinstance(items[0], EntryProblem) and "larger than" in items[0].reason
    assert isinstance(items[1], ImportEntry) and items[1].uid == "next"


class _Generated(io.RawIOBase):
    """A file made up while it is read: `head`, then `count` times the byte `fill`, then `tail`."""

    def __init__(self, head: bytes, fill: bytes, count: int, tail: bytes) -> None:
        self.parts = [head, tail]
        self.fill, self.left = fill, count
        self.block = fill * 65536

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self.parts[0]:
            n = min(len(buffer), len(self.parts[0]))
            buffer[:n] = self.parts[0][:n]
            self.parts[0] = self.parts[0][n:]
            return n
        if self.left:
            n = min(len(buffer), self.left, len(self.block))
            buffer[:n] = self.block[:n]
            self.left -= n
            return n
        n = min(len(buffer), len(self.parts[1]))
        buffer[:n] = self.parts[1][:n]
        self.parts[1] = self.parts[1][n:]
        return n


def test_a_200_mb_line_is_refused_without_being_held() -> None:
    size = 200 * 1024 * 1024
    head = f"dn: uid=first,{ORG}\nsn: F\nuserPassword: x\n\ndn: uid=huge,{ORG}\nsn: H\ndescription: ".encode()
    tail = f"\nmail: huge@a.test\n\ndn: uid=after,{ORG}\nsn: A\nuserPassword: x\n".encode()
    stream = io.BufferedReader(_Generated(head, b"A", size, tail), buffer_size=65536)
    tracemalloc.start()
    try:
        items = list(parse_ldif(stream))
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [i.uid for i in items] == ["first", "huge", "after"]
    assert isinstance(items[1], EntryProblem) and f"longer than {MAX_LINE} bytes" in items[1].reason
    assert isinstance(items[2], ImportEntry)
    assert peak < 4 * 1024 * 1024, f"peak {peak} bytes while reading a {size}-byte line"
