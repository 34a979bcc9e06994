"""Dashboard, installation checks, language choice, and the pages of the menu not built yet."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from mailadmin import directory, health, preflight
from mailadmin.actor import Actor
from mailadmin.navigation import find_item
from mailadmin.permissions import Level, _level_ok, guard


def _counts(actor: Actor) -> list[tuple[str, int]] | None:
    try:
        if actor.roles.administrator:
            return directory.counts()
        if actor.roles.domains:
            return directory.counts(bases=sorted(actor.roles.domains))
        if actor.roles.groups:
            return directory.counts(bases=sorted(actor.roles.groups))
    except directory.DirectoryError:
        return None
    return []


@guard(Level.USER)
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    context: dict[str, object] = {"counts": _counts(actor)}
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
