"""Verdict counters (CFG-03): what the content filter and Postfix's checks decided, counted from their logs.

amavisd writes one main line per message, `(pid-n) Passed CLEAN {RelayedInbound}, ... mail_id: X, Hits: S,
...` or `Blocked INFECTED (name) {DiscardedInbound,Quarantined}, ...`; Postfix's cleanup writes `QUEUEID:
reject: header ...` (or body, discard, hold) when a header or body check stopped a message. Both are the
daemons' own lines, already on disk for every message, so the counters need no second log and no hook in
the mail path: the statistics page reads the files (from an offset, so it can count as it goes).

Only amavis's main line carries the `{...}` disposition; its second line per message (the "log_templ"
summary without braces) is not counted, so each message counts once; nor is the Configuration menu's smoke
test probe (mailadmin/stack/contentfilter.py `probe`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from mailadmin.configfiles.postfix import AMAVIS_PROBE_RCPT

CLEAN, SPAM, VIRUS, BANNED, REJECTED, HELD, OTHER = (
    "clean",
    "spam",
    "virus",
    "banned",
    "rejected",
    "held",
    "other",
)
KINDS = (CLEAN, SPAM, VIRUS, BANNED, REJECTED, HELD, OTHER)

_STAMP = r"(?P<when>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d)"
# anchored on the daemon's own prefix: text from a message (a header that a WARN check logs, say) comes after
# it and cannot pass for a verdict
_AMAVIS = re.compile(
    _STAMP + r"(?:\.\d+)? \S+ \S*amavisd?\[\d+\]: \([\w-]+\) (?P<action>Passed|Blocked) "
    r"(?P<what>[A-Z][A-Z-]*)(?: \([^)]*\))* \{(?P<how>[^}]*)\}"
)
# the smoke test's probe: from the null sender to the one address only the re-injection smtpd refuses
_PROBE = re.compile(r"\}, \[[0-9.]+\](?::\d+)? <> -> <" + re.escape(AMAVIS_PROBE_RCPT) + ">,")
_MAIL_ID = re.compile(r"\bmail_id: ([\w+/-]+)")
_CLEANUP = re.compile(
    _STAMP + r" \S+ \S*/cleanup\[\d+\]: (?P<id>[0-9A-Za-z]+): (?P<action>reject|discard|hold): "
    r"(?P<what>header|body) "
)
_AMAVIS_KIND = {
    "CLEAN": CLEAN,
    "SPAM": SPAM,
    "SPAMMY": SPAM,
    "INFECTED": VIRUS,
    "BANNED": BANNED,
}
_CLEANUP_KIND = {"reject": REJECTED, "discard": REJECTED, "hold": HELD}


@dataclass(frozen=True)
class Verdict:
    kind: str  # one of KINDS
    when: str  # the log's own time stamp ("Dec  7 12:05:26")
    source: str  # "amavis" or "postfix"
    ident: str  # amavis's mail_id or Postfix's queue id
    detail: str  # Passed/Blocked and amavis's class, or cleanup's action and header/body


def classify(line: str) -> Verdict | None:
    """The verdict one log line records, or None for every other line."""
    m = _AMAVIS.match(line)
    if m is not None:
        if _PROBE.match(line, m.end() - 1):
            return None  # the Configuration menu's smoke test, not mail
        kind = _AMAVIS_KIND.get(m["what"], OTHER)
        mail_id = _MAIL_ID.search(line, m.end())
        ident = mail_id[1] if mail_id else ""
        return Verdict(kind, m["when"], "amavis", ident, f"{m['action']} {m['what']} {{{m['how']}}}")
    m = _CLEANUP.match(line)
    if m is not None:
        return Verdict(
            _CLEANUP_KIND[m["action"]], m["when"], "postfix", m["id"], f"{m['action']} {m['what']}"
        )
    return None


def verdicts(lines: Iterable[str]) -> Iterator[Verdict]:
    for line in lines:
        found = classify(line)
        if found is not None:
            yield found


def count(lines: Iterable[str]) -> Counter[str]:
    """How many of each kind; every kind is present (0 when none)."""
    counter: Counter[str] = Counter(dict.fromkeys(KINDS, 0))
    counter.update(v.kind for v in verdicts(lines))
    return counter


def read_from(path: Path, offset: int = 0) -> tuple[list[str], int]:
    """The whole lines of `path` after byte `offset`, and the offset to read on from next time (a file
    that shrank was rotated: read it from the start). A missing file has no lines."""
    try:
        with path.open("rb") as f:
            size = f.seek(0, 2)
            f.seek(offset if offset <= size else 0)
            data = f.read()
    except FileNotFoundError:
        return [], 0
    whole = data.rpartition(b"\n")[0]
    start = offset if offset <= size else 0
    consumed = len(whole) + 1 if whole or data.startswith(b"\n") else 0
    return whole.decode("utf-8", "replace").splitlines(), start + consumed


def count_logs(
    paths: Iterable[Path], offsets: dict[Path, int] | None = None
) -> tuple[Counter[str], dict[Path, int]]:
    """The verdicts in amavis's log and Postfix's (`paths`), each read after its offset; returns the counts
    and the offsets to pass next time."""
    total: Counter[str] = Counter(dict.fromkeys(KINDS, 0))
    after: dict[Path, int] = {}
    for path in paths:
        lines, after[path] = read_from(path, (offsets or {}).get(path, 0))
        total.update(count(lines))
    return total, after
