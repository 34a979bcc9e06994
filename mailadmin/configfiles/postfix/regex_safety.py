"""Which PCRE patterns the header and body checks refuse before Postfix ever sees them.

cleanup runs every rule against every header line (or body line) of every message. A pattern with a nested
unbounded quantifier (`(a+)+$`, `(.*)*`) or a repeated alternation whose branches can start alike
(`(a|aa)*`) backtracks exponentially on a line that almost matches: PCRE then burns its whole match limit
(0.2 s of CPU per line with the default limit) before it gives up. So such patterns are refused here, and
every rendered pattern also carries `(*LIMIT_MATCH=...)` (checks.py) so what this walk cannot see stays
bounded. Only PCRE itself can say whether a pattern compiles: postmap is asked about the staged table.

The walk reads Python's own regular-expression parser tree (`re._parser`). The two dialects overlap for
what mail rules use; a pattern Python cannot parse (PCRE-only syntax such as `\\h`, or a plain mistake) is
left to PCRE's compiler and to the match limit.
"""

from __future__ import annotations

import re
import re._constants as sre_c
import re._parser as sre_parse
from typing import Any

from mailadmin.configfiles.values import tr as _

# an outer repeat with more than this many iterations counts as unbounded (`(a+){1,1000}` is as bad as +)
_MANY = 10
_WIDE = "wide"  # a branch's first character is not a small known set


def user_verb(pattern: str) -> bool:
    """True when `pattern` contains an unescaped `(*` outside a character class: a PCRE start option or
    backtracking verb, e.g. `(*LIMIT_MATCH=1)` (which could raise the console's limit) or `(*ACCEPT)`."""
    i, n, in_class = 0, len(pattern), False
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            if pattern.startswith("\\Q", i):  # quoted up to \E: no syntax inside
                end = pattern.find("\\E", i + 2)
                i = n if end < 0 else end + 2
                continue
            i += 2
            continue
        if in_class:
            if ch == "]":
                in_class = False
        elif ch == "[":
            in_class = True
            # a ] right after [ or [^ is a literal member, not the end of the class
            if pattern.startswith("^]", i + 1):
                i += 2
            elif pattern.startswith("]", i + 1):
                i += 1
        elif ch == "(" and pattern.startswith("*", i + 1):
            return True
        i += 1
    return False


def backtracking_problem(pattern: str) -> str | None:
    """Why `pattern` may backtrack exponentially, or None (also when Python cannot parse it: see above)."""
    try:
        tree = sre_parse.parse(pattern)
    except (re.error, RecursionError, OverflowError, ValueError):
        return None
    return _walk(list(tree), inside_repeat=False)


def _is_repeat(op: Any) -> bool:
    return op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT)


def _unbounded(low: int, high: Any) -> bool:
    return high is sre_c.MAXREPEAT or high == sre_c.MAXREPEAT or int(high) - int(low) > _MANY


def _walk(items: list[Any], *, inside_repeat: bool) -> str | None:
    for i, (op, arg) in enumerate(items):
        if _is_repeat(op):
            low, high, sub = arg
            unbounded = _unbounded(low, high)
            if inside_repeat and unbounded and not _fenced(list(sub), items[i + 1 : i + 2]):
                return _("has a repeated part inside another repeated part, e.g. (a+)+ or (.*)*")
            if unbounded:
                problem = _ambiguous_branches(list(sub))
                if problem:
                    return problem
            found = _walk(list(sub), inside_repeat=inside_repeat or unbounded)
            if found:
                return found
        elif op is sre_c.POSSESSIVE_REPEAT or op is sre_c.ATOMIC_GROUP:
            continue  # no backtracking into these
        else:
            for sub in _children(op, arg):
                found = _walk(sub, inside_repeat=inside_repeat)
                if found:
                    return found
    return None


_WORD = {chr(c) for c in range(128) if chr(c).isalnum()} | {"_"}
_CATEGORIES = {
    sre_c.CATEGORY_DIGIT: set("0123456789"),
    sre_c.CATEGORY_WORD: _WORD,
    sre_c.CATEGORY_SPACE: set(" \t\n\r\f\v"),
}


def _fenced(body: list[Any], after: list[Any]) -> bool:
    r"""A repeat of one character class followed by a character it cannot match, as in ([a-z0-9-]+\.)+ or
    (\w+,)*: every iteration must end at that fence, so there is one way to split the text and nothing to
    backtrack into. Exponential only when the run can also eat the fence, or the fence is optional."""
    if len(body) != 1 or len(after) != 1:
        return False
    run, fence = _one_char(body[0]), _one_char(after[0])
    return run is not None and fence is not None and not (run & fence)


def _one_char(item: Any) -> set[str] | None:
    """The characters (lower-cased, ASCII) one required single-character item matches; None when it is not
    such an item or the set is not known (any character, a negated class, a Unicode property)."""
    op, arg = item
    if op is sre_c.LITERAL:
        return {chr(arg).lower()}
    if op is not sre_c.IN:
        return None
    chars: set[str] = set()
    for kind, value in arg:
        if kind is sre_c.LITERAL:
            chars.add(chr(value).lower())
        elif kind is sre_c.RANGE and value[1] - value[0] <= 256:
            chars.update(chr(c).lower() for c in range(value[0], value[1] + 1))
        elif kind is sre_c.CATEGORY and value in _CATEGORIES:
            chars.update(c.lower() for c in _CATEGORIES[value])
        else:
            return None
    return chars


def _children(op: Any, arg: Any) -> list[list[Any]]:
    if op is sre_c.SUBPATTERN:
        return [list(arg[3])]
    if op is sre_c.BRANCH:
        return [list(b) for b in arg[1]]
    if op in (sre_c.ASSERT, sre_c.ASSERT_NOT):
        return [list(arg[1])]
    if op is sre_c.GROUPREF_EXISTS:
        return [list(b) for b in arg[1:] if b is not None]
    return []


def _ambiguous_branches(items: list[Any]) -> str | None:
    """A repeated body whose alternation has two branches that can start with the same character (or an
    empty branch): each iteration can then be split in many ways, as in (a|aa)*."""
    for op, arg in items:
        if op is sre_c.SUBPATTERN:
            found = _ambiguous_branches(list(arg[3]))
            if found:
                return found
        elif op is sre_c.BRANCH:
            firsts = [_first(list(b)) for b in arg[1]]
            for i, a in enumerate(firsts):
                for b in firsts[i + 1 :]:
                    if a == _WIDE or b == _WIDE or (isinstance(a, set) and isinstance(b, set) and a & b):
                        return _(
                            "repeats a choice whose alternatives can start alike, e.g. (a|aa)*; make the "
                            "alternatives distinct or drop the repetition"
                        )
    return None


def _first(items: list[Any]) -> set[str] | str:
    """The characters a sequence can start with, lower-cased (the tables ignore case by default), or
    _WIDE when that is not a small known set (a class escape, any character, an optional first part)."""
    if not items:
        return _WIDE  # an empty branch matches where any other does
    op, arg = items[0]
    if op is sre_c.LITERAL or op is sre_c.IN:
        chars = _one_char(items[0])
        return _WIDE if chars is None else chars
    if op is sre_c.SUBPATTERN:
        return _first(list(arg[3]))
    if _is_repeat(op) and arg[0] >= 1:
        return _first(list(arg[2]))
    return _WIDE
