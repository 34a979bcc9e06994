"""The shadow file parser (migration/shadow.py, TLS-04): which accounts come, what their password becomes,
and the lines it refuses (5 or 12 fields, NIS lines, not UTF-8, too long). Pure parsing; the logins with
the old passwords are in test_shadow_login.py."""

from __future__ import annotations

import datetime
import io

import pytest

from migration import shadow
from migration.entries import EntryProblem, ImportEntry
from migration.shadow import EMPTY_NOTE, LOCKED_NOTE, parse_shadow

H6 = "$6$saltsalt$" + "a" * 86
HY = "$y$j9T$abcdefghijklmnop$" + "b" * 43
PASSWD = """\
root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin
anna:x:1000:1000:Anna Maria Beispiel,Room 1,+49 30 1,,:/home/anna:/bin/bash
bert:x:1001:1001::/home/bert:/usr/sbin/nologin
carl:x:1002:1002:Carl:/home/carl:/bin/false
dora:x:1003:1003:Dora Dorn:/home/dora:/bin/bash
emil:x:1004:1004:Emil Ernst:/home/emil:/bin/bash
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
big:x:70000:70000:Big Uid:/home/big:/bin/bash
"""
SHADOW = f"""\
root:{H6}:19000:0:99999:7:::
daemon:*:19000:0:99999:7:::
www-data:*:19000:0:99999:7:::
anna:{H6}:19000:0:99999:7:::
bert:{HY}:19000:0:99999:7:::
carl:!{H6}:19000:0:99999:7:::
dora::19000:0:99999:7:::
emil:!:19000:0:99999:7:::
nobody:*:19000:0:99999:7:::
big:{H6}:19000:0:99999:7:::
"""


def parse(
    passwd: str | None, shadow_text: str | bytes, **kwargs: int | None
) -> list[ImportEntry | EntryProblem]:
    data = shadow_text.encode() if isinstance(shadow_text, str) else shadow_text
    stream = None if passwd is None else io.BytesIO(passwd.encode())
    return list(parse_shadow(stream, io.BytesIO(data), **kwargs))  # type: ignore[arg-type]


def by_uid(result: list[ImportEntry | EntryProblem]) -> dict[str, ImportEntry]:
    return {r.uid: r for r in result if isinstance(r, ImportEntry)}


def test_people_with_uids_from_1000_and_their_passwords() -> None:
    result = parse(PASSWD, SHADOW)
    found = by_uid(result)
    assert sorted(found) == ["anna", "bert", "big", "carl", "dora", "emil"]  # not root, daemons, nobody
    anna = found["anna"]
    assert anna == ImportEntry(
        where="shadow line 4",
        uid="anna",
        last_name="Beispiel",
        first_name="Anna Maria",
        password_hash="{CRYPT}" + H6,
    )
    assert (found["bert"].last_name, found["bert"].first_name) == ("bert", "")  # no GECOS name: the login
    assert found["bert"].password_hash == "{CRYPT}" + HY and not found["bert"].disabled
    assert found["carl"].last_name == "Carl"


def test_locked_accounts_keep_their_hash_and_come_disabled() -> None:
    carl = by_uid(parse(PASSWD, SHADOW))["carl"]
    assert (carl.password_hash, carl.disabled, carl.note) == ("{CRYPT}" + H6, True, LOCKED_NOTE)


def test_an_empty_hash_never_means_no_password() -> None:
    dora = by_uid(parse(PASSWD, SHADOW))["dora"]
    assert (dora.password, dora.password_hash, dora.disabled, dora.note) == ("", "", True, EMPTY_NOTE)


def test_a_lock_without_a_hash_comes_disabled_without_a_password() -> None:
    emil = by_uid(parse(PASSWD, SHADOW))["emil"]
    assert (emil.password_hash, emil.disabled) == ("", True)
    assert "no password login" in emil.note


