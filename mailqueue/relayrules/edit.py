"""Create, edit, delete and move relay rules. The form's "Test" button evaluates the unsaved rule in its
place in the list (the tester), without saving anything."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from mailadmin.actor import Actor
from mailadmin.permissions import Level, guard
from mailqueue.relayrules import services
from mailqueue.relayrules.engine import Rule
from mailqueue.relayrules.forms import ACTION_HELP, EVENT_HELP, RuleForm
from mailqueue.relayrules.models import RelayRule


def _with_draft(draft: Rule, replacing: RelayRule | None) -> list[Rule]:
    """The saved list with the draft in its place (the edited rule's position, or at the end)."""
    rules = []
    for row in RelayRule.objects.all():
        rules.append(draft if replacing is not None and row.pk == replacing.pk else row.to_rule())
    if replacing is None:
        rules.append(draft)
    return rules


def _form_page(request: HttpRequest, rule: RelayRule | None) -> HttpResponse:
    from mailqueue.relayrules.views import tester_context

    actor: Actor = request.actor  # type: ignore[attr-defined]
    initial = None
    if rule is not None:
        initial = {"event": rule.event, "pattern": rule.pattern, "action": rule.action, "text": rule.text}
    form = RuleForm(request.POST or None, initial=initial)
    context: dict[str, Any] = {
        "form": form,
        "rule": rule,
        "event_help": EVENT_HELP,
        "action_help": ACTION_HELP,
    }
    testing = request.method == "POST" and "test" in request.POST
    if request.method == "POST" and form.is_valid():
        if testing:
            draft = form.rule(id=rule.pk if rule else 0, position=rule.position if rule else 0)
            context.update(tester_context(_with_draft(draft, rule), request.POST))
            return render(request, "mailqueue/relayrule_form.html", context)
        try:
            if rule is None:
                services.relayrule_create(actor=actor, **form.cleaned_data)
                messages.success(request, _("The rule was added at the end of the list."))
            else:
                services.relayrule_update(actor=actor, rule_id=rule.pk, **form.cleaned_data)
                messages.success(request, _("The rule was saved."))
        except services.RulesUnavailable:
            form.add_error(None, _("The policy service's store (Redis) is unreachable; nothing was saved."))
        else:
            return redirect("relay_rules")
    # a refused rule cannot be tested: show the envelope as typed, without a result
    context.update(tester_context([], request.POST if testing else None, run=False))
    return render(request, "mailqueue/relayrule_form.html", context)


@guard(Level.ADMIN)
@require_http_methods(["GET", "POST"])
def relay_rule_create(request: HttpRequest) -> HttpResponse:
    return _form_page(request, None)


@guard(Level.ADMIN)
@require_http_methods(["GET", "POST"])
def relay_rule_edit(request: HttpRequest, rule_id: int) -> HttpResponse:
    return _form_page(request, get_object_or_404(RelayRule, pk=rule_id))


@guard(Level.ADMIN)
@require_http_methods(["GET", "POST"])
def relay_rule_delete(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = get_object_or_404(RelayRule, pk=rule_id)
    if request.method == "POST":
        actor: Actor = request.actor  # type: ignore[attr-defined]
        try:
            services.relayrule_delete(actor=actor, rule_id=rule.pk)
        except services.RulesUnavailable:
            messages.error(
                request, _("The policy service's store (Redis) is unreachable; nothing was deleted.")
            )
        else:
            messages.success(request, _("The rule was deleted."))
        return redirect("relay_rules")
    return render(request, "mailqueue/relayrule_delete.html", {"rule": rule})


@guard(Level.ADMIN)
@require_POST
def relay_rule_move(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = get_object_or_404(RelayRule, pk=rule_id)
    direction = request.POST.get("direction")
    if direction not in ("up", "down"):
        raise Http404("No such move.")
    actor: Actor = request.actor  # type: ignore[attr-defined]
    try:
        services.relayrule_move(actor=actor, rule_id=rule.pk, direction=direction)  # type: ignore[arg-type]
    except services.RulesUnavailable:
        messages.error(request, _("The policy service's store (Redis) is unreachable; nothing was moved."))
    return redirect("relay_rules")


urlpatterns: list[URLPattern] = [
    path("relay-rules/new/", relay_rule_create, name="relay_rule_create"),
    path("relay-rules/<int:rule_id>/", relay_rule_edit, name="relay_rule_edit"),
    path("relay-rules/<int:rule_id>/delete/", relay_rule_delete, name="relay_rule_delete"),
    path("relay-rules/<int:rule_id>/move/", relay_rule_move, name="relay_rule_move"),
]
