"""System aliases, valid for every domain (ALI-05): one page, edited many at once ("Update All")."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from aliases.services import system as services
from aliases.services.addresses import split_addresses
from mailadmin.actor import Actor
from mailadmin.directory import DirectoryError, InvalidName
from mailadmin.permissions import Level, guard

MAX_FIELD = 5000  # characters in one field of the table


def _field(request: HttpRequest, name: str) -> str:
    value = request.POST.get(name, "")
    if len(value) > MAX_FIELD or "\x00" in value:
        raise InvalidName(_("A field of the table is too long or holds a NUL character."), name)
    return value


@guard(Level.ADMIN)
@require_http_methods(["GET", "POST"])
def system_aliases(request: HttpRequest) -> HttpResponse:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    current = services.system_alias_list()
    error, error_field = "", ""
    typed: dict[str, str] = {}
    if request.method == "POST":
        try:
            typed = {f"targets-{a.name}": _field(request, f"targets-{a.name}") for a in current}
            typed.update(new_name=_field(request, "new_name"), new_targets=_field(request, "new_targets"))
            update = {
                a.name: split_addresses(typed[f"targets-{a.name}"])
                for a in current
                if f"targets-{a.name}" in request.POST
            }
            changed = services.system_aliases_save(
                actor=actor,
                update=update,
                delete=request.POST.getlist("delete")[:1000],
                new_name=typed["new_name"],
                new_targets=split_addresses(typed["new_targets"]),
            )
        except (InvalidName, DirectoryError) as exc:
            error, error_field = str(exc), getattr(exc, "field", "")
        else:
            messages.success(
                request,
                _("Saved: %(names)s.") % {"names": ", ".join(changed)}
                if changed
                else _("Nothing was changed."),
            )
            return redirect(reverse("system_aliases"))
    rows: list[dict[str, Any]] = [
        {
            "name": a.name,
            "field": f"targets-{a.name}",
            "value": typed.get(f"targets-{a.name}", ", ".join(a.targets)),
            "invalid": error_field == f"targets-{a.name}",
            "deleting": a.name in request.POST.getlist("delete"),
        }
        for a in current
    ]
    context = {
        "rows": rows,
        "error": error,
        "error_field": error_field,
        "new_name": typed.get("new_name", ""),
        "new_targets": typed.get("new_targets", ""),
    }
    return render(request, "aliases/system.html", context, status=400 if error else 200)


urlpatterns = [path("system/", system_aliases, name="system_aliases")]
