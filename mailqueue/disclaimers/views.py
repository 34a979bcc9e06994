"""Disclaimers pages (DLV-03): list, create, edit, delete. Administrators only (the manual's Mail Delivery
menu is server-wide configuration); everybody else gets a 404 from `guard`."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from mailadmin.actor import Actor
from mailadmin.permissions import Level, guard
from mailqueue.disclaimers.forms import DisclaimerForm
from mailqueue.disclaimers.models import Disclaimer
from mailqueue.disclaimers.selectors import disclaimer_get, disclaimer_rows
from mailqueue.disclaimers.services import (
    DisclaimerError,
    disclaimer_delete,
    disclaimer_save,
    published_in_sync,
)


def _get(pk: int) -> Disclaimer:
    item = disclaimer_get(disclaimer_id=pk)
    if item is None:
        raise Http404("No such disclaimer.")
    return item


@guard(Level.ADMIN)
@require_http_methods(["GET"])
def disclaimer_list(request: HttpRequest) -> HttpResponse:
    rows = disclaimer_rows()
    return render(request, "mailqueue/disclaimer_list.html", {"rows": rows, "in_sync": published_in_sync()})


def _form_page(request: HttpRequest, form: DisclaimerForm, item: Disclaimer | None) -> HttpResponse:
    return render(
        request,
        "mailqueue/disclaimer_form.html",
        {
            "form": form,
            "item": item,
            "title": _("Change disclaimer") if item else _("Create disclaimer"),
            "submit": _("Save") if item else _("Create disclaimer"),
        },
    )


def _save(request: HttpRequest, form: DisclaimerForm, item: Disclaimer | None) -> HttpResponse | None:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    data = form.cleaned_data
    try:
        saved = disclaimer_save(
            actor=actor,
            owner=data["owner"],
            text=data["text"],
            html=data["html"],
            outbound_only=data["outbound_only"],
            disclaimer_id=item.pk if item else None,
        )
    except DisclaimerError as exc:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        return None
    messages.success(request, _("Disclaimer of %(owner)s saved.") % {"owner": saved.owner_dn})
    return redirect("disclaimers")


@guard(Level.ADMIN)
@require_http_methods(["GET", "POST"])
def disclaimer_create(request: HttpRequest) -> HttpResponse:
    form = DisclaimerForm(request.POST or None, initial={"owner": request.GET.get("owner", "")[:1024]})
    if request.method == "POST" and form.is_valid():
        done = _save(request, form, None)
        if done is not None:
            return done
    return _form_page(request, form, None)


@guard(Level.ADMIN)
@require_http_methods(["GET", "POST"])
def disclaimer_edit(request: HttpRequest, pk: int) -> HttpResponse:
    item = _get(pk)
    initial = {
        "owner": item.owner_dn,
        "text": item.text,
        "html": item.html,
        "outbound_only": item.outbound_only,
    }
    form = DisclaimerForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        done = _save(request, form, item)
        if done is not None:
            return done
    return _form_page(request, form, item)


@guard(Level.ADMIN)
@require_http_methods(["GET", "POST"])
def disclaimer_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    item = _get(pk)
    if request.method == "POST":
        actor: Actor = request.actor  # type: ignore[attr-defined]
        disclaimer_delete(actor=actor, disclaimer_id=item.pk)
        messages.success(request, _("Disclaimer of %(owner)s deleted.") % {"owner": item.owner_dn})
        return redirect("disclaimers")
    return render(
        request, "mailqueue/disclaimer_delete.html", {"item": item, "cancel": reverse("disclaimers")}
    )


urlpatterns: list[URLPattern] = [
    path("disclaimers/", disclaimer_list, name="disclaimers"),
    path("disclaimers/new/", disclaimer_create, name="disclaimer_create"),
    path("disclaimers/<int:pk>/", disclaimer_edit, name="disclaimer_edit"),
    path("disclaimers/<int:pk>/delete/", disclaimer_delete_view, name="disclaimer_delete"),
]
