"""The audit log: who changed what, when, from where (domain administrators see their domains only)."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from mailadmin import directory
from mailadmin.actor import Actor
from mailadmin.audit.models import AuditEntry
from mailadmin.permissions import Level, guard


def visible_entries(actor: Actor) -> QuerySet[AuditEntry]:
    entries = AuditEntry.objects.all()
    if actor.roles.administrator:
        return entries
    names = {directory.domain_name(dn) for dn in actor.roles.domains | actor.roles.groups}
    names.discard(None)
    if not names:
        return entries.none()
    scope = Q()
    for name in names:
        scope |= Q(domains__contains=f",{name},")
    return entries.filter(scope)


@guard(Level.DELEGATED)
@require_GET
def audit_list(request: HttpRequest) -> HttpResponse:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    entries = visible_entries(actor)
    filters = {k: request.GET.get(k, "").strip()[:200] for k in ("actor", "action", "target", "domain")}
    if filters["actor"]:
        entries = entries.filter(actor__icontains=filters["actor"])
    if filters["action"]:
        entries = entries.filter(action__icontains=filters["action"])
    if filters["target"]:
        entries = entries.filter(target__icontains=filters["target"])
    if filters["domain"]:
        entries = entries.filter(domains__contains=f",{filters['domain'].lower()},")
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    query = "&".join(f"{k}={v}" for k, v in filters.items() if v)
    context = {"page": page, "filters": filters, "query": query}
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "audit/list.html#rows", context)
    return render(request, "audit/list.html", context)
