"""The Configuration menu's pages for one service: the parameters (form), the confirmation with the
three-way table and the diff, and the apply. Administrators only (Level.ADMIN: anyone else gets 404)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from configuration import selectors, services
from mailadmin.actor import Actor
from mailadmin.permissions import Level, guard

FIELD = "v-"
RESET = "reset-"


def _known(service: str) -> None:
    if selectors.known(service) is None:
        raise Http404("No such service.")


def changes_from(post: Any, page: selectors.ServicePage) -> dict[str, str | None]:
    """What the form asks to change: a value that differs from the stored one, an emptied field or a ticked
    "default" box (back to the default), and any `v-` field that is no parameter (refused by the flow)."""
    changes: dict[str, str | None] = {}
    fields = {f.param.name: f for s in page.sections for f in s.fields}
    for key in post:
        if key.startswith(FIELD) and key[len(FIELD) :] not in fields:
            changes[key[len(FIELD) :]] = post.get(key)
    for name, field in fields.items():
        if field.param.fixed:
            continue
        if post.get(RESET + name):
            if field.stored is not None:
                changes[name] = None
            continue
        raw = post.get(FIELD + name)
        if raw is None:
            continue
        if raw == "":
            if field.stored is not None and not field.param.secret:
                changes[name] = None
            continue
        if raw != field.stored:
            changes[name] = raw
    return changes


def _unavailable(request: HttpRequest, exc: Exception) -> HttpResponse:
    return render(request, "configuration/unavailable.html", {"reason": str(exc)}, status=503)


@guard(Level.ADMIN)
@require_http_methods(["GET", "POST"])
def service_form(request: HttpRequest, service: str) -> HttpResponse:
    """GET: every parameter with its help, default and running value. POST: propose the change."""
    _known(service)
    try:
        page = selectors.service_page(service)
    except services.Unavailable as exc:
        return _unavailable(request, exc)
    context: dict[str, Any] = {"page": page, "service": service, "errors": {}, "posted": {}}
    if request.method == "POST":
        changes = changes_from(request.POST, page)
        context["posted"] = {k[len(FIELD) :]: v for k, v in request.POST.items() if k.startswith(FIELD)}
        if not changes:
            messages.info(request, _("Nothing to change: every value is as it was."))
            return render(request, "configuration/service.html", context)
        try:
            pending = services.propose(service, changes)
        except services.ChangeRefused as exc:
            context["errors"] = exc.errors
            messages.error(request, _("Some values were refused; nothing was written."))
            return render(request, "configuration/service.html", context, status=400)
        except services.DaemonRefused as exc:
            context["daemon_error"] = str(exc)
            return render(request, "configuration/service.html", context, status=400)
        return _confirm(request, service, pending)
    return render(request, "configuration/service.html", context)


def _confirm(request: HttpRequest, service: str, pending: services.Pending) -> HttpResponse:
    registry = selectors.known(service)
    return render(
        request,
        "configuration/confirm.html",
        {"service": service, "registry": registry, "pending": pending, "proposal": pending.proposal},
    )


@guard(Level.ADMIN)
@require_POST
def service_apply(request: HttpRequest, service: str) -> HttpResponse:
    _known(service)
    actor: Actor = request.actor  # type: ignore[attr-defined]
    try:
        outcome, row = services.apply(actor, service, str(request.POST.get("token", "")))
    except services.Unavailable as exc:
        return _unavailable(request, exc)
    except services.StaleProposal as exc:
        messages.error(request, str(exc))
        return redirect("config_service", service=service)
    except (services.ChangeRefused, services.DaemonRefused) as exc:
        messages.error(request, _("The change was refused when applied; nothing was written: %s") % exc)
        return redirect("config_service", service=service)
    if outcome.applied:
        messages.success(
            request,
            _("Applied as version %(v)s. Smoke test: %(s)s") % {"v": outcome.version, "s": outcome.smoke},
        )
    elif outcome.rollback_problem:
        messages.error(request, _("The change failed and so did the rollback: %s") % outcome.rollback_problem)
    else:
        messages.error(request, _("The change failed and was rolled back: %s") % outcome.reason)
    return redirect("config_change", service=service, pk=row.pk)


urlpatterns: list[URLPattern] = [
    path("<slug:service>/", service_form, name="config_service"),
    path("<slug:service>/apply/", service_apply, name="config_apply"),
]