def test_the_uid_range() -> None:
    assert sorted(by_uid(parse(PASSWD, SHADOW, min_uid=1001, max_uid=1003))) == ["bert", "carl", "dora"]
    assert "root" in by_uid(parse(PASSWD, SHADOW, min_uid=0))  # asked for explicitly
    assert "nobody" not in by_uid(parse(PASSWD, SHADOW, min_uid=0))  # never


def test_shadow_alone_passes_over_system_accounts_by_name_and_missing_hash() -> None:
    text = SHADOW + f"_apt:*:19000::::::\nsystemd-network:{H6}:19000::::::\nfrank:{H6}:19000::::::\n"
    found = by_uid(parse(None, text))
    assert sorted(found) == ["anna", "bert", "big", "carl", "dora", "frank"]  # emil: `!` alone, no hash


@pytest.mark.parametrize("fields", [5, 12])
def test_lines_with_the_wrong_number_of_fields_are_refused_with_their_line(fields: int) -> None:
    bad = ":".join(["gina", H6, *["1"] * (fields - 2)])
    result = parse(PASSWD + "gina:x:1005:1005:Gina:/home/gina:/bin/sh\n", SHADOW + bad + "\n")
    problems = [r for r in result if isinstance(r, EntryProblem)]
    assert problems == [
        EntryProblem("shadow line 11", f"The line has {fields} fields separated by ':'; it needs 9.")
    ]
    assert len(by_uid(result)) == 6  # the others unaffected


def test_bad_passwd_lines_are_refused_with_their_line() -> None:
    passwd = PASSWD + "short:x:1\nhans:x:abc:1::/:/bin/sh\n+::::::\nanna:x:1999:1::/:/bin/sh\n"
    result = parse(passwd, SHADOW)
    assert [(p.where, p.reason) for p in result if isinstance(p, EntryProblem)] == [
        ("passwd line 11", "The line has 3 fields separated by ':'; it needs 7."),
        ("passwd line 12", "The uid (third field) is not a number."),
        ("passwd line 13", "NIS lines (+ or -) name no account of their own."),
        ("passwd line 14", "This login appears twice in the passwd file."),
    ]


def test_a_shadow_line_without_a_passwd_line_is_refused() -> None:
    result = parse(PASSWD, SHADOW + f"ghost:{H6}:19000::::::\n")
    assert EntryProblem("shadow line 11", "This login has no line in the passwd file.", "ghost") in result


def test_comments_blank_lines_crlf_and_no_final_newline() -> None:
    text = f"# exported\r\n\r\nanna:{H6}:19000:0:99999:7:::\r\nbert:{HY}:19000:0:99999:7:::"
    found = by_uid(parse(None, text))
    assert found["anna"].password_hash == "{CRYPT}" + H6 and found["anna"].where == "shadow line 3"
    assert found["bert"].password_hash == "{CRYPT}" + HY


def test_an_expiry_in_the_past_comes_disabled() -> None:
    today = (datetime.date.today() - datetime.date(1970, 1, 1)).days
    text = f"old:{H6}:19000:0:99999:7::{today - 1}:\nnew:{H6}:19000:0:99999:7::{today + 30}:\n"
    found = by_uid(parse(None, text))
    assert found["old"].disabled and "expired" in found["old"].note
    assert not found["new"].disabled


def test_lines_that_are_not_utf8_or_too_long_are_refused_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shadow, "CHUNK", 7)  # line ends across chunk edges
    text = (
        f"anna:{H6}:19000::::::\n".encode()
        + "jörg:".encode("latin-1") + f"{H6}:19000::::::\n".encode()
        + b"long:" + b"x" * (shadow.MAX_LINE + 10) + b":19000::::::\n"
        + f"bert:{HY}:19000::::::\n".encode()
    )  # fmt: skip
    result = parse(None, text)
    assert sorted(by_uid(result)) == ["anna", "bert"]
    assert [(p.where, p.reason) for p in result if isinstance(p, EntryProblem)] == [
        ("shadow line 2", "The line is not UTF-8 text (save the file as UTF-8)."),
        ("shadow line 3", shadow.TOO_LONG),
    ]
    assert by_uid(result)["bert"].where == "shadow line 4"
