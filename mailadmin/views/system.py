"""Dashboard, installation checks, language choice, and the pages of the menu not built yet."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from mailadmin import health, preflight
from mailadmin.actor import Actor
from mailadmin.navigation import find_item
from mailadmin.permissions import Level, _level_ok, guard
from mailadmin.selectors import inventory_counts


@guard(Level.USER)
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    context: dict[str, object] = {"counts": inventory_counts(actor=actor)}
    if actor.roles.administrator:
        context["services"] = health.service_states()
        context["ports"] = preflight.port_uses()
    if request.htmx and request.GET.get("part") == "services":  # type: ignore[attr-defined]
        return render(request, "system/dashboard.html#services", context)
    return render(request, "system/dashboard.html", context)


@guard(Level.ADMIN)
@require_GET
def preflight_view(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "system/preflight.html",
        {
            "findings": preflight.hostname_findings(),
            "ports": preflight.port_uses(),
        },
    )


@guard(Level.USER)
@require_GET
def languages(request: HttpRequest) -> HttpResponse:
    return render(request, "system/languages.html")


@guard(Level.USER)
@require_GET
def placeholder(request: HttpRequest, section: str, slug: str) -> HttpResponse:
    found = find_item(section, slug)
    if found is None or found[1].built or not _level_ok(request.actor, found[1].level):  # type: ignore[attr-defined]
        raise Http404("No such page.")
    sec, item = found
    return render(request, "system/placeholder.html", {"section": sec, "item": item})
