"""SMTP relay rules pages (DLV-04): the ordered list with the tester; edit pages in edit.py.

Administrators only (Level.ADMIN: anyone else gets 404). The tester evaluates with engine.evaluate, the
code the policy service runs.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.views.decorators.http import require_http_methods

from mailadmin.directory import DirectoryError
from mailadmin.permissions import Level, guard
from mailqueue.relayrules import edit
from mailqueue.relayrules.engine import Envelope, Rule
from mailqueue.relayrules.forms import EnvelopeForm
from mailqueue.relayrules.models import RelayRule
from mailqueue.relayrules.tester import Outcome, simulate


def run_tester(form: EnvelopeForm, rules: list[Rule]) -> tuple[Outcome | None, str]:
    """(outcome, error): the envelope evaluated against `rules` (saved or not)."""
    if not form.is_valid():
        return None, ""
    d = form.cleaned_data
    env = Envelope(
        client_address=d["client_address"],
        client_name=d["client_name"],
        sasl_username=d["sasl_username"],
        sender=d["sender"],
        recipient=d["recipient"],
    )
    try:
        return simulate(rules, env, submission=d["port"] == "submission"), ""
    except DirectoryError as exc:
        return None, str(exc)


def tester_context(rules: list[Rule], data: Any | None, *, run: bool = True) -> dict[str, Any]:
    form = EnvelopeForm(data, prefix="t") if data is not None else EnvelopeForm(prefix="t")
    outcome, error = run_tester(form, rules) if data is not None and run else (None, "")
    return {"envelope_form": form, "outcome": outcome, "tester_error": error}


@guard(Level.ADMIN)
@require_http_methods(["GET", "POST"])
def relay_rules(request: HttpRequest) -> HttpResponse:
    """GET: the list. POST: the tester against the saved rules (changes nothing)."""
    rows = list(RelayRule.objects.all())
    context = {"rows": rows, **tester_context([r.to_rule() for r in rows], request.POST or None)}
    if request.method == "POST" and request.htmx:  # type: ignore[attr-defined]
        return render(request, "mailqueue/relayrule_tester.html", context)
    return render(request, "mailqueue/relayrules.html", context)


urlpatterns: list[URLPattern] = [
    path("relay-rules/", relay_rules, name="relay_rules"),
    *edit.urlpatterns,
]
