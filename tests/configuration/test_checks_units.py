"""CFG-02 without the stack: how a rule table is written (escaped delimiter, doubled `$`, the match limit
on every pattern, case flag), which patterns the backtracking walk refuses and which everyday ones it lets
through, and the main.cf lines that name the tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailadmin.configfiles.postfix import checks
from mailadmin.configfiles.postfix.checks import Rule
from mailadmin.configfiles.postfix.regex_safety import backtracking_problem, user_verb
from mailadmin.configfiles.values import ConfigValueError


def test_a_table_line_per_rule_bounded_and_escaped() -> None:
    text = checks.render_table(
        [Rule("^Subject: a/b", "REJECT", "costs $5"), Rule("^X-Spam: yes", "HOLD", "", case_sensitive=True)]
    )
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    assert lines == [
        f"/{checks.PREFIX}^Subject: a\\/b/ REJECT costs $$5",
        f"/{checks.PREFIX}^X-Spam: yes/i HOLD",
    ]
    assert checks.summary(text) == "2 rules"
    assert checks.render_numbered([Rule("x", "WARN")]) == f"/{checks.PREFIX}x/ 1\n"


def test_stored_form_is_canonical_and_round_trips() -> None:
    rules = [Rule("a", "REJECT", " t "), Rule("b", "IGNORE")]
    raw = checks.canonical(checks.parse("header_checks_rules", checks.canonical(rules)))
    assert checks.loads(raw) == [Rule("a", "REJECT", "t"), Rule("b", "IGNORE")]
    assert raw == checks.canonical(checks.loads(raw))


@pytest.mark.parametrize(
    "pattern",
    [
        "^Subject:.*viagra",
        '^Content-Disposition:.*filename=.*\\.(exe|scr|pif)"',
        "^Received: from [a-z0-9.-]+ \\(.*\\)",
        "(cheap|free) (pills|money)",
        "^From:.*@(spam|junk)\\.example",
        "(?:[a-z]+\\.){1,4}example",
    ],
)
def test_everyday_patterns_pass(pattern: str) -> None:
    assert backtracking_problem(pattern) is None and not user_verb(pattern)
    checks.check_rule(Rule(pattern, "REJECT"), headers=True)


@pytest.mark.parametrize(
    "pattern",
    ["(a+)+$", "(.*)*", "(x+){2,99}y", "(a|aa)*$", "(a|a?)+b", "((ab)*)*", r"(\w+\s?)+$", r"(\w+\w)+$",
     r"([a-z.]+\.)+$", r"(\S+\.)+com"],
)  # fmt: skip
def test_backtracking_patterns_are_refused(pattern: str) -> None:
    assert backtracking_problem(pattern) is not None
    with pytest.raises(ConfigValueError):
        checks.check_rule(Rule(pattern, "REJECT"), headers=True)


@pytest.mark.parametrize("pattern", ["(*LIMIT_MATCH=9)a", "a(*SKIP)b", "(*UTF)x"])
def test_pcre_verbs_are_refused_but_not_in_a_class_or_escaped(pattern: str) -> None:
    assert user_verb(pattern)
    assert not user_verb("[(*]x") and not user_verb("\\(*x") and not user_verb("\\Q(*\\E")


def test_main_cf_names_each_table_and_the_header_table_after_the_mime_ones() -> None:
    lines = dict(checks.check_table_settings(Path("/etc/pf")))
    assert lines["header_checks"] == "pcre:/etc/pf/header_checks.pcre"
    assert lines["body_checks"] == "pcre:/etc/pf/body_checks.pcre"
    header = "pcre:/etc/pf/header_checks.pcre"
    assert lines["mime_header_checks"] == f"pcre:/etc/pf/mime_header_checks.pcre, {header}"
    assert checks.check_table_settings(None) == []


def test_pcre_offsets_point_into_the_administrators_pattern() -> None:
    rule = Rule("a/b(c", "REJECT")
    rendered = f"{checks.PREFIX}{checks.escaped(rule.pattern)}"
    assert rendered.index("(c") == len(checks.PREFIX) + 4  # one backslash added before the slash
    assert checks.pattern_offset(rule, rendered.index("(c")) == 3
    table = checks.render_table([Rule("x", "WARN"), rule])
    assert checks.loads_rendered(table)[1].pattern == "a/b(c"
    assert checks.rule_of_line(table, len(table.splitlines())) == 2


@pytest.mark.parametrize(
    "pattern",
    [r"^Received: from ([a-z0-9-]+\.)+example\.com", r"(\w+\.)+com", r"^To: (\d+,)*\d+$", r"(a+b)+$"],
)
def test_a_repeat_fenced_by_a_character_it_cannot_match_is_allowed(pattern: str) -> None:
    """One way to split the line: every inner run must stop at the fence (docs/uce.md)."""
    assert backtracking_problem(pattern) is None
