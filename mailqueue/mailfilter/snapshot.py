"""The disclaimers as the filter sees them: one JSON file, written by the console after every change and
read by the filter when its mtime changes (a stat per message, no database connection in the filter).

The console's database is the source of truth; the file is derived from it (`manage.py mailfilter --export`
writes it again, e.g. after a new stack was made). Where it lives: MAILFILTER_DISCLAIMERS (the stack sets it
in stack.env), else var/disclaimers.json.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from mailadmin.configfiles import atomic_write

FORMAT = 1


@dataclass(frozen=True)
class Published:
    dn: str  # normalised DN of the owner (user, group, organization or domain)
    text: str
    html: str
    outbound_only: bool


def snapshot_path() -> Path:
    configured = os.environ.get("MAILFILTER_DISCLAIMERS", "")
    return Path(configured) if configured else Path(settings.VAR_DIR) / "disclaimers.json"


def write_snapshot(items: list[Published], path: Path | None = None) -> Path:
    """Atomic (temp file + rename): the filter never reads half a file. 0644: disclaimers are no secret,
    and the filter runs as another user."""
    target = path or snapshot_path()
    data = {
        "format": FORMAT,
        "disclaimers": {
            item.dn: {"text": item.text, "html": item.html, "outbound_only": item.outbound_only}
            for item in items
        },
    }
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(target, json.dumps(data, ensure_ascii=False, sort_keys=True) + "\n", mode=0o644)
    return target


class SnapshotReader:
    """The current disclaimers, reloaded when the file's mtime or size changes. Thread-safe."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._items: dict[str, Published] = {}
        self._lock = threading.Lock()

    def current(self) -> dict[str, Published]:
        try:
            st = self.path.stat()
            stamp: tuple[int, int] | None = (st.st_mtime_ns, st.st_size)
        except OSError:  # missing, or a path that cannot be a file: no disclaimers
            stamp = None
        with self._lock:
            if stamp != self._stamp:
                self._items = _load(self.path) if stamp is not None else {}
                self._stamp = stamp
            return self._items


def _load(path: Path) -> dict[str, Published]:
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # a broken file means no disclaimers, never a refused message
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return {}
    items: dict[str, Published] = {}
    for dn, value in (data.get("disclaimers") or {}).items():
        if isinstance(dn, str) and isinstance(value, dict):
            items[dn] = Published(
                dn=dn,
                text=str(value.get("text", "")),
                html=str(value.get("html", "")),
                outbound_only=bool(value.get("outbound_only", False)),
            )
    return items
