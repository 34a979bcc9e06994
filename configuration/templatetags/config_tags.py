"""Small filters for the Configuration menu's form."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext as _

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
