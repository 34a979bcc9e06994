"""LDIF (RFC 2849) to import entries (TLS-03): a streaming reader that never trusts the file.

The file is read a bounded line at a time (`readline(limit)`), so a 200 MB line costs a 16 KiB buffer, not
200 MB: the line is skipped to its end and its entry refused. An entry is at most MAX_ENTRY bytes; beyond
that its remaining lines are dropped unread and it is refused. Every record becomes one ImportEntry or one
EntryProblem (migration/entries.py), in file order; nothing is fetched, nothing touches the directory.

Accepted: content records (`dn:` then `attr: value` lines) and change records with `changetype: add`;
folded lines (a leading space continues the line before), `attr:: base64` values, `#` comments, a leading
`version: 1`. Refused per entry, with the reason: other change types (modify, delete, modrdn, moddn),
controls, `attr:< URL` values (never fetched), base64 that does not decode or is not UTF-8, binary
attributes, attribute options (`;lang-de`), attributes outside the person-field list, and entries that are
not people (see docs/imports.md for the list and the DN rule).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from accounts.services.person import KEY_BY_ATTR
from mailadmin.directory import dit
from mailadmin.directory.entries import OPERATIONAL
from migration.entries import EntryProblem, ImportEntry

MAX_LINE = 16 * 1024  # bytes of one physical line
MAX_ENTRY = 64 * 1024  # bytes of one entry, all its lines together
MAX_VALUES = 100  # attribute values of one entry
_SKIP_CHUNK = 64 * 1024  # what a too-long line is read in while it is skipped

_ATTR_RE = re.compile(rb"[A-Za-z][A-Za-z0-9-]*(?:;[A-Za-z0-9-]+)*|[0-9]+(?:\.[0-9]+)+")

# LDAP attribute (lower case) -> ImportEntry field, for the values the console writes itself.
_NAMES = {
    "uid": "uid",
    "userid": "uid",
    "givenname": "first_name",
    "gn": "first_name",
    "sn": "last_name",
    "surname": "last_name",
    "initials": "initials",
}
_PERSON = {attr.lower(): key for attr, key in KEY_BY_ATTR.items()}
_ADDRESSES = {"mail": "mail", "rfc822mailbox": "mail", "mailalias": "aliases", "maillocaladdress": "aliases"}
_BOOLEANS = {
    "mailwebaccess": "web_access",
    "mailsendlocalonly": "send_local_only",
    "mailreceivelocalonly": "receive_local_only",
    "mailenabled": "enabled",
}
_OTHER = {"userpassword": "password", "mailforward": "forwards", "mailquota": "quota_kib"}
_FIELDS = {**_NAMES, **_ADDRESSES, **_BOOLEANS, **_OTHER}
# Read but not stored: the console makes cn from the names; objectClass is checked against _CLASSES.
_CHECKED_ONLY = frozenset({"cn", "commonname", "objectclass"})
# What slapd writes by itself is dropped without a word (mailadmin.directory.entries.OPERATIONAL); memberOf
# is the group membership, which an import does not carry over (docs/imports.md).
_OPERATIONAL = OPERATIONAL
_CLASSES = frozenset(
    {"top", "person", "organizationalperson", "inetorgperson", "mailaccount", "inetlocalmailrecipient"}
)
# Attributes whose values are not text: photos, certificates, Windows ids, key material.
_BINARY = frozenset(
    {
        "jpegphoto",
        "photo",
        "audio",
        "thumbnailphoto",
        "thumbnaillogo",
        "usercertificate",
        "cacertificate",
        "usersmimecertificate",
        "userpkcs12",
        "crosscertificatepair",
        "certificaterevocationlist",
        "authorityrevocationlist",
        "objectsid",
        "objectguid",
        "krbprincipalkey",
    }
)
_KNOWN = frozenset({*_FIELDS, *_PERSON, *_CHECKED_ONLY})
_SINGLE = frozenset(
    {"uid", "first_name", "last_name", "initials", "password", "quota_kib", *_BOOLEANS.values()}
)


class _Refused(Exception):
    """One entry cannot be imported; the message is the report's reason."""


@dataclass
class _Record:
    first_line: int
    lines: list[tuple[int, bytearray]] = field(default_factory=list)
    problem: str = ""
    size: int = 0


