"""Small filters for the Configuration menu's form."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mailadmin.configfiles.registry import Kind, Param, Registry

register = template.Library()


@register.filter
def get(mapping: Any, key: str) -> Any:
    return mapping.get(key) if hasattr(mapping, "get") else None


@register.filter
def choices(param: Param) -> tuple[str, ...]:
    return param.bool_words if param.kind is Kind.BOOLEAN else param.choices


@register.filter
def has_param(registry: Registry, name: str) -> bool:
    return name in registry


@register.filter
def example_missing(param: Param) -> bool:
    """The help texts name their example already; show it apart only where one does not."""
    return bool(param.example) and param.example not in str(param.help)


@register.filter
def kind_label(kind: str) -> str:
    """The kind of a change as the history stores it ("edit", "restore 3", ...), in the reader's language."""
    word, _sep, version = kind.partition(" ")
    if word == "restore" and version.isdigit():
        return _("restore version %(v)s") % {"v": version}
    labels = {
        "edit": _("edit"),
        "adopt hand edit": _("adopt a hand edit"),
        "overwrite hand edit": _("overwrite a hand edit"),
    }
    return labels.get(kind, kind)


# The registries' units are plain words (they are also shown in code and docs); the pages translate them here.
UNITS = {
    "KiB": gettext_lazy("KiB"),
    "SMTP code": gettext_lazy("SMTP code"),
    "attempts": gettext_lazy("attempts"),
    "bits": gettext_lazy("bits"),
    "bytes": gettext_lazy("bytes"),
    "connections": gettext_lazy("connections"),
    "days": gettext_lazy("days"),
    "deliveries": gettext_lazy("deliveries"),
    "entries": gettext_lazy("entries"),
    "errors": gettext_lazy("errors"),
    "headers": gettext_lazy("headers"),
    "hours": gettext_lazy("hours"),
    "level": gettext_lazy("level"),
    "lines": gettext_lazy("lines"),
    "messages": gettext_lazy("messages"),
    "minutes": gettext_lazy("minutes"),
    "percent": gettext_lazy("percent"),
    "points": gettext_lazy("points"),
    "port": gettext_lazy("port"),
    "processes": gettext_lazy("processes"),
    "readers": gettext_lazy("readers"),
    "recipients": gettext_lazy("recipients"),
    "requests": gettext_lazy("requests"),
    "scripts": gettext_lazy("scripts"),
    "seconds": gettext_lazy("seconds"),
    "sessions": gettext_lazy("sessions"),
    "threads": gettext_lazy("threads"),
}


@register.filter
def unit_label(unit: str) -> str:
    return str(UNITS.get(unit, unit))
