"""Header and body checks (CFG-02): the four rule tables of Postfix's cleanup, as the console keeps them.

Each table (header_checks, body_checks, mime_header_checks, nested_header_checks) is an ordered list of
rules: a PCRE pattern, an action and an optional text. The Configuration menu stores a table as one value of
the Postfix service (canonical JSON, `canonical`), so the change flow's diff, history, rollback and audit
cover the rules too; `render_table` turns it into the `pcre:` file main.cf names.

What is refused here, before any file is written:
- control characters (CR, LF, NUL, ...) anywhere: a table line that starts with white space continues the
  line before it, so a newline in a pattern or a text could add a rule nobody sees in the list;
- a pattern ending in an odd number of backslashes (it would escape the closing delimiter), a `(*` start
  option or verb of the user's own, and patterns that can backtrack exponentially (regex_safety.py);
- an action outside ACTIONS, and a text that does not fit its action (REDIRECT: an address; FILTER:
  transport:nexthop; PREPEND in a header table: a `Name: value` header; IGNORE: no text);
- more than MAX_RULES rules, or a pattern or text that is too long.

An unescaped `/` in a pattern is escaped (`\\/`) rather than refused: it is the table's delimiter, and PCRE
reads `\\/` as a plain slash. A `$` in a text is doubled (`$$`): the text is written as typed, never expanded
from the match. Every pattern is rendered behind `(*LIMIT_MATCH=1000000)`, which only lowers PCRE's
limit (10,000,000), so a pattern that still backtracks gives up after about 20 ms (and counts as no match)
instead of 0.2 s. An ordinary pattern with several `.*` against a crafted line of a few kB hits either limit
and then does not match (docs/uce.md, "Cost"); the lower limit only makes that cheaper.
Whether a pattern compiles is PCRE's call: the stack's Postfix asks postmap about the staged table.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from mailadmin.configfiles import values as v
from mailadmin.configfiles.files import with_header
from mailadmin.configfiles.postfix.regex_safety import backtracking_problem, user_verb
from mailadmin.configfiles.values import ConfigValueError
from mailadmin.configfiles.values import ntr as ngettext
from mailadmin.configfiles.values import tr as _

SOURCE = "mailadmin/configfiles/postfix/checks.py"

ACTIONS = ("REJECT", "IGNORE", "WARN", "HOLD", "DISCARD", "FILTER", "PREPEND", "REDIRECT")
MAX_RULES = 1000
MAX_PATTERN = 1000
MAX_TEXT = 500
# the stored JSON of one table; larger than registry.MAX_VALUE, which is meant for one-line settings
MAX_JSON = 1_500_000
LIMIT_MATCH = 1_000_000
PREFIX = f"(*LIMIT_MATCH={LIMIT_MATCH})"


@dataclass(frozen=True)
class Table:
    key: str  # URL slug
    param: str  # the menu's stored value (registry name)
    main_cf: str  # the main.cf parameter that names the file
    file: str  # the file in Postfix's config directory
    headers: bool  # it inspects header lines (PREPEND must then add a header)


TABLES: tuple[Table, ...] = (
    Table("header-checks", "header_checks_rules", "header_checks", "header_checks.pcre", True),
    Table(
        "mime-header-checks",
        "mime_header_checks_rules",
        "mime_header_checks",
        "mime_header_checks.pcre",
        True,
    ),
    Table(
        "nested-header-checks",
        "nested_header_checks_rules",
        "nested_header_checks",
        "nested_header_checks.pcre",
        True,
    ),
    Table("body-checks", "body_checks_rules", "body_checks", "body_checks.pcre", False),
)
BY_KEY = {t.key: t for t in TABLES}
BY_PARAM = {t.param: t for t in TABLES}
BY_FILE = {t.file: t for t in TABLES}

_TRANSPORT = re.compile(r"[a-z][a-z0-9_-]{0,63}")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST = rf"{_LABEL}(?:\.{_LABEL})*"
_IPV4 = r"(?:[0-9]{1,3}\.){3}[0-9]{1,3}"
_NEXTHOP = re.compile(rf"(?:\[(?:{_HOST}|{_IPV4})\]|{_HOST})(?::[0-9]{{1,5}})?")
ADDRESS = re.compile(
    rf"[A-Za-z0-9!#%&'*+=?^_`{{|}}~-]+(?:\.[A-Za-z0-9!#%&'*+=?^_`{{|}}~-]+)*@{_LABEL}(?:\.{_LABEL})+"
)
HEADER = re.compile(r"[!-9;-~]{1,76}: ?\S.*")


@dataclass(frozen=True)
class Rule:
    pattern: str
    action: str
    text: str = ""
    case_sensitive: bool = False

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"pattern": self.pattern, "action": self.action}
        if self.text:
            out["text"] = self.text
        if self.case_sensitive:
            out["case_sensitive"] = True
        return out


def _bad_char(value: str) -> bool:
    """Control characters and the Unicode line and paragraph separators."""
    return any(unicodedata.category(ch) in ("Cc", "Zl", "Zp") for ch in value)


def check_rule(rule: Rule, *, headers: bool, name: str = "rule") -> Rule:
    """`rule` as it will be written (text stripped), or ConfigValueError naming `name` and the problem."""
    pattern, action, text = rule.pattern, rule.action, rule.text.strip()
    if not isinstance(pattern, str) or not pattern:
        raise ConfigValueError(name, _("needs a pattern"))
    if len(pattern) > MAX_PATTERN:
        raise ConfigValueError(name, _("the pattern is longer than %(n)s characters") % {"n": MAX_PATTERN})
    if _bad_char(pattern):
        raise ConfigValueError(
            name, _("the pattern must not contain newlines, NUL or other control characters"), pattern
        )
    if (len(pattern) - len(pattern.rstrip("\\"))) % 2:
        raise ConfigValueError(name, _("the pattern must not end with a single backslash"), pattern)
    if user_verb(pattern):
        raise ConfigValueError(
            name, _("the pattern must not contain a (* option or verb; the console sets the limits"), pattern
        )
    problem = backtracking_problem(pattern)
    if problem:
        raise ConfigValueError(name, _("the pattern %(problem)s") % {"problem": problem}, pattern)
    if action not in ACTIONS:
        raise ConfigValueError(
            name, _("the action must be one of %(actions)s") % {"actions": ", ".join(ACTIONS)}, action
        )
    if not isinstance(text, str) or len(text) > MAX_TEXT:
        raise ConfigValueError(name, _("the text is longer than %(n)s characters") % {"n": MAX_TEXT})
    if _bad_char(text):
        raise ConfigValueError(
            name, _("the text must not contain newlines, NUL or other control characters"), text
        )
    _check_text(name, action, text, headers=headers)
    return Rule(pattern=pattern, action=action, text=text, case_sensitive=bool(rule.case_sensitive))


def _check_text(name: str, action: str, text: str, *, headers: bool) -> None:
    if action == "IGNORE" and text:
        raise ConfigValueError(name, _("IGNORE takes no text"), text)
    if action == "REDIRECT" and not ADDRESS.fullmatch(text):
        raise ConfigValueError(name, _("REDIRECT needs an address like user@example.com"), text)
    if action == "FILTER":
        transport, sep, nexthop = text.partition(":")
        if not sep or not _TRANSPORT.fullmatch(transport) or (nexthop and not _NEXTHOP.fullmatch(nexthop)):
            raise ConfigValueError(
                name, _("FILTER needs transport:nexthop, e.g. smtp:[127.0.0.1]:10025"), text
            )
        port = nexthop.rpartition(":")[2] if nexthop.count(":") and not nexthop.endswith("]") else ""
        if port and not 0 < int(port) < 65536:
            raise ConfigValueError(name, _("FILTER: the port must be between 1 and 65535"), text)
    if action == "PREPEND":
        if headers and not HEADER.fullmatch(text):
            raise ConfigValueError(name, _("PREPEND needs a header line like X-Checked: yes"), text)
        if not text:
            raise ConfigValueError(name, _("PREPEND needs the line to add"), text)


def parse(name: str, raw: str) -> list[Rule]:
    """The rules in `raw` (JSON: a list of {pattern, action, text?, case_sensitive?}), each checked;
    ConfigValueError naming the first problem and the rule's number (1-based) otherwise."""
    table = BY_PARAM.get(name)
    headers = table.headers if table is not None else True
    if len(raw) > MAX_JSON:
        raise ConfigValueError(name, _("is longer than %(n)s characters") % {"n": MAX_JSON})
    try:
        data = json.loads(raw) if raw.strip() else []
    except (ValueError, RecursionError):
        data = None
    if not isinstance(data, list):
        raise ConfigValueError(
            name,
            _(
                "must be a list of rules (the rules are edited on their own page; a hand edit of the "
                "table file cannot be taken over, overwrite it instead)"
            ),
        )
    if len(data) > MAX_RULES:
        raise ConfigValueError(
            name, _("has %(n)s rules; a table may have at most %(max)s") % {"n": len(data), "max": MAX_RULES}
        )
    rules = []
    for i, item in enumerate(data, start=1):
        label = _("rule %(n)s") % {"n": i}
        if not isinstance(item, dict) or not set(item) <= {"pattern", "action", "text", "case_sensitive"}:
            raise ConfigValueError(
                name, _("%(rule)s: must have a pattern, an action and a text") % {"rule": label}
            )
        pattern, action = item.get("pattern"), item.get("action")
        text, case = item.get("text", ""), item.get("case_sensitive", False)
        if not all(isinstance(x, str) for x in (pattern, action, text)) or not isinstance(case, bool):
            raise ConfigValueError(
                name, _("%(rule)s: must have a pattern, an action and a text") % {"rule": label}
            )
        try:
            rules.append(check_rule(Rule(str(pattern), str(action), str(text), case), headers=headers))
        except ConfigValueError as exc:
            raise ConfigValueError(name, f"{label}: {exc.problem}") from exc
    return rules


