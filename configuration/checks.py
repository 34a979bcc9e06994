"""Header and body checks (CFG-02): reads and writes of the four rule tables behind the pages under
Configuration -> UCE controls.

A table is one stored value of the Postfix service (mailadmin/configfiles/registry/postfix_checks.py), so an
added, edited, moved or deleted rule is a change of that value through the ordinary change flow: the whole
new table is checked, staged, compiled by PCRE (postmap), shown as a diff, and applied, smoke-tested,
recorded and restorable like any other parameter. Nothing here writes a file itself.

"Test this line" asks postmap against a staged copy of the stored table, or of a proposal that waits for
its confirmation, so the answer is the one Postfix will give.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from configuration import services
from mailadmin.configfiles import store
from mailadmin.configfiles.postfix import checks
from mailadmin.configfiles.postfix.checks import Rule, Table
from mailadmin.configfiles.values import ConfigValueError
from mailadmin.stack import StackError

SERVICE = "postfix"


class RuleRefused(Exception):
    """A rule (or a move) the console will not write; the message says why. Nothing was staged."""


class NoSuchRule(RuleRefused):
    """The rule number is not in the table (the views answer 404)."""


@dataclass(frozen=True)
class LineResult:
    line: str
    rule: int | None  # 1-based
    rule_shown: Rule | None
    answer: str
    warnings: tuple[str, ...]


def table_of(key: str) -> Table | None:
    return checks.BY_KEY.get(key)


# --- selectors ---------------------------------------------------------------------------------------------


def checks_rules(table: Table) -> list[Rule]:
    """The table's rules as stored (and running: the flow applies the stored values)."""
    return checks.loads(services.stored_values(SERVICE).get(table.param))


def checks_counts() -> dict[str, int]:
    stored = services.stored_values(SERVICE)
    return {t.key: len(checks.loads(stored.get(t.param))) for t in checks.TABLES}


def pending_rules(table: Table, token: str) -> list[Rule] | None:
    """The table's rules in a proposal waiting for confirmation (None: no such proposal)."""
    _svc, _reg, menu = services.target(SERVICE)
    data = store.load_pending(menu, SERVICE, token)
    values = data.get("values") if data else None
    if not isinstance(values, dict):
        return None
    raw = values.get(table.param)
    return checks.loads(raw if isinstance(raw, str) else None)


def checks_line_test(table: Table, line: str, *, token: str = "") -> LineResult:
    """Which rule matches `line` and what it does, answered by postmap against a staged table: the
    proposal under `token` when given, the stored table otherwise. RuleRefused for a line it cannot take."""
    line = line.rstrip("\r\n")
    if not line:
        raise RuleRefused(_("Paste a line to test."))
    if len(line) > 10_000:
        raise RuleRefused(_("The line is longer than %(n)s characters.") % {"n": 10_000})
    if any(ch in line for ch in "\n\r\0"):
        raise RuleRefused(_("Paste one line: unfold a header onto one line first."))
    rules = pending_rules(table, token) if token else None
    if rules is None:
        rules = checks_rules(table)
    svc, _reg, _menu = services.target(SERVICE)
    try:
        answer = svc.check_line(rules, line)  # type: ignore[attr-defined]
    except StackError as exc:
        raise RuleRefused(str(exc)) from exc
    shown = rules[answer.rule - 1] if answer.rule and answer.rule <= len(rules) else None
    return LineResult(
        line=line, rule=answer.rule, rule_shown=shown, answer=answer.answer, warnings=answer.warnings
    )


# --- services ----------------------------------------------------------------------------------------------


def rule_checked(table: Table, *, pattern: str, action: str, text: str, case_sensitive: bool) -> Rule:
    """The rule as it will be written, or RuleRefused with the problem (the table's own checks)."""
    try:
        return checks.check_rule(
            Rule(pattern=pattern, action=action, text=text, case_sensitive=case_sensitive),
            headers=table.headers,
        )
    except ConfigValueError as exc:
        raise RuleRefused(exc.problem) from exc


def _propose(table: Table, rules: list[Rule], kind: str) -> services.Pending:
    return services.propose(SERVICE, {table.param: checks.canonical(rules)}, kind=kind)


def _index(rules: list[Rule], number: int) -> int:
    if not 1 <= number <= len(rules):
        raise NoSuchRule(_("There is no rule %(n)s in this table.") % {"n": number})
    return number - 1


def checks_rule_add(table: Table, rule: Rule, *, position: int | None = None) -> services.Pending:
    """Propose the table with `rule` inserted before rule `position` (1-based; None: at the end)."""
    rules = checks_rules(table)
    at = len(rules) if position is None else max(0, min(position - 1, len(rules)))
    rules.insert(at, rule)
    return _propose(table, rules, "edit")


def checks_rule_edit(table: Table, number: int, rule: Rule) -> services.Pending:
    rules = checks_rules(table)
    rules[_index(rules, number)] = rule
    return _propose(table, rules, "edit")


def checks_rule_move(table: Table, number: int, direction: str) -> services.Pending:
    """Propose rule `number` swapped with its neighbour above ("up") or below ("down"): first match wins,
    so the order is what decides."""
    rules = checks_rules(table)
    i = _index(rules, number)
    j = i - 1 if direction == "up" else i + 1 if direction == "down" else -1
    if not 0 <= j < len(rules):
        raise RuleRefused(_("This rule cannot move that way."))
    rules[i], rules[j] = rules[j], rules[i]
    return _propose(table, rules, "edit")


def checks_rule_delete(table: Table, number: int) -> services.Pending:
    rules = checks_rules(table)
    del rules[_index(rules, number)]
    return _propose(table, rules, "edit")
