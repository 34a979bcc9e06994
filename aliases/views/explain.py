"""Explain this address: how Postfix will treat it, asked of Postfix itself (aliases/explain.py).

Administrators may ask about any address; domain administrators about addresses of their own domains and
of those domains' alias domains (anything else is a 404, before Postfix is asked); others never see the page.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from aliases.explain import Explanation, explain_address
from aliases.selectors import administered_domain_names
from mailadmin import postfix
from mailadmin.actor import Actor
from mailadmin.directory import InvalidName, check_address
from mailadmin.permissions import Level, guard


class ExplainForm(forms.Form):
    address = forms.CharField(label=gettext_lazy("Address"), max_length=300)


@guard(Level.DELEGATED)
@require_GET
def explain(request: HttpRequest) -> HttpResponse:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    admin = actor.roles.administrator
    if not admin and not actor.roles.domains:
        raise Http404("No such page.")
    form = ExplainForm(request.GET or None)
    result: Explanation | None = None
    failure = ""
    if form.is_bound and form.is_valid():
        try:
            address = check_address(form.cleaned_data["address"].strip(), "address")
        except InvalidName as exc:
            form.add_error("address", str(exc))
        else:
            own = None if admin else frozenset(administered_domain_names(actor=actor))
            if own is not None and address.rpartition("@")[2] not in own:
                raise Http404("No such address.")
            try:
                result = explain_address(address, settings.POSTFIX_CONFIG_DIR, within=own)
            except postfix.PostfixError as exc:
                failure = exc.message
    context = {"form": form, "result": result, "failure": failure, "admin": admin}
    return render(request, "aliases/explain.html", context)


urlpatterns = [path("explain/", explain, name="explain_address")]