def parse_ldif(
    stream: BinaryIO, *, max_line: int = MAX_LINE, max_entry: int = MAX_ENTRY
) -> Iterator[ImportEntry | EntryProblem]:
    """One ImportEntry or EntryProblem per record of `stream` (opened in binary mode), in file order."""
    number = 0
    for record in _records(stream, max_line, max_entry):
        if record.lines and bytes(record.lines[0][1]).lower().startswith(b"version:"):
            del record.lines[0]  # the file's version line sits in front of its first entry
        if not record.lines and not record.problem:
            continue  # comments only, or the version line alone
        number += 1
        where = f"entry {number} (line {record.lines[0][0] if record.lines else record.first_line})"
        if record.problem:
            yield EntryProblem(where, record.problem, _uid_hint(record))
            continue
        try:
            yield _entry(record, where)
        except _Refused as exc:
            yield EntryProblem(where, str(exc), _uid_hint(record))


def _physical_lines(stream: BinaryIO, max_line: int) -> Iterator[tuple[int, bytes | None]]:
    """(line number, line without its end) for each line; None for a line longer than `max_line` bytes,
    which is read to its end in bounded chunks and dropped."""
    number = 0
    while True:
        line = stream.readline(max_line + 2)  # room for the CR LF of a line of exactly max_line bytes
        if not line:
            return
        number += 1
        if not line.endswith(b"\n") and len(line) == max_line + 2:
            while line and not line.endswith(b"\n"):
                line = stream.readline(_SKIP_CHUNK)
            yield number, None
            continue
        line = line[:-1] if line.endswith(b"\n") else line
        line = line[:-1] if line.endswith(b"\r") else line
        yield number, (line if len(line) <= max_line else None)


def _records(stream: BinaryIO, max_line: int, max_entry: int) -> Iterator[_Record]:
    record: _Record | None = None
    in_comment = False
    first = True
    for number, line in _physical_lines(stream, max_line):
        if first and line is not None and line.startswith(b"\xef\xbb\xbf"):
            line = line[3:]  # a UTF-8 byte order mark
        first = False
        if line is not None and not line.strip(b" \t"):
            if record is not None:
                yield record
            record, in_comment = None, False
            continue
        if record is None:
            record = _Record(number)
        if record.problem:
            continue  # refused already: the rest of the entry is only skipped
        if line is None:
            record.problem = f"line {number} is longer than {max_line} bytes"
            continue
        record.size += len(line)
        if record.size > max_entry:
            record.problem = f"the entry is larger than {max_entry} bytes"
            continue
        if line.startswith(b" "):
            if in_comment:
                continue
            if not record.lines:
                record.problem = f"line {number} continues a line that is not there"
                continue
            record.lines[-1][1].extend(line[1:])
        elif line.startswith(b"#"):
            in_comment = True
        else:
            in_comment = False
            record.lines.append((number, bytearray(line)))
    if record is not None:
        yield record


def _uid_hint(record: _Record) -> str:
    """The login a refused entry was meant to have, for the report (from its DN or uid line, if plain)."""
    for _number, raw in record.lines[:50]:
        for prefix in (b"dn: uid=", b"uid: "):
            if raw.lower().startswith(prefix):
                value = bytes(raw[len(prefix) :]).split(b",", 1)[0].strip()
                text = value.decode("utf-8", "replace")
                return text[:64] if text.isprintable() else ""
    return ""