def canonical(rules: Iterable[Rule]) -> str:
    """The stored form: the same rules always give the same text (so the flow sees no change)."""
    return json.dumps([r.as_dict() for r in rules], ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def loads(raw: str | None) -> list[Rule]:
    """Stored rules back (they were checked when stored); [] for nothing stored."""
    if not raw:
        return []
    return [
        Rule(d["pattern"], d["action"], d.get("text", ""), d.get("case_sensitive", False))
        for d in json.loads(raw)
    ]


def _escape(pattern: str) -> tuple[str, list[int]]:
    """`pattern` with every unescaped `/` escaped, and for each character written the index it came from."""
    out: list[str] = []
    origin: list[int] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out += [ch, pattern[i + 1]]
            origin += [i, i + 1]
            i += 2
            continue
        if ch == "/":
            out.append("\\")
            origin.append(i)
        out.append(ch)
        origin.append(i)
        i += 1
    return "".join(out), origin


def escaped(pattern: str) -> str:
    """`pattern` with every unescaped `/` escaped: the table's delimiter must not end it early."""
    return _escape(pattern)[0]


def rule_line(rule: Rule, value: str) -> str:
    flags = "i" if rule.case_sensitive else ""  # pcre tables ignore case unless i toggles that
    return f"/{PREFIX}{escaped(rule.pattern)}/{flags} {value}\n"


def result(rule: Rule) -> str:
    """What the table answers for a match: the action and its text, with `$` doubled (written as typed)."""
    return f"{rule.action} {rule.text.replace('$', '$$')}".rstrip()


def render_table(rules: Iterable[Rule]) -> str:
    """The `pcre:` file: one line per rule, in order (first match wins). An empty table is valid."""
    return with_header("".join(rule_line(r, result(r)) for r in rules), source=SOURCE)


def render_numbered(rules: Iterable[Rule]) -> str:
    """The same patterns answering their rule number (1-based): postmap prints only a value, so this copy
    tells which rule the real table's answer came from (first match wins in both)."""
    return "".join(rule_line(r, str(i)) for i, r in enumerate(rules, start=1))


def rule_of_line(text: str, line_number: int) -> int | None:
    """The rule number (1-based) of line `line_number` of a rendered table, None for a header line."""
    lines = text.split("\n")
    if not 1 <= line_number <= len(lines) or not lines[line_number - 1].startswith("/"):
        return None
    return sum(1 for line in lines[:line_number] if line.startswith("/"))


def pattern_offset(rule: Rule, rendered_offset: int) -> int:
    """Where in the administrator's pattern an offset that PCRE reports for the rendered one lies (the
    limit prefix and the escaped slashes are ours)."""
    text, origin = _escape(rule.pattern)
    offset = rendered_offset - len(PREFIX)
    if offset <= 0:
        return 0
    return origin[offset] if offset < len(text) else len(rule.pattern)


def loads_rendered(text: str) -> list[Rule]:
    """The rules of a rendered table, read back from its lines (for putting PCRE's complaints onto a rule:
    the slashes the console escaped come back unescaped, and the action and text are not needed)."""
    rules = []
    for line in text.split("\n"):
        if not line.startswith("/" + PREFIX):
            continue
        i, out = len(PREFIX) + 1, []
        while i < len(line) and line[i] != "/":
            if line[i] == "\\" and i + 1 < len(line):
                out.append(line[i : i + 2] if line[i + 1] != "/" else "/")
                i += 2
                continue
            out.append(line[i])
            i += 1
        rules.append(Rule("".join(out), "WARN"))
    return rules


def check_table_settings(directory: Path | None) -> list[tuple[str, str]]:
    """main.cf's lines naming each table's file in `directory`. The MIME and nested header tables are tried
    first and then the header checks: Postfix applies header_checks to those headers too unless told
    otherwise, and a console that silently stopped that would let attachment rules lapse."""
    if directory is None:
        return []
    base = v.path("checks_dir", str(directory))
    header = f"pcre:{base}/{BY_PARAM['header_checks_rules'].file}"
    out = []
    for t in TABLES:
        own = f"pcre:{base}/{t.file}"
        out.append((t.main_cf, own if own == header or not t.headers else f"{own}, {header}"))
    return out


def summary(text: str | None) -> str:
    """What the change flow's table shows for a rendered table: how many rules it has."""
    count = sum(1 for line in (text or "").split("\n") if line.startswith("/"))
    return ngettext("%(n)s rule", "%(n)s rules", count) % {"n": count}
