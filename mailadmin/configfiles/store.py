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
import re
import secrets
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mailadmin.configfiles.files import atomic_write

_SERVICE_NAMES = frozenset({"postfix", "cyrus", "slapd", "nginx", "proftpd", "amavis"})


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
    """Make `values` the current ones, as `version`; every version is also kept (`load_version`)."""
    menu_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    stored = Stored(version=version, values=dict(sorted(values.items())))
    text = json.dumps({"version": stored.version, "values": stored.values}, indent=1, sort_keys=True)
    # 0600: a bind password set in the menu is among the values (the history in the database shows them
    # blanked; restoring an old version takes them from here)
    versions = menu_dir / "versions"
    versions.mkdir(mode=0o700, exist_ok=True)
    atomic_write(versions / f"{_path(menu_dir, service).stem}-{version}.json", text + "\n", mode=0o600)
    atomic_write(_path(menu_dir, service), text + "\n", mode=0o600)
    return stored


def load_version(menu_dir: Path, service: str, version: int) -> dict[str, str]:
    """The values of an earlier version (version 0: nothing set, the renderer's and daemon's defaults)."""
    if version == 0:
        return {}
    path = menu_dir / "versions" / f"{_path(menu_dir, service).stem}-{int(version)}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise StoreError(f"version {version} of {service} is not kept") from exc
    except ValueError as exc:
        raise StoreError(f"{path} is damaged ({exc})") from exc
    return dict(data["values"])


# --- proposals waiting for the administrator's confirmation -------------------------------------------------
# The confirmation page carries only an id: the values (a password among them) stay in a 0600 file beside
# the stored ones, never in the page or the session.
PENDING_SECONDS = 3600


def save_pending(menu_dir: Path, service: str, data: Mapping[str, object]) -> str:
    pending = menu_dir / "pending"
    pending.mkdir(mode=0o700, parents=True, exist_ok=True)
    for old in pending.glob("*.json"):
        with contextlib.suppress(OSError):
            if time.time() - old.stat().st_mtime > PENDING_SECONDS:
                old.unlink()
    token = secrets.token_hex(16)
    atomic_write(pending / f"{token}.json", json.dumps({"service": service, **data}), mode=0o600)
    return token


def load_pending(menu_dir: Path, service: str, token: str) -> dict[str, object] | None:
    """The proposal saved under `token` for `service`, or None (unknown, expired, or another service's)."""
    if not isinstance(token, str) or not re.fullmatch(r"[0-9a-f]{32}", token):
        return None
    path = menu_dir / "pending" / f"{token}.json"
    try:
        if time.time() - path.stat().st_mtime > PENDING_SECONDS:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("service") == service else None


def drop_pending(menu_dir: Path, token: str) -> None:
    if re.fullmatch(r"[0-9a-f]{32}", token):
        (menu_dir / "pending" / f"{token}.json").unlink(missing_ok=True)


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