def _split(number: int, raw: bytearray) -> tuple[str, str]:
    """(attribute name as written, value) of one logical line; _Refused for anything else."""
    colon = raw.find(b":")
    name = bytes(raw[:colon]) if colon > 0 else b""
    if not name or not _ATTR_RE.fullmatch(name):
        raise _Refused(f"line {number} is not an 'attribute: value' line")
    attr = name.decode("ascii")
    rest = bytes(raw[colon + 1 :])
    if rest.startswith(b"<"):
        raise _Refused(f"line {number}: {attr} is given as a URL (:<); such values are never fetched")
    if attr.split(";")[0].lower() in _BINARY or ";binary" in attr.lower():
        raise _Refused(f"line {number}: {attr} is a binary attribute; binary values are not imported")
    if rest.startswith(b":"):
        try:
            data = base64.b64decode(rest[1:].strip(), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise _Refused(f"line {number}: the base64 value of {attr} does not decode") from exc
    else:
        data = rest.lstrip(b" ")
    try:
        return attr, data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Refused(f"line {number}: the value of {attr} is not UTF-8 text") from exc


def _entry(record: _Record, where: str) -> ImportEntry:
    lines = record.lines
    number, raw = lines[0]
    attr, dn = _split(number, raw)
    if attr.lower() != "dn":
        raise _Refused(f"line {number}: an entry must begin with its dn: line")
    values: dict[str, list[str]] = {}
    body = lines[1:]
    if len(body) > MAX_VALUES:
        raise _Refused(f"the entry has more than {MAX_VALUES} values")
    for index, (number, raw) in enumerate(body):
        attr, value = _split(number, raw)
        low = attr.lower()
        if low == "control":
            raise _Refused(f"line {number}: LDIF controls are not imported")
        if low == "changetype":
            if index != 0:
                raise _Refused(f"line {number}: changetype must follow the dn: line")
            if value.strip().lower() != "add":
                raise _Refused(
                    f"changetype: {value.strip()[:20]} is not imported (only new entries: changetype add or "
                    "none)"
                )
            continue
        if ";" in attr:
            raise _Refused(f"line {number}: attribute options ({attr}) are not imported")
        if low in _OPERATIONAL:
            continue
        if low not in _KNOWN:
            raise _Refused(f"line {number}: the attribute {attr} is not imported")
        values.setdefault(low, []).append(value)
    return _build(dn, values, where)


def _build(dn: str, values: dict[str, list[str]], where: str) -> ImportEntry:
    for value in values.get("objectclass", []):
        if value.strip().lower() not in _CLASSES:
            raise _Refused(
                f"objectClass {value.strip()[:40]} is not imported: only people (inetOrgPerson) are"
            )
    fields: dict[str, list[str]] = {}
    for attr, found in values.items():
        key = _FIELDS.get(attr)
        if key is not None:
            fields.setdefault(key, []).extend(found)
    for key in _SINGLE:
        if len(fields.get(key, [])) > 1:
            raise _Refused(f"{_label(key)} has more than one value")
    person: dict[str, str] = {}
    for attr, key in _PERSON.items():
        found = values.get(attr, [])
        if len(found) > 1:
            raise _Refused(f"{attr} has more than one value (the console keeps one)")
        if found:
            person[key] = found[0]
    uid, container = _place(dn, _one(fields, "uid"))
    last = _one(fields, "last_name")
    if not last.strip():
        raise _Refused("sn (the last name) is missing")
    secret = _one(fields, "password")
    hashed = bool(re.match(r"\{[A-Za-z0-9.-]+\}", secret))
    mail = fields.get("mail", [])
    enabled = _boolean(fields, "enabled")
    return ImportEntry(
        where=where,
        uid=uid,
        last_name=last,
        first_name=_one(fields, "first_name"),
        initials=_one(fields, "initials"),
        # Further mail values are addresses of the same person: they become extra addresses.
        mail=mail[0] if mail else "",
        aliases=tuple(mail[1:] + fields.get("aliases", [])),
        forwards=tuple(fields.get("forwards", [])),
        person=person,
        password="" if hashed else secret,
        password_hash=secret if hashed else "",
        container_dn=container,
        disabled=enabled is False,
        quota_kib=_quota(fields),
        web_access=_boolean(fields, "web_access"),
        send_local_only=_boolean(fields, "send_local_only"),
        receive_local_only=_boolean(fields, "receive_local_only"),
    )


def _place(dn: str, uid: str) -> tuple[str, str]:
    """(login, parent container) from the DN: `uid=<login>,<parent>`, or `cn=...,<parent>` with a uid
    attribute (the account is then named uid=<login> below the same parent)."""
    parts = dit.split_dn(dn.strip())
    if parts is None:
        raise _Refused("the dn is not a valid distinguished name")
    kind, value, parent = parts
    if not parent:
        raise _Refused("the dn names no container")
    if kind == "uid":
        if uid and uid.lower() != value.lower():
            raise _Refused(f"the dn names uid={value[:64]} but the uid attribute says {uid[:64]}")
        return uid or value, parent
    if kind == "cn" and uid:
        return uid, parent
    if kind == "cn":
        raise _Refused("an entry named cn=... needs a uid attribute (the login name)")
    raise _Refused("the dn must begin with uid= (or cn= with a uid attribute)")


def _one(fields: dict[str, list[str]], key: str) -> str:
    found = fields.get(key, [])
    return found[0] if found else ""


def _boolean(fields: dict[str, list[str]], key: str) -> bool | None:
    value = _one(fields, key).strip().upper()
    if not value:
        return None
    if value not in ("TRUE", "FALSE"):
        raise _Refused(f"{_label(key)} must be TRUE or FALSE")
    return value == "TRUE"


def _quota(fields: dict[str, list[str]]) -> int | None:
    value = _one(fields, "quota_kib").strip()
    if not value:
        return None
    if not value.isdigit() or len(value) > 12:
        raise _Refused("mailQuota must be a whole number of KiB")
    return int(value)


def _label(key: str) -> str:
    return {
        "uid": "uid",
        "first_name": "givenName",
        "last_name": "sn",
        "initials": "initials",
        "password": "userPassword",
        "quota_kib": "mailQuota",
        "web_access": "mailWebAccess",
        "send_local_only": "mailSendLocalOnly",
        "receive_local_only": "mailReceiveLocalOnly",
        "enabled": "mailEnabled",
    }.get(key, key)
