"""The Configuration menu's start page and the help browser (CFG-06)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.views.decorators.http import require_GET

from configuration import selectors
from mailadmin.permissions import Level, guard


@guard(Level.ADMIN)
@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    return render(request, "configuration/overview.html", {"registries": selectors.services()})


@guard(Level.ADMIN)
@require_GET
def help_browser(request: HttpRequest) -> HttpResponse:
    query = str(request.GET.get("q", ""))[:200]
    hits = selectors.search_help(query) if query.strip() else []
    return render(
        request,
        "configuration/help.html",
        {"query": query, "hits": hits, "registries": selectors.services(), "searched": bool(query.strip())},
    )


urlpatterns: list[URLPattern] = [
    path("", overview, name="config_overview"),
    path("help/", help_browser, name="config_help"),
]
