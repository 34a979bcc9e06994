"""Configuration → UCE controls: the HELO, sender, recipient, blocklist and envelope restrictions of Postfix
(CFG-02). The same change flow as the Postfix page (validate, diff, apply, smoke test, history, rollback),
limited to the UCE group, with the resulting smtpd_*_restrictions shown read-only as Postfix reads them.
Administrators only (Level.ADMIN: anyone else gets 404)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from configuration import selectors, services
from configuration.views.service import FIELD, _confirm, _unavailable, changes_from
from mailadmin.permissions import Level, guard

SERVICE = "postfix"
TEMPLATE = "configuration/uce.html"


@guard(Level.ADMIN)
@require_http_methods(["GET", "POST"])
def uce_restrictions(request: HttpRequest) -> HttpResponse:
    """GET: the UCE parameters with help, default and running value, and the resulting restriction lists.
    POST: propose the change; only this page's parameters are taken."""
    try:
        page, lists, problem = selectors.uce_page()
    except services.Unavailable as exc:
        return _unavailable(request, exc)
    context: dict[str, Any] = {
        "page": page,
        "lists": lists,
        "lists_problem": problem,
        "service": SERVICE,
        "errors": {},
        "posted": {},
    }
    if request.method != "POST":
        return render(request, TEMPLATE, context)
    context["posted"] = {k[len(FIELD) :]: v for k, v in request.POST.items() if k.startswith(FIELD)}
    changes = changes_from(request.POST, page)
    ours = {f.param.name for s in page.sections for f in s.fields}
    foreign = sorted(set(changes) - ours)
    if foreign:
        context["foreign"] = foreign
        messages.error(request, _("Some values were refused; nothing was written."))
        return render(request, TEMPLATE, context, status=400)
    if not changes:
        messages.info(request, _("Nothing to change: every value is as it was."))
        return render(request, TEMPLATE, context)
    try:
        pending = services.propose(SERVICE, changes)
    except services.ChangeRefused as exc:
        context["errors"] = exc.errors
        messages.error(request, _("Some values were refused; nothing was written."))
        return render(request, TEMPLATE, context, status=400)
    except services.DaemonRefused as exc:
        context["daemon_error"] = str(exc)
        return render(request, TEMPLATE, context, status=400)
    return _confirm(request, SERVICE, pending)


urlpatterns: list[URLPattern] = [
    path("uce/restrictions/", uce_restrictions, name="config_uce"),
]
