"""Every service of the Configuration menu, in menu order, with its registry."""

from __future__ import annotations

from mailadmin.configfiles.registry import Param, Registry
from mailadmin.configfiles.registry.amavis import AMAVIS
from mailadmin.configfiles.registry.cyrus import CYRUS
from mailadmin.configfiles.registry.nginx import NGINX
from mailadmin.configfiles.registry.postfix import POSTFIX
from mailadmin.configfiles.registry.proftpd import PROFTPD
from mailadmin.configfiles.registry.slapd import SLAPD

REGISTRIES: dict[str, Registry] = {r.service: r for r in (POSTFIX, CYRUS, SLAPD, NGINX, PROFTPD, AMAVIS)}


def registry(service: str) -> Registry | None:
    return REGISTRIES.get(service)


def every_param() -> list[tuple[Registry, Param]]:
    return [(r, p) for r in REGISTRIES.values() for p in r.params]
