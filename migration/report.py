"""The downloadable report of an import (CSV): one line per entry, in file order.

Cells are neutralised against formula injection: a spreadsheet runs a cell that begins with = + - @ (or a
tab or CR before one of those), so such a cell gets a leading apostrophe, which spreadsheets show as text.
Reasons quote the file's own values (a login name, a DN), so they are neutralised like everything else.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator

from migration.models import ImportRow, ImportRun

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
HEADER = ("where", "login", "verdict", "reason", "dn")


def neutral(cell: str) -> str:
    return "'" + cell if cell.startswith(FORMULA_START) else cell


class _Line:
    """csv.writer writes into this; `take` hands over what it wrote."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        self.parts.append(text)
        return len(text)

    def take(self) -> str:
        text, self.parts = "".join(self.parts), []
        return text


def report_lines(run: ImportRun) -> Iterator[str]:
    """The CSV text, a few hundred lines at a time (the rows are read in chunks, never all at once)."""
    out = _Line()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    rows = ImportRow.objects.filter(run=run).order_by("position")
    for n, row in enumerate(rows.values_list("where", "uid", "verdict", "reason", "dn").iterator(2000), 1):
        writer.writerow([neutral(str(cell)) for cell in row])
        if n % 500 == 0:
            yield out.take()
    yield out.take()
