"""Move (ACC-04): a user, resource, contact or group into another organization or group of this server.

The list of destinations is the containers of the entry's own domain where the actor may create that kind
of entry; a DN typed in the second field reaches other domains (administrators, or domain administrators
of several domains). Either way the server checks the destination like the entry: outside → 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.selectors import (
    MOVABLE_KINDS,
    domain_containers,
    get_kind,
    may_move,
    move_target_refusal,
)
from accounts.services.containers import entry_move
from accounts.views.browser import KIND_LABELS, browser_url, object_url
from accounts.views.container_forms import MoveForm, add_service_error
from mailadmin import directory
from mailadmin.actor import Actor
from mailadmin.directory import DirectoryError, DirectoryNotFound, InvalidName, dit
from mailadmin.permissions import Kind, Level, Verb, can, guard, require

MAX_CHOICES = 500


def _label(dn: str, domain_dn: str) -> str:
    """`a.test / sales / east` for ou=east,ou=sales,o=a.test,dc=a.test,..."""
    names = []
    current = dn
    while dit.is_inside(current, domain_dn, strict=True):
        names.append(dit.rdn_value(current))
        current = dit.parent_dn(current)
    return " / ".join(reversed(names))


def _choices(actor: Actor, dn: str, kind: Kind) -> list[tuple[str, str]]:
    domain = dit.domain_of(dn)
    if domain is None:
        return []
    domain_dn = dit.domain_dn(domain)
    # Containers are few next to accounts; a domain with more than MAX_CHOICES gets only the DN field.
    found = domain_containers(domain_dn=domain_dn, limit=MAX_CHOICES)
    if found is None:
        return []
    choices = [
        (c, _label(c, domain_dn))
        for c in found
        if move_target_refusal(dn, c) is None
        and can(actor, Verb.VIEW, c)
        and can(actor, Verb.CREATE, c, kind=kind)
    ]
    return sorted(choices, key=lambda c: c[1].casefold())


@guard(Level.DELEGATED)
@require_http_methods(["GET", "POST"])
def entry_move_view(request: HttpRequest) -> HttpResponse:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    dn = request.GET.get("dn", "")
    if not dn or len(dn) > 1024 or not directory.valid_dn(dn):
        raise Http404("No such object.")
    require(actor, Verb.VIEW, dn)
    try:
        entry, kind = get_kind(dn)
    except DirectoryNotFound as exc:
        raise Http404("No such object.") from exc
    if kind not in MOVABLE_KINDS:
        raise Http404("This cannot be moved.")
    if not may_move(actor, entry.dn, kind):
        raise Http404("No such object.")
    form = MoveForm(request.POST or None, choices=_choices(actor, entry.dn, kind))
    if request.method == "POST" and form.is_valid():
        target = form.destination
        if len(target) > 1024 or not directory.valid_dn(target):
            raise Http404("No such organization or group.")
        # The destination is an object like any other: outside the actor's area it does not exist.
        require(actor, Verb.VIEW, target)
        require(actor, Verb.CREATE, target, kind=kind)
        try:
            new_dn = entry_move(actor=actor, dn=entry.dn, new_parent_dn=target)
        except (InvalidName, DirectoryError) as exc:
            add_service_error(form, exc)
        else:
            messages.success(
                request,
                _("%(name)s moved to %(target)s.")
                % {"name": dit.rdn_value(new_dn), "target": dit.rdn_value(target)},
            )
            return redirect(object_url(new_dn, kind) or browser_url(target))
    return render(
        request,
        "accounts/container_move.html",
        {
            "entry": entry,
            "name": dit.rdn_value(entry.dn),
            "kind": KIND_LABELS.get(kind, ""),
            "form": form,
            "cancel": browser_url(dit.parent_dn(entry.dn)),
        },
    )


urlpatterns: list[URLPattern] = [
    path("move/", entry_move_view, name="entry_move"),
]
