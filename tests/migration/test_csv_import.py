"""The CSV import parser (migration/csv_import.py), fed the files people really upload: Excel's UTF-8 with
a byte order mark, a German spreadsheet's `;`, a Latin-1 export, quoted cells with line breaks, formula
cells, missing and unknown columns, rows with too many or too few cells. Pure parsing: no daemon decides
anything here (the pipeline's checks against slapd are tested with the pipeline)."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest

from migration import csv_import
from migration.csv_import import FILE_WHERE, MAX_ROW, parse_csv
from migration.entries import EntryProblem, ImportEntry

Result = list[ImportEntry | EntryProblem]


def parse(text: str | bytes, **kwargs: str) -> Result:
    data = text.encode() if isinstance(text, str) else text
    return list(parse_csv(io.BytesIO(data), **kwargs))


def only_entry(text: str | bytes) -> ImportEntry:
    (entry,) = parse(text)
    assert isinstance(entry, ImportEntry), entry
    return entry


def only_problem(text: str | bytes) -> EntryProblem:
    (problem,) = parse(text)
    assert isinstance(problem, EntryProblem), problem
    return problem


def entries(result: Result) -> list[ImportEntry]:
    return [r for r in result if isinstance(r, ImportEntry)]


def problems(result: Result) -> list[EntryProblem]:
    return [r for r in result if isinstance(r, EntryProblem)]


def test_every_column_lands_in_its_field() -> None:
    text = (
        "uid,givenName,sn,cn,initials,mail,mailAlias,mailForward,displayName,telephoneNumber,l,"
        "container,disabled,userPassword\n"
        "anna,Anna,Beispiel,Anna Beispiel,AB,anna@a.test,a1@a.test a2@a.test;a3@a.test,out@x.test,"
        'Anna B.,+49 30 1234,Berlin,"ou=sales,o=a.test",no,Secret-pass-1\n'
    )
    entry = only_entry(text)
    assert entry == ImportEntry(
        where="row 2",
        uid="anna",
        last_name="Beispiel",
        first_name="Anna",
        initials="AB",
        mail="anna@a.test",
        aliases=("a1@a.test", "a2@a.test", "a3@a.test"),
        forwards=("out@x.test",),
        person={"display_name": "Anna B.", "phone": "+49 30 1234", "city": "Berlin"},
        password="Secret-pass-1",
        container_dn="ou=sales,o=a.test",
    )


def test_a_hash_goes_to_password_hash_and_a_password_is_kept_exactly() -> None:
    text = "uid,sn,userPassword\nh,H,{SSHA}abcdEFGH\nc,C,  spaced pass  \nn,N,\n"
    hashed, clear, none = entries(parse(text))
    assert (hashed.password, hashed.password_hash) == ("", "{SSHA}abcdEFGH")
    assert (clear.password, clear.password_hash) == ("  spaced pass  ", "")
    assert (none.password, none.password_hash) == ("", "")


def test_excel_utf8_with_byte_order_mark_and_crlf() -> None:
    data = "\ufeffuid,sn,givenName\r\nmm,Müller,Jürgen\r\n".encode()
    entry = only_entry(data)
    assert (entry.uid, entry.last_name, entry.first_name) == ("mm", "Müller", "Jürgen")


def test_a_german_spreadsheet_with_semicolons_and_a_tab_separated_file() -> None:
    semi = only_entry("uid;sn;givenName;description\nmm;Müller;Jürgen;eins, zwei\n")
    assert (semi.last_name, semi.person) == ("Müller", {"description": "eins, zwei"})
    tab = only_entry("uid\tsn\tgivenName\nmm\tMüller\tJ, K\n")
    assert (tab.last_name, tab.first_name) == ("Müller", "J, K")


def test_a_latin1_file_is_refused_as_a_whole_with_how_to_save_it() -> None:
    problem = only_problem("uid,sn\nmm,Müller\n".encode("latin-1"))
    assert problem.where == FILE_WHERE
    assert "not UTF-8" in problem.reason and "CSV UTF-8" in problem.reason and "row 2" in problem.reason


def test_a_latin1_byte_further_down_stops_the_file_there() -> None:
    rows = "".join(f"u{n},Name{n}\n" for n in range(5))
    result = parse(b"uid,sn\n" + rows.encode() + "bad,Gro\xdf\n".encode("latin-1"))
    assert len(entries(result)) == 5
    assert problems(result)[0].where == FILE_WHERE and "row 7" in problems(result)[0].reason


def test_quoted_cells_hold_delimiters_quotes_and_line_breaks() -> None:
    text = (
        'uid,sn,description,street\n'
        'q1,"Smith, Jr.","He said ""hi""","Line one\nLine two"\n'
        "q2,Plain,,\n"
    )  # fmt: skip
    first, second = parse(text)
    assert isinstance(first, ImportEntry) and isinstance(second, ImportEntry)
    assert first.last_name == "Smith, Jr."
    assert first.person == {"description": 'He said "hi"', "street": "Line one\nLine two"}
    # a cell with a line break is still one spreadsheet row
    assert (first.where, second.where) == ("row 2", "row 3")


def test_formula_cells_are_plain_text_and_the_exports_quote_comes_off() -> None:
    text = (
        "uid,sn,description,telephoneNumber,title\n"
        '=cmd|\' /C calc\'!A0,"=HYPERLINK(""http://x"")",@SUM(1),\'+49 30 1,\'=real\n'
        "plain,\"'=two\",-minus,'text,''=kept\n"
    )
    formula, plain = entries(parse(text))
    assert formula.uid == "=cmd|' /C calc'!A0"  # text: the pipeline's login check refuses it
    assert formula.last_name == '=HYPERLINK("http://x")'
    assert formula.person == {"description": "@SUM(1)", "phone": "+49 30 1", "title": "=real"}
    assert plain.last_name == "=two"
    assert plain.person == {"description": "-minus", "phone": "'text", "title": "'=kept"}


