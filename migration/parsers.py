"""The kinds of directory import (the pipeline's parsers): LDIF (migration/ldif.py), CSV
(migration/csv_import.py) and shadow files (migration/shadow.py).

A parser turns the uploaded files into ImportEntry / EntryProblem items (migration/entries.py) and knows
nothing about the directory; `register_parser` adds a kind (its upload form, report and job come with it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO

from django.utils.translation import gettext_lazy as _

from migration.csv_import import parse_csv
from migration.entries import EntryProblem, ImportEntry
from migration.ldif import parse_ldif
from migration.shadow import parse_shadow

if TYPE_CHECKING:
    from django import forms
    from django_stubs_ext import StrPromise


# --- parsers --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UploadSlot:
    """One file input of an import form ("file"; "passwd" and "shadow" for shadow files)."""

    name: str  # form field; also the stored file's name in the run's directory
    label: StrPromise
    required: bool = True


Items = Iterable[ImportEntry | EntryProblem]


@dataclass(frozen=True)
class Parser:
    """A kind of directory import. `parse(files, params)` gets each uploaded slot opened in binary mode
    (missing optional slots are absent) and the values of `fields` from the form (JSON types), and yields
    one item per entry, in file order; the same files must give the same items (the creation job parses
    again and matches the report by position)."""

    kind: str
    label: StrPromise
    slots: tuple[UploadSlot, ...]
    parse: Callable[[Mapping[str, BinaryIO], Mapping[str, Any]], Items]
    help: StrPromise | str = ""
    fields: Callable[[], dict[str, forms.Field]] = field(default=dict)  # extra form fields of this kind


PARSERS: dict[str, Parser] = {}


def register_parser(parser: Parser) -> Parser:
    PARSERS[parser.kind] = parser
    return parser


def _shadow_fields() -> dict[str, forms.Field]:
    from django import forms

    return {
        "min_uid": forms.IntegerField(
            label=_("Lowest uid"),
            initial=1000,
            min_value=0,
            required=False,
            help_text=_("With a passwd file: accounts with a lower uid (system accounts) are passed over."),
        ),
        "max_uid": forms.IntegerField(label=_("Highest uid"), min_value=0, required=False),
    }


def _parse_shadow(files: Mapping[str, BinaryIO], params: Mapping[str, Any]) -> Items:
    low, high = params.get("min_uid"), params.get("max_uid")
    return parse_shadow(
        files.get("passwd"),
        files["shadow"],
        min_uid=low if isinstance(low, int) else 1000,
        max_uid=high if isinstance(high, int) else None,
    )


register_parser(
    Parser(
        kind="ldif",
        label=_("LDIF"),
        slots=(UploadSlot("file", _("LDIF file")),),
        parse=lambda files, _params: parse_ldif(files["file"]),
        help=_(
            "An LDIF file of people (inetOrgPerson): one entry per account, DNs like uid=login,o=org,... "
            "See docs/imports.md for the attributes read."
        ),
    )
)
register_parser(
    Parser(
        kind="csv",
        label=_("CSV"),
        slots=(UploadSlot("file", _("CSV file")),),
        parse=lambda files, _params: parse_csv(files["file"]),
        help=_(
            "A CSV file in UTF-8 whose header row names the columns (uid, sn, givenName, mail, userPassword, "
            "...); an account export of this console imports again. See docs/imports-csv-shadow.md."
        ),
    )
)
register_parser(
    Parser(
        kind="shadow",
        label=_("shadow file"),
        slots=(
            UploadSlot("passwd", _("passwd file"), required=False),
            UploadSlot("shadow", _("shadow file")),
        ),
        parse=_parse_shadow,
        help=_(
            "/etc/shadow of a Unix host, best with its /etc/passwd (names and uids). The crypt hashes are "
            "kept, so people log in with their old passwords; locked accounts and accounts without a "
            "password are created disabled. See docs/imports-csv-shadow.md."
        ),
        fields=_shadow_fields,
    )
)
