"""Every view in the URLconf carries a guard (`mailadmin.permissions.guard`); a new page without one fails."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver

from mailadmin.permissions import Level


def _walk(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), p.callback


def test_every_view_has_a_guard() -> None:
    unguarded = [
        route
        for route, view in _walk(get_resolver().url_patterns)
        if not isinstance(getattr(view, "mailadmin_guard", None), Level)
    ]
    assert unguarded == []


def test_only_login_logout_and_language_are_public() -> None:
    public = sorted(
        route
        for route, view in _walk(get_resolver().url_patterns)
        if getattr(view, "mailadmin_guard", None) is Level.PUBLIC
    )
    assert public == ["i18n/setlang/", "login/", "logout/"]


def test_walk_finds_the_views() -> None:
    routes = [route for route, _ in _walk(get_resolver().url_patterns)]
    assert "login/" in routes and "" in routes and len(routes) >= 10
