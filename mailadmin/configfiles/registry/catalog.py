"""Every service of the Configuration menu, in menu order, with its registry."""

from __future__ import annotations

from mailadmin.configfiles.registry import Param, Registry
from mailadmin.configfiles.registry.postfix import POSTFIX

REGISTRIES: dict[str, Registry] = {r.service: r for r in (POSTFIX,)}


def registry(service: str) -> Registry | None:
    return REGISTRIES.get(service)


def every_param() -> list[tuple[Registry, Param]]:
    return [(r, p) for r in REGISTRIES.values() for p in r.params]
