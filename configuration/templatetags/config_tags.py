"""Small filters for the Configuration menu's form."""

from __future__ import annotations

from typing import Any

from django import template

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
