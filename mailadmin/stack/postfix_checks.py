"""The header and body checks tables of the stack's Postfix (CFG-02): PCRE's verdict on a staged table and
"test this line", both answered by postmap itself (the same PCRE2 build cleanup uses).

postmap does not fail on a pattern PCRE cannot compile: it warns on stderr, skips that rule and goes on (so
does cleanup at run time, which would let a broken rule fail open). So any warning about a staged table
refuses it, with PCRE's message put back onto the rule number and the offset inside the administrator's own
pattern. A few probe lines that make a backtracking pattern hit the match limit (checks.LIMIT_MATCH) are
looked up too, as a last net behind regex_safety.py.

"Which rule matched": postmap prints the answer, never the line. A second copy of the table answers each
pattern's rule number; first match wins in both, so postmap answers both questions.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mailadmin import postfix
from mailadmin.configfiles.files import atomic_write
from mailadmin.configfiles.postfix import checks
from mailadmin.configfiles.values import tr as _
from mailadmin.stack.process import StackError

_WARNING = re.compile(r"line (?P<line>\d+): (?P<message>.*)$")
_OFFSET = re.compile(r"error in regex at offset (?P<offset>\d+): (?P<message>.*)$")
# lines on which a pattern that backtracks exponentially runs into the match limit
PROBES = (
    "Subject: " + "a" * 40 + "!",
    "a" * 60 + "!",
    " " * 60 + "!",
    "x-" * 40 + "!",
    "Received: from " + "a." * 40 + "!",
)


@dataclass(frozen=True)
class LineAnswer:
    line: str
    rule: int | None  # 1-based; None: no rule matches
    answer: str  # the action and text as the real table answers them ('' for no match)
    warnings: tuple[str, ...] = ()


def render_files(settings: Mapping[str, str]) -> dict[str, str]:
    """Each table's file from the stored rules (an empty table when none are stored)."""
    return {t.file: checks.render_table(checks.loads(settings.get(t.param))) for t in checks.TABLES}


def _problems(table: checks.Table, text: str, warnings: list[str]) -> list[str]:
    rules = checks.loads_rendered(text)
    out = []
    for warning in warnings:
        found = _WARNING.search(warning)
        number = checks.rule_of_line(text, int(found["line"])) if found else None
        if found is None or number is None or number > len(rules):
            out.append(f"{table.main_cf}: {warning}")
            continue
        message = found["message"]
        at = _OFFSET.match(message)
        if at:
            offset = checks.pattern_offset(rules[number - 1], int(at["offset"]))
            message = _("%(message)s (at character %(offset)s of the pattern)") % {
                "message": at["message"],
                "offset": offset + 1,
            }
        elif "match limit exceeded" in message:
            message = _("the pattern backtracks too much on a line like this one; make it simpler")
        values = {"table": table.main_cf, "n": number, "message": message}
        out.append(_("%(table)s, rule %(n)s: %(message)s") % values)
    return out


# a rendered FILTER rule: `/pattern/flags FILTER transport:nexthop` (the text holds no slash)
_FILTER = re.compile(r"^/.*/[A-Za-z]* FILTER ([a-z][a-z0-9_-]*):", re.MULTILINE)


def validate_tables(staging: Path, config_dir: Path) -> None:
    """Refuse the staged tables on any warning from postmap (StackError naming the rule and PCRE's words).
    A table the same as the running one (`config_dir`) is not asked about again."""
    problems: list[str] = []
    services: set[str] | None = None
    for table in checks.TABLES:
        path = staging / table.file
        if not path.exists():
            continue
        text = path.read_text(encoding="utf-8")
        live = config_dir / table.file
        if live.exists() and live.read_text(encoding="utf-8") == text:
            continue  # running as it is: PCRE took it when it was applied
        try:
            _found, warnings = postfix.pcre_lookup(list(PROBES), path, config_dir)
            filters = _FILTER.findall(text)
            if filters and services is None:
                services = postfix.master_services(config_dir)
        except postfix.PostfixError as exc:
            raise StackError(f"{table.main_cf}: {exc}") from exc
        problems += _problems(table, text, warnings)
        for transport in dict.fromkeys(filters):
            if transport not in (services or set()):
                values = {"table": table.main_cf, "name": transport}
                problems.append(_("%(table)s: FILTER names %(name)s, which master.cf does not have") % values)
    if problems:
        raise StackError("; ".join(problems))


def summaries(directory: Path) -> dict[str, str]:
    """What the change flow's table shows for each table file in `directory`: how many rules it has."""
    out = {}
    for table in checks.TABLES:
        try:
            out[table.param] = checks.summary((directory / table.file).read_text(encoding="utf-8"))
        except FileNotFoundError:
            continue
    return out


def test_line(staging_root: Path, config_dir: Path, rules: list[checks.Rule], line: str) -> LineAnswer:
    """Which of `rules` matches `line` and what the table answers, asked of postmap against a staged copy
    of the table (and of its numbered twin). ValueError for a line with a newline or NUL."""
    if any(ch in line for ch in "\n\r\0"):
        raise ValueError(_("Paste one line: unfold a header onto one line first."))
    staging_root.mkdir(mode=0o700, parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="checks-", dir=staging_root))
    try:
        staging.chmod(0o755)
        real, numbered = staging / "table.pcre", staging / "numbered.pcre"
        atomic_write(real, checks.render_table(rules), mode=0o644)
        atomic_write(numbered, checks.render_numbered(rules), mode=0o644)
        try:
            answers, warnings = postfix.pcre_lookup([line], real, config_dir)
            numbers, more = postfix.pcre_lookup([line], numbered, config_dir)
        except postfix.PostfixError as exc:
            raise StackError(str(exc)) from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    number = numbers.get(line)
    return LineAnswer(
        line=line,
        rule=int(number) if number and number.isdigit() else None,
        answer=answers.get(line, ""),
        warnings=tuple(dict.fromkeys(w.split(": ", 2)[-1] for w in warnings + more)),
    )
