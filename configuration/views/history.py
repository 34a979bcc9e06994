"""History of a service's changes, one change in detail, restoring an earlier version, and settling a hand
edit of a managed file (adopt it into the menu, or overwrite it with what the menu stores)."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from configuration import selectors, services
from configuration.views.service import _confirm, _known, _unavailable
from mailadmin.permissions import Level, guard


@guard(Level.ADMIN)
@require_GET
def history(request: HttpRequest, service: str) -> HttpResponse:
    _known(service)
    page = Paginator(selectors.history(service), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "configuration/history.html",
        {
            "service": service,
            "registry": selectors.known(service),
            "page": page,
            "current": selectors.current_version(service),
        },
    )


@guard(Level.ADMIN)
@require_GET
def change_detail(request: HttpRequest, service: str, pk: int) -> HttpResponse:
    _known(service)
    row = selectors.change(service, pk)
    if row is None:
        raise Http404("No such change.")
    return render(
        request,
        "configuration/change.html",
        {"service": service, "registry": selectors.known(service), "row": row},
    )


@guard(Level.ADMIN)
@require_POST
def restore(request: HttpRequest, service: str) -> HttpResponse:
    _known(service)
    try:
        version = int(str(request.POST.get("version", "")))
    except ValueError:
        raise Http404("No such version.") from None
    try:
        pending = services.propose_restore(service, version)
    except services.Unavailable as exc:
        return _unavailable(request, exc)
    except (services.ChangeRefused, services.DaemonRefused) as exc:
        messages.error(request, _("Version %(v)s cannot be restored: %(e)s") % {"v": version, "e": exc})
        return redirect("config_history", service=service)
    return _confirm(request, service, pending)


@guard(Level.ADMIN)
@require_POST
def settle_hand_edit(request: HttpRequest, service: str) -> HttpResponse:
    """overwrite: propose the stored values again (the diff shows the hand edit going away);
    adopt: propose the values the edited file holds for the menu's parameters."""
    _known(service)
    action = request.POST.get("action")
    try:
        if action == "overwrite":
            pending = services.propose_overwrite(service)
        elif action == "adopt":
            pending = services.propose_adopt(service)
        else:
            raise Http404("No such action.")
    except services.Unavailable as exc:
        return _unavailable(request, exc)
    except (services.ChangeRefused, services.DaemonRefused) as exc:
        messages.error(request, _("The edited file cannot be taken over: %s") % exc)
        return redirect("config_service", service=service)
    return _confirm(request, service, pending)


urlpatterns: list[URLPattern] = [
    path("<slug:service>/history/", history, name="config_history"),
    path("<slug:service>/history/<int:pk>/", change_detail, name="config_change"),
    path("<slug:service>/restore/", restore, name="config_restore"),
    path("<slug:service>/hand-edit/", settle_hand_edit, name="config_hand_edit"),
]