def test_missing_required_columns_are_one_file_problem() -> None:
    problem = only_problem("givenName,mail\nAnna,anna@a.test\nBert,bert@a.test\n")
    assert problem.where == FILE_WHERE
    assert "lacks the required columns: uid, sn (or cn)" in problem.reason


def test_cn_alone_gives_first_and_last_name() -> None:
    entry = only_entry("uid,cn\nab,Anna Maria Beispiel\n")
    assert (entry.last_name, entry.first_name) == ("Beispiel", "Anna Maria")


def test_unknown_and_doubled_columns_are_named() -> None:
    unknown = only_problem("uid,sn,shoeSize,<b>x</b>\na,A,42,1\n")
    assert unknown.where == FILE_WHERE
    assert "Unknown columns in the header row: shoeSize, ?b?x??b?." in unknown.reason
    doubled = only_problem("uid,sn,SN\na,A,B\n")
    assert "The column sn appears twice" in doubled.reason


def test_header_names_ignore_case_and_spaces() -> None:
    entry = only_entry(" UID , SN ,GivenName,MAIL\na,A,B,a@a.test\n")
    assert (entry.uid, entry.last_name, entry.first_name, entry.mail) == ("a", "A", "B", "a@a.test")


def test_rows_with_too_many_or_too_few_cells_are_refused_alone() -> None:
    result = parse("uid,sn,mail\nok1,One,\nshort,Two\nlong,Three,,extra\nok2,Four,\n")
    assert [e.uid for e in entries(result)] == ["ok1", "ok2"]
    assert [(p.where, p.reason, p.uid) for p in problems(result)] == [
        ("row 3", "The row has 2 cells; the header row names 3 columns.", "short"),
        ("row 4", "The row has 4 cells; the header row names 3 columns.", "long"),
    ]


def test_rows_without_login_or_name_and_bad_disabled_values() -> None:
    text = "uid,sn,disabled\n,Nobody,no\nx,,no\ny,Y,maybe\nz,Z,YES\nw,W,\n"
    result = parse(text, where_prefix="Zeile")
    assert [(p.where, p.uid) for p in problems(result)] == [
        ("Zeile 2", ""),
        ("Zeile 3", "x"),
        ("Zeile 4", "y"),
    ]
    assert [(e.uid, e.disabled) for e in entries(result)] == [("z", True), ("w", False)]


def test_empty_rows_are_passed_over_and_trailing_unnamed_columns_allowed() -> None:
    result = parse("uid,sn,,\n\na,A,,\n,,,\nb,B,,\nc,C,,oops\n")
    assert [e.uid for e in entries(result)] == ["a", "b"]
    assert [(p.where, p.reason) for p in problems(result)] == [
        ("row 6", "The row has a value in a column without a name.")
    ]


def test_an_empty_file_and_a_header_only_file() -> None:
    assert [p.reason[:18] for p in problems(parse(b""))] == ["The file is empty:"]
    assert parse("uid,sn\n") == []


def test_old_mac_line_ends() -> None:
    assert [e.uid for e in entries(parse("uid,sn\ra,A\rb,B\r"))] == ["a", "b"]


def test_chunk_edges_split_neither_crlf_nor_a_character(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csv_import, "CHUNK", 3)
    text = "uid,sn,givenName\r\nmm,Müller,Jürgen\r\nab,Ärger,Øle\r\n"
    assert [(e.uid, e.last_name, e.first_name) for e in entries(parse(text))] == [
        ("mm", "Müller", "Jürgen"),
        ("ab", "Ärger", "Øle"),
    ]


def test_a_quote_never_closed_stops_at_the_row_cap() -> None:
    text = 'uid,sn,description\na,A,ok\nb,B,"never closed\n' + ("x" * 1000 + "\n") * 100
    result = parse(text)
    assert [e.uid for e in entries(result)] == ["a"]
    (problem,) = problems(result)
    assert problem.where == FILE_WHERE and "Row 3 is longer than" in problem.reason


class CountingStream(io.RawIOBase):
    """An endless upload of rows that counts what was read: the parser must not read ahead."""

    def __init__(self) -> None:
        self.read_bytes = 0
        self.rows = self._rows()
        self.pending = b""

    @staticmethod
    def _rows() -> Iterator[bytes]:
        yield b"uid,sn\n"
        n = 0
        while True:
            n += 1
            yield f"user{n},Name{n}\n".encode()

    def read(self, size: int = -1) -> bytes:
        while len(self.pending) < size:
            self.pending += next(self.rows)
        out, self.pending = self.pending[:size], self.pending[size:]
        self.read_bytes += len(out)
        return out


def test_it_streams_rows_without_reading_the_whole_file() -> None:
    stream = CountingStream()
    parsed = parse_csv(stream)  # type: ignore[arg-type]
    first = [next(parsed) for _ in range(10)]
    assert [e.uid for e in entries(first)] == [f"user{n}" for n in range(1, 11)]
    assert stream.read_bytes <= 2 * csv_import.CHUNK


def test_one_long_row_within_the_cap_is_read() -> None:
    long = "y" * (MAX_ROW - 100)
    entry = only_entry(f"uid,sn\na,{long}\n")
    assert entry.last_name == long
