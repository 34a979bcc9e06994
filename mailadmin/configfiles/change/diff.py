"""The change flow's two views of a change: a per-parameter table (default / running / proposed) and a
unified diff of each file, with every password line blanked."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from mailadmin.configfiles.files import CHECKSUM_MARK
from mailadmin.configfiles.registry import Param

HIDDEN = "********"
# A line that carries a password, in every format the menu writes: main.cf tables (bind_pw = ...), LDIF
# (olcRootPW: ...), imapd.conf (ldap_password: ...), proftpd.conf (LDAPBindDN "dn" "password").
_SECRET_LINE = re.compile(
    r"^(?P<key>\s*[\w.-]*(?:_pw|pw|password|passwd|secret)\b\s*[=:]?\s*|\s*LDAPBindDN\s+\S+\s*).+$",
    re.IGNORECASE | re.MULTILINE,
)


def redact(text: str, *, compared_with: str | None = None) -> str:
    """`text` with every password blanked. With `compared_with` (the other side of a diff), a password that
    differs from the one there shows as changed, so a diff still tells that it changed but never what to."""
    before = {}
    if compared_with is not None:
        before = {m["key"].strip(): m.group(0) for m in _SECRET_LINE.finditer(compared_with)}

    def mask(m: re.Match[str]) -> str:
        key = m["key"].strip()
        if compared_with is not None and before.get(key) != m.group(0):
            return m["key"] + HIDDEN + " (changed)"
        return m["key"] + HIDDEN

    return _SECRET_LINE.sub(mask, text)


@dataclass(frozen=True)
class Row:
    name: str
    default: str | None  # None: the daemon has no default (or none we can ask for)
    running: str | None
    proposed: str | None  # None: back to the renderer's value / the daemon's default
    secret: bool = False

    def shown(self, value: str | None) -> str | None:
        return HIDDEN if self.secret and value else value

    def as_dict(self) -> dict[str, str | None]:
        return {
            "name": self.name,
            "default": self.shown(self.default),
            "running": self.shown(self.running),
            "proposed": self.shown(self.proposed),
        }


def rows(
    params: Iterable[Param],
    *,
    defaults: Mapping[str, str],
    running: Mapping[str, str],
    proposed: Mapping[str, str | None],
    effective: Mapping[str, str],
) -> list[Row]:
    """One row per parameter whose effective value changes (`proposed`: the new stored values;
    `effective`: what each parameter will be after the change, renderer values included)."""
    out = []
    for p in params:
        before = running.get(p.name)
        after = effective.get(p.name)
        if before == after and p.name not in proposed:
            continue
        out.append(
            Row(name=p.name, default=defaults.get(p.name), running=before, proposed=after, secret=p.secret)
        )
    return out


def _without_checksum(text: str) -> list[str]:
    """The header's checksum line changes with every body change: it would only add noise to a diff."""
    return [line for line in text.splitlines(keepends=True) if CHECKSUM_MARK not in line[:40]]


def file_diff(name: str, before: str | None, after: str) -> str:
    """Unified diff of one file, secrets blanked (an empty string when nothing changes)."""
    old = _without_checksum(redact(before or ""))
    new = _without_checksum(redact(after, compared_with=before or ""))
    label = f"{name} (running)" if before is not None else f"{name} (new file)"
    return "".join(difflib.unified_diff(old, new, fromfile=label, tofile=f"{name} (proposed)", n=2))
