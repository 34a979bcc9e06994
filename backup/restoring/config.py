"""Configuration back from a backup set, service by service, through the Configuration menu's change flow:
each service's values are checked, staged, validated by its daemon, applied, reloaded and smoke-tested, and
the flow rolls a failed one back by itself. If one service fails, the services this restore already changed
are put back through the same flow, so the configuration is either the backup's or what it was."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from backup import archive
from backup.making import Hooks
from configuration import services as config
from mailadmin.actor import Actor
from mailadmin.configfiles.registry.catalog import REGISTRIES
from mailqueue import selectors as delivery
from mailqueue import services as delivery_services


def _values(path: Path, limits: archive.Limits) -> tuple[dict[str, dict[str, str]], dict[str, Any]]:
    """The services' values, and the console's own settings (config/console.json)."""
    found: dict[str, dict[str, str]] = {}
    console: dict[str, Any] = {}
    for entry in archive.entries(path, limits):
        if entry.name == "config/console.json" and entry.fileobj is not None:
            loaded = json.loads(entry.fileobj.read(64 * 1024 * 1024))
            console = loaded if isinstance(loaded, dict) else {}
            continue
        if entry.name.startswith("config/values/") and entry.fileobj is not None:
            service = entry.name.removeprefix("config/values/").removesuffix(".json")
            data = json.loads(entry.fileobj.read(1024 * 1024))
            values = data.get("values") if isinstance(data, dict) else None
            if service not in REGISTRIES or not isinstance(values, dict):
                raise ValueError(f"{entry.name} is not a service's values")
            found[service] = {str(k): str(v) for k, v in values.items()}
    return found, console


def _rows(actor: Actor, console: dict[str, Any], hooks: Hooks) -> dict[str, list[dict[str, object]]]:
    """Put the backup's relay rules and disclaimers in place; what was there before (to put back if a
    service fails later)."""
    before = delivery.delivery_settings()
    found = console.get("delivery")
    settings: dict[str, Any] = found if isinstance(found, dict) else {}
    rules = [r for r in settings.get("relay_rules", []) if isinstance(r, dict)]
    items = [d for d in settings.get("disclaimers", []) if isinstance(d, dict)]
    for note in delivery_services.delivery_settings_replace(
        actor=actor, relay_rules=rules, disclaimers=items
    ):
        hooks.log(note)
    hooks.log(f"Relay rules: {len(rules)}; disclaimers: {len(items)}")
    return before


def restore(path: Path, actor: Actor, *, limits: archive.Limits, hooks: Hooks) -> dict[str, Any]:
    wanted, console = _values(path, limits)
    done: list[tuple[str, dict[str, str]]] = []
    result: dict[str, Any] = {}
    before = _rows(actor, console, hooks)
    try:
        _services(wanted, actor, hooks, done, result)
    except BaseException:
        delivery_services.delivery_settings_replace(
            actor=actor, relay_rules=before["relay_rules"], disclaimers=before["disclaimers"]
        )
        hooks.log("Relay rules and disclaimers put back")
        raise
    return result


def _services(
    wanted: dict[str, dict[str, str]],
    actor: Actor,
    hooks: Hooks,
    done: list[tuple[str, dict[str, str]]],
    result: dict[str, Any],
) -> None:
    hooks.progress(0, len(wanted))
    for number, (service, values) in enumerate(wanted.items(), 1):
        before = config.stored_values(service)
        if before == values:
            result[service] = "unchanged"
            hooks.log(f"{service}: already as in the backup")
            continue
        try:
            pending = config.propose_values(service, values, kind="backup restore")
            outcome, _row = config.apply(actor, service, pending.token)
        except Exception as exc:  # refused, or the daemon said no: put back what this restore changed
            hooks.log(f"{service}: not restored ({exc}); putting back the services already restored")
            _put_back(done, actor, hooks)
            raise
        if not outcome.applied:
            hooks.log(f"{service}: the change was rolled back ({outcome.reason}); putting back the others")
            _put_back(done, actor, hooks)
            raise RuntimeError(f"{service}: {outcome.reason}")
        done.append((service, before))
        result[service] = "restored"
        hooks.log(f"{service}: restored ({outcome.smoke})")
        hooks.progress(number, len(wanted))


def _put_back(done: list[tuple[str, dict[str, str]]], actor: Actor, hooks: Hooks) -> None:
    for service, before in reversed(done):
        pending = config.propose_values(service, before, kind="backup restore undone")
        outcome, _row = config.apply(actor, service, pending.token)
        hooks.log(
            f"{service}: {'put back' if outcome.applied else 'could NOT be put back: ' + outcome.reason}"
        )
