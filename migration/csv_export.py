"""CSV export of accounts: the users of an account search or of a container, in the import's columns
(migration/csv_import.py COLUMNS), so an export imports again.

- UTF-8 with a byte order mark (Excel then reads the umlauts right; the import skips the mark), `,` between
  cells, CRLF between rows, cells quoted where they must be.
- Passwords never leave the directory: the userPassword column is there (an import may fill it) but empty.
- `container` is the entry's parent DN, `disabled` yes or no (mailEnabled FALSE), mailAlias and mailForward
  their values separated by spaces; the person fields take their first value.
- A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return gets a `'` in front (`neutralise`):
  spreadsheets take such a cell for a formula (`=HYPERLINK(...)`, `=cmd|' /C calc'!A0`, DDE). A cell that
  already starts with `'` followed by one of them gets one more, so the import's `unneutralise` gives back
  exactly what the directory holds (a phone number `+49 ...` included).

Rows stream: the directory is read page by page and each batch of rows is handed on as bytes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping

from accounts.selectors import account_export_entries
from mailadmin import directory
from mailadmin.actor import Actor
from mailadmin.audit.services import audit_record
from mailadmin.directory import dit
from migration.csv_import import COLUMNS, FORMULA_STARTS, PERSON_ATTRS

BATCH = 200  # rows per chunk handed to the response
BOM = "\ufeff".encode()


def neutralise(value: str) -> str:
    """`'` before a cell a spreadsheet would run as a formula (see the module doc)."""
    if value[:1] in FORMULA_STARTS or (value.startswith("'") and value.lstrip("'")[:1] in FORMULA_STARTS):
        return "'" + value if value.lstrip("'") else value
    return value


def account_row(entry: directory.Entry) -> list[str]:
    """The export's cells of one account, in COLUMNS order, neutralised."""
    cells = {
        "uid": entry.first("uid"),
        "givenName": entry.first("givenName"),
        "sn": entry.first("sn"),
        "cn": entry.first("cn"),
        "initials": entry.first("initials"),
        "mail": entry.first("mail"),
        "mailAlias": " ".join(entry.values("mailAlias")),
        "mailForward": " ".join(entry.values("mailForward")),
        **{attr: entry.first(attr) for attr in PERSON_ATTRS},
        "container": dit.parent_dn(entry.dn),
        "disabled": "yes" if entry.first("mailEnabled").upper() == "FALSE" else "no",
        "userPassword": "",
    }
    return [neutralise(cells[column]) for column in COLUMNS]


def csv_bytes(entries: Iterable[directory.Entry]) -> Iterator[bytes]:
    """The export file, in chunks: the header row first, then BATCH rows at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    yield BOM + buffer.getvalue().encode()
    buffer.seek(0)
    buffer.truncate()
    for count, entry in enumerate(entries, 1):
        writer.writerow(account_row(entry))
        if count % BATCH == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


def export_accounts(
    *,
    actor: Actor,
    container_dn: str | None = None,
    query: Mapping[str, str] | None = None,
) -> Iterator[bytes]:
    """The CSV of the users of a search (`query`: the search page's parameters) or of a container (and
    below), for a streaming response. The scope check runs now: DirectoryNotFound (404) outside the actor's
    area, InvalidName for a bad query; nothing is read before. An audit row says who exported what."""
    entries = account_export_entries(
        actor=actor, attrs=tuple(PERSON_ATTRS), query=query, container_dn=container_dn
    )
    where = container_dn if container_dn is not None else str((query or {}).get("base", ""))
    audit_record(
        actor=actor,
        action="accounts_export",
        target=where,
        domains=dit.domains_of(where),
        after={"container": container_dn} if container_dn is not None else {"query": dict(query or {})},
    )
    return csv_bytes(entries)
