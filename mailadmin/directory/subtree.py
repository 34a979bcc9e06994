"""One subtree (a domain) put back from a backup's LDIF: entries added, or replaced with the backup's values.

Two passes. `plan` reads the whole LDIF and refuses it, before anything is written, when an entry lies
outside the subtree, a record is not a plain entry, or a userPassword is not a hash slapd can verify (a
backup keeps hashes as hashes; a clear text in a crafted file is not written). `apply` then writes entry by
entry, parents first, and keeps what each entry was before (none: it was added); if any write fails, or the
caller cancels, everything done so far is undone in reverse, so the subtree is as it was.

Entries of the live subtree that the backup does not have are left alone: a restore puts back, it does not
prune what was made since.
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import ldap
import ldif  # python-ldap's LDIF reader
from ldap.ldapobject import LDAPObject

from mailadmin.directory import dit
from mailadmin.directory.connection import run
from mailadmin.directory.entries import OPERATIONAL
from mailadmin.directory.errors import DirectoryRefused
from mailadmin.directory.hashes import check_password_hash
from mailadmin.directory.names import InvalidName

MAX_ENTRIES = 1_000_000

Attrs = dict[str, list[bytes]]


class SubtreeRefused(Exception):
    """The LDIF cannot be restored into this subtree; nothing was written."""


@dataclass
class Result:
    added: int = 0
    replaced: int = 0
    unchanged: int = 0
    journal: list[tuple[str, Attrs | None]] = field(default_factory=list)


class _Reader(ldif.LDIFParser):
    def __init__(self, stream: object) -> None:
        super().__init__(stream, max_entries=MAX_ENTRIES, process_url_schemes=[])
        self.records: list[tuple[str, Attrs]] = []

    def handle(self, dn: str, entry: Attrs) -> None:
        self.records.append((dn, entry))


def plan(path: Path, subtree: str) -> list[tuple[str, Attrs]]:
    """The LDIF's entries, checked, parents first, operational attributes dropped."""
    with path.open("rb") as f:
        reader = _Reader(f)
        try:
            reader.parse()
        except (ValueError, KeyError) as exc:
            raise SubtreeRefused(f"The backup's LDIF cannot be read: {exc}") from exc
    records = []
    for dn, entry in reader.records:
        if not dit.valid_dn(dn) or not dit.is_inside(dn, subtree):
            raise SubtreeRefused(f"The entry {dn[:200]!r} is not inside {subtree}.")
        if any(value is None for values in entry.values() for value in values):
            # `attr:< URL`: the reader never fetches (process_url_schemes=[]) and the entry is refused
            raise SubtreeRefused(
                f"The entry {dn[:200]!r} gives a value as a URL; such values are not fetched."
            )
        attrs = {a: v for a, v in entry.items() if a.lower() not in OPERATIONAL}
        for attr, values in attrs.items():
            if attr.lower() == "userpassword":
                for value in values:
                    try:
                        check_password_hash(value.decode("utf-8"))
                    except (InvalidName, UnicodeError) as exc:
                        raise SubtreeRefused(
                            f"The entry {dn[:200]!r} has a password that is not a hash slapd can check."
                        ) from exc
        if not any(a.lower() == "objectclass" for a in attrs):
            raise SubtreeRefused(f"The entry {dn[:200]!r} has no objectClass.")
        records.append((dn, attrs))
    if not records or dit.normalize_dn(records[0][0]) != dit.normalize_dn(subtree):
        raise SubtreeRefused(f"The backup does not begin with {subtree}.")
    records.sort(key=lambda r: len(ldap.dn.str2dn(r[0])))  # parents first (stable: slapcat's order)
    return records


def _live(conn: LDAPObject, dn: str) -> Attrs | None:
    try:
        found = conn.search_s(dn, ldap.SCOPE_BASE, "(objectClass=*)", ["*"])
    except ldap.NO_SUCH_OBJECT:
        return None
    return {a: list(v) for a, v in found[0][1].items()} if found else None


def _lower(attrs: Attrs) -> dict[str, tuple[str, list[bytes]]]:
    return {a.lower(): (a, v) for a, v in attrs.items()}


def _differs(want: Attrs, have: Attrs) -> bool:
    return bool(_mods(want, have))


def _replace(conn: LDAPObject, dn: str, want: Attrs, have: Attrs) -> bool:
    mods = _mods(want, have)
    if mods:
        conn.modify_ext_s(dn, mods)
    return bool(mods)


def _mods(want: Attrs, have: Attrs) -> list[tuple[int, str, list[bytes] | None]]:
    want_l, have_l = _lower(want), _lower(have)
    mods: list[tuple[int, str, list[bytes] | None]] = []
    for key, (attr, values) in want_l.items():
        if key not in have_l or sorted(have_l[key][1]) != sorted(values):
            mods.append((ldap.MOD_REPLACE, attr, values))
    for key, (attr, _values) in have_l.items():
        if key not in want_l and key not in OPERATIONAL:
            mods.append((ldap.MOD_DELETE, attr, None))
    return mods


def apply(
    records: list[tuple[str, Attrs]],
    *,
    tick: Callable[[int], None] = lambda n: None,
    changed: Callable[[str, Attrs | None], None] = lambda dn, before: None,
) -> Result:
    """Write the planned entries; on any failure (or an exception from `tick`, e.g. a Cancel) undo all.
    `changed(dn, before)` hears of each change before it is made (None: an add), for a journal on disk."""
    result = Result()

    def op(conn: LDAPObject) -> None:
        for number, (dn, attrs) in enumerate(records, 1):
            have = _live(conn, dn)
            if have is None or _differs(attrs, have):
                changed(dn, have)
            if have is None:
                conn.add_ext_s(dn, list(attrs.items()))
                result.journal.append((dn, None))
                result.added += 1
            elif _replace(conn, dn, attrs, have):
                result.journal.append((dn, have))
                result.replaced += 1
            else:
                result.unchanged += 1
            tick(number)

    try:
        run(op, what="restore", dn=records[0][0] if records else "")
    except BaseException:
        undo(result.journal)
        raise
    return result


def undo(journal: list[tuple[str, Attrs | None]]) -> None:
    """Put back what `apply` changed, last change first (added entries deleted, replaced ones restored)."""

    def op(conn: LDAPObject) -> None:
        for dn, before in reversed(journal):
            if before is None:
                with contextlib.suppress(ldap.NO_SUCH_OBJECT):
                    conn.delete_ext_s(dn)
            else:
                now = _live(conn, dn)
                if now is not None:
                    _replace(conn, dn, before, now)

    if journal:
        run(op, what="undo a restore", dn=journal[0][0])


def journal_entry_json(dn: str, before: Attrs | None) -> tuple[str, dict[str, list[str]] | None]:
    """One journal entry in a form JSON can hold (values base64)."""
    if before is None:
        return dn, None
    return dn, {a: [base64.b64encode(v).decode("ascii") for v in values] for a, values in before.items()}


def journal_from_json(
    entries: list[tuple[str, dict[str, list[str]] | None]],
) -> list[tuple[str, Attrs | None]]:
    out: list[tuple[str, Attrs | None]] = []
    for dn, before in entries:
        attrs = None if before is None else {a: [base64.b64decode(v) for v in vs] for a, vs in before.items()}
        out.append((dn, attrs))
    return out


__all__ = ["DirectoryRefused", "Result", "SubtreeRefused", "apply", "plan", "undo"]
