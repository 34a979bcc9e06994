"""The Configuration menu's stored values: what the administrator set, per service, in one JSON file each.

`<menu dir>/<service>.json` holds `{"version": N, "values": {name: text}}`: only the parameters the
administrator changed (a parameter that is absent keeps the renderer's value, or the daemon's default when the
renderer writes nothing for it). Both the stack's start and the menu's change flow render the daemons' files
from these values, so a change made in the menu lasts across restarts. Each version's values are also kept
in the console's history (configuration app), from which any earlier version can be restored.

The file is written atomically; a lock per service serialises changes (two administrators applying at once
would otherwise each roll back the other's file).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mailadmin.configfiles.files import atomic_write

_SERVICE_NAMES = frozenset({"postfix", "cyrus", "slapd", "nginx", "proftpd"})


class StoreError(Exception):
    """The stored values cannot be read (a damaged file): nothing is rendered from guesses."""


@dataclass(frozen=True)
class Stored:
    version: int = 0
    values: dict[str, str] = field(default_factory=dict)


def _path(menu_dir: Path, service: str) -> Path:
    if service not in _SERVICE_NAMES:
        raise StoreError(f"unknown service {service!r}")
    return menu_dir / f"{service}.json"


def load(menu_dir: Path, service: str) -> Stored:
    """The stored values (version 0 and none when the menu never changed the service)."""
    path = _path(menu_dir, service)
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Stored()
    try:
        data = json.loads(raw)
        version = data["version"]
        values = data["values"]
        if not isinstance(version, int) or not isinstance(values, dict):
            raise TypeError("version must be a number and values an object")
        if not all(isinstance(k, str) and isinstance(val, str) for k, val in values.items()):
            raise TypeError("every value must be text")
    except (ValueError, KeyError, TypeError) as exc:
        raise StoreError(f"{path} is damaged ({exc}); restore it from the history or remove it") from exc
    return Stored(version=version, values=dict(values))


def values(menu_dir: Path, service: str) -> dict[str, str]:
    return load(menu_dir, service).values


def save(menu_dir: Path, service: str, values: Mapping[str, str], version: int) -> Stored:
    menu_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    stored = Stored(version=version, values=dict(sorted(values.items())))
    text = json.dumps({"version": stored.version, "values": stored.values}, indent=1, sort_keys=True)
    # 0600: a bind password set in the menu is among the values
    atomic_write(_path(menu_dir, service), text + "\n", mode=0o600)
    return stored


@contextlib.contextmanager
def locked(menu_dir: Path, service: str) -> Iterator[None]:
    """One change of a service at a time; a second caller waits (a change takes seconds, not minutes)."""
    menu_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    lock = _path(menu_dir, service).with_suffix(".lock")
    with open(lock, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
