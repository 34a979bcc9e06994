"""Every unit a registry names is translated on the pages (configuration/templatetags/config_tags.UNITS)."""

from __future__ import annotations

from configuration.templatetags.config_tags import UNITS
from mailadmin.configfiles.registry.catalog import every_param


def test_every_unit_has_a_label() -> None:
    units = {param.unit for _registry, param in every_param() if param.unit}
    assert units <= set(UNITS), sorted(units - set(UNITS))
