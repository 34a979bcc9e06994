"""Shadow file import (TLS-04): the accounts of a Unix host from /etc/passwd and /etc/shadow, or from
/etc/shadow alone, with their crypt hashes kept so users log in with their old passwords.

Which accounts:
- With passwd: every shadow line whose account has a uid in [min_uid, max_uid] (default 1000 and up, the
  range Debian's adduser gives people). The shell does not count: mail-only users often have nologin or
  false as their shell. `nobody` (uid 65534, and the 65535 / 4294967294 of older systems) never comes.
  A shadow line without a passwd line is refused (EntryProblem); passwd lines without a shadow line are
  not accounts to import and are passed over.
- Shadow alone: there are no uids, so no numeric filter. System accounts are told by their name (root,
  daemon, www-data, ...; any name starting with `_` or `systemd-`) and by a password field that never held a
  hash (`*`, `!`, `!!`, `!*`): both are passed over.

Passwords (the second shadow field):
- a crypt hash ($1$, $5$, $6$, $y$, $2b$ ...) becomes password_hash `{CRYPT}<hash>`; whether slapd can verify
  it is checked by the pipeline (mailadmin/directory/hashes.py), which refuses for example old DES hashes;
- `!<hash>` (locked by `passwd -l`): the hash is kept and the account is created disabled;
- `*`, `!` or `!!` alone (no password login possible): created disabled, without a password;
- empty: never "no password". Created disabled, without a password, with a note in the report;
- an expiry date (eighth field) in the past: created disabled.

Names: the first part of GECOS (before the first comma) is the full name; its last word is the last name
(sn), the words before it the first name. No name: the login is the last name.

Lines with the wrong number of fields (shadow 9, passwd 7), NIS `+`/`-` lines and lines that are not UTF-8
are refused one by one, named by file and line number. Lines are capped at MAX_LINE bytes.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from migration.entries import EntryProblem, ImportEntry

MAX_LINE = 4096
MAX_PASSWD_LINES = 200_000
CHUNK = 64 * 1024
SHADOW_FIELDS = 9
PASSWD_FIELDS = 7
NOBODY_UIDS = frozenset({65534, 65535, 4294967294})
# Debian's base system users (base-passwd) and common daemons: passed over when only shadow is given.
SYSTEM_NAMES = frozenset(
    {
        "root", "daemon", "bin", "sys", "sync", "games", "man", "lp", "mail", "news", "uucp", "proxy",
        "www-data", "backup", "list", "irc", "gnats", "nobody", "messagebus", "sshd", "postfix", "cyrus",
        "openldap", "redis", "postgres", "mysql", "ntp", "statd", "tss", "uuidd", "avahi", "dnsmasq",
        "polkitd", "rtkit", "usbmux", "colord", "saned", "pulse", "lightdm", "gdm", "halt", "shutdown",
        "operator", "ftp", "proftpd", "nginx", "clamav", "amavis", "debian-spamd", "dovecot", "dovenull",
    }
)  # fmt: skip
NO_HASH = frozenset({"*", "!", "!!", "!*", "*!", "*LK*", "NP", "x"})
LOCKED_NOTE = "locked in the shadow file (!): created disabled; the old password works once it is enabled"
NO_LOGIN_NOTE = "no password login in the shadow file ({field}): created disabled, without a password"
EMPTY_NOTE = "empty password in the shadow file: created disabled"
EXPIRED_NOTE = "expired in the shadow file: created disabled"
TOO_LONG = f"The line is longer than {MAX_LINE} bytes."


@dataclass(frozen=True)
class _Person:
    uid_number: int
    gecos: str


def _lines(stream: BinaryIO, label: str) -> Iterator[tuple[int, str | None, str]]:
    """(line number, text, "") of each line, or (line number, None, problem) for a line refused."""
    number = 0
    buffer = b""
    overlong = False  # inside a line already too long: its bytes are dropped up to its end
    while True:
        chunk = stream.read(CHUNK)
        if not isinstance(chunk, bytes):
            yield number + 1, None, f"The {label} upload could not be read as a file."
            return
        if not chunk:
            break
        parts = (buffer + chunk).split(b"\n")
        buffer = parts.pop()
        for raw in parts:
            number += 1
            if overlong:
                overlong = False
                yield number, None, TOO_LONG
            else:
                yield (number, *_decode(raw))
        if len(buffer) > MAX_LINE:
            overlong, buffer = True, b""
    if overlong:
        yield number + 1, None, TOO_LONG
    elif buffer:
        yield (number + 1, *_decode(buffer))


def _decode(raw: bytes) -> tuple[str | None, str]:
    if len(raw) > MAX_LINE:
        return None, TOO_LONG
    try:
        return raw.decode("utf-8").rstrip("\r"), ""
    except UnicodeDecodeError:
        return None, "The line is not UTF-8 text (save the file as UTF-8)."


def _fields(text: str, expected: int) -> tuple[list[str] | None, str]:
    if text.startswith(("+", "-")):
        return None, "NIS lines (+ or -) name no account of their own."
    fields = text.split(":")
    if len(fields) != expected:
        return None, f"The line has {len(fields)} fields separated by ':'; it needs {expected}."
    if not fields[0]:
        return None, "The line names no login."
    return fields, ""


def _skip(text: str) -> bool:
    return not text.strip() or text.lstrip().startswith("#")


def _read_passwd(stream: BinaryIO) -> tuple[dict[str, _Person], list[EntryProblem]]:
    people: dict[str, _Person] = {}
    problems: list[EntryProblem] = []
    for number, text, problem in _lines(stream, "passwd"):
        where = f"passwd line {number}"
        if text is None:
            problems.append(EntryProblem(where, problem))
            continue
        if _skip(text):
            continue
        fields, problem = _fields(text, PASSWD_FIELDS)
        if fields is None:
            problems.append(EntryProblem(where, problem))
            continue
        login = fields[0]
        if not fields[2].isdigit() or len(fields[2]) > 10:
            problems.append(EntryProblem(where, "The uid (third field) is not a number.", login))
        elif login in people:
            problems.append(EntryProblem(where, "This login appears twice in the passwd file.", login))
        elif len(people) >= MAX_PASSWD_LINES:
            problems.append(
                EntryProblem(where, f"The passwd file has more than {MAX_PASSWD_LINES} accounts.")
            )
            break
        else:
            people[login] = _Person(int(fields[2]), fields[4])
    return people, problems


def _names(login: str, gecos: str) -> tuple[str, str]:
    """(last name, first name) from GECOS: its first part is the full name."""
    words = gecos.split(",", 1)[0].split()
    if not words:
        return login, ""
    return words[-1], " ".join(words[:-1])


def _expired(field: str) -> bool:
    if not field.isdigit() or len(field) > 7:
        return False
    return datetime.date(1970, 1, 1) + datetime.timedelta(days=int(field)) <= datetime.date.today()


def _entry(where: str, fields: list[str], person: _Person | None) -> ImportEntry:
    login, secret = fields[0], fields[1]
    last, first = _names(login, person.gecos if person else "")
    notes: list[str] = []
    password_hash = ""
    disabled = False
    if secret == "":
        disabled = True
        notes.append(EMPTY_NOTE)
    elif secret in NO_HASH or secret.startswith("*"):
        disabled = True
        notes.append(NO_LOGIN_NOTE.format(field=secret[:8]))
    elif secret.startswith("!"):
        disabled = True
        rest = secret.lstrip("!")
        if rest in NO_HASH or rest.startswith("*") or not rest:
            notes.append(NO_LOGIN_NOTE.format(field=secret[:8]))
        else:
            password_hash = "{CRYPT}" + rest
            notes.append(LOCKED_NOTE)
    else:
        password_hash = "{CRYPT}" + secret
    if _expired(fields[7]):
        disabled = True
        notes.append(EXPIRED_NOTE)
    return ImportEntry(
        where=where,
        uid=login,
        last_name=last,
        first_name=first,
        password_hash=password_hash,
        disabled=disabled,
        note="; ".join(notes),
    )


def _wanted(login: str, secret: str, person: _Person | None, min_uid: int, max_uid: int | None) -> bool:
    if person is None:  # shadow alone
        system = login in SYSTEM_NAMES or login.startswith(("_", "systemd-"))
        return not system and secret not in NO_HASH
    number = person.uid_number
    return number >= min_uid and (max_uid is None or number <= max_uid) and number not in NOBODY_UIDS


def parse_shadow(
    passwd: BinaryIO | None, shadow: BinaryIO, *, min_uid: int = 1000, max_uid: int | None = None
) -> Iterator[ImportEntry | EntryProblem]:
    """One ImportEntry per account to import, EntryProblem per refused line (see the module doc): the
    passwd file's problems first, then the shadow file's entries and problems in its order."""
    people: dict[str, _Person] | None = None
    if passwd is not None:
        people, problems = _read_passwd(passwd)
        yield from problems
    for number, text, problem in _lines(shadow, "shadow"):
        where = f"shadow line {number}"
        if text is None:
            yield EntryProblem(where, problem)
            continue
        if _skip(text):
            continue
        fields, problem = _fields(text, SHADOW_FIELDS)
        if fields is None:
            yield EntryProblem(where, problem)
            continue
        login = fields[0]
        person = None
        if people is not None:
            person = people.get(login)
            if person is None:
                yield EntryProblem(where, "This login has no line in the passwd file.", login)
                continue
        if _wanted(login, fields[1], person, min_uid, max_uid):
            yield _entry(where, fields, person)
