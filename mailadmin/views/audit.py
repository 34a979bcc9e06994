"""The audit log: who changed what, when, from where. Delegated administrators see the rows of their own
domains or groups, with every name from elsewhere blanked (mailadmin/audit/selectors.py)."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from mailadmin.actor import Actor
from mailadmin.audit.selectors import page_rows, visible_entries
from mailadmin.permissions import Level, guard


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
    rows = page_rows(actor, page)
    query = urlencode({k: v for k, v in filters.items() if v})
    context = {"page": page, "rows": rows, "filters": filters, "query": query}
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "audit/list.html#rows", context)
    return render(request, "audit/list.html", context)
