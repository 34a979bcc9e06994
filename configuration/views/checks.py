"""Configuration -> UCE controls -> header and body checks (CFG-02): each table's rules, a rule form, move,
delete and "Test this line". Every change ends on a confirmation page with the diff of the table file
(the change flow's own), and is applied by the flow's apply view. Administrators only (404 for anyone
else, as for the rest of the menu)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from configuration import checks, services
from mailadmin.configfiles.postfix.checks import ACTIONS, MAX_PATTERN, MAX_TEXT, TABLES, Table
from mailadmin.configfiles.registry.postfix_checks import ACTION_HELP, HELP, TITLES
from mailadmin.permissions import Level, guard


class RuleForm(forms.Form):
    pattern = forms.CharField(
        label=_("Pattern (PCRE)"), max_length=MAX_PATTERN, strip=False, widget=forms.TextInput
    )
    action = forms.ChoiceField(label=_("Action"), choices=[(a, a) for a in ACTIONS])
    text = forms.CharField(label=_("Text"), max_length=MAX_TEXT, required=False, strip=False)
    case_sensitive = forms.BooleanField(label=_("Match case"), required=False)


def _table(key: str) -> Table:
    table = checks.table_of(key)
    if table is None:
        raise Http404("No such table.")
    return table


def _unavailable(request: HttpRequest, exc: Exception) -> HttpResponse:
    return render(request, "configuration/unavailable.html", {"reason": str(exc)}, status=503)


def _context(table: Table, **extra: Any) -> dict[str, Any]:
    return {
        "table": table,
        "title": TITLES[table.main_cf],
        "help": HELP[table.main_cf],
        "tables": [(t, TITLES[t.main_cf]) for t in TABLES],
        **extra,
    }


def _confirm(request: HttpRequest, table: Table, pending: services.Pending, **extra: Any) -> HttpResponse:
    return render(
        request,
        "configuration/checks_confirm.html",
        _context(table, pending=pending, proposal=pending.proposal, **extra),
    )


def _refused(request: HttpRequest, table: Table, exc: Exception, template: str, **extra: Any) -> HttpResponse:
    """The page again with why nothing was written: a rule the console refuses, or PCRE's own words."""
    problem = "; ".join(exc.errors.values()) if isinstance(exc, services.ChangeRefused) else str(exc)
    try:
        rules = checks.checks_rules(table)
    except services.Unavailable:
        rules = []
    return render(request, template, _context(table, rules=rules, problem=problem, **extra), status=400)


@guard(Level.ADMIN)
@require_GET
def checks_index(request: HttpRequest) -> HttpResponse:
    try:
        counts = checks.checks_counts()
    except services.Unavailable as exc:
        return _unavailable(request, exc)
    rows = [(t, TITLES[t.main_cf], HELP[t.main_cf], counts.get(t.key, 0)) for t in TABLES]
    return render(request, "configuration/checks_index.html", {"rows": rows})


@guard(Level.ADMIN)
@require_GET
def checks_table(request: HttpRequest, table: str) -> HttpResponse:
    t = _table(table)
    try:
        rules = checks.checks_rules(t)
    except services.Unavailable as exc:
        return _unavailable(request, exc)
    return render(request, "configuration/checks_table.html", _context(t, rules=rules))


def _rule_page(request: HttpRequest, t: Table, number: int | None) -> HttpResponse:
    """The add (number None) or edit form; POST proposes the table with the rule and shows the diff."""
    try:
        rules = checks.checks_rules(t)
    except services.Unavailable as exc:
        return _unavailable(request, exc)
    if number is not None and not 1 <= number <= len(rules):
        raise Http404("No such rule.")
    initial = rules[number - 1].as_dict() if number is not None else {"action": "REJECT"}
    form = RuleForm(request.POST if request.method == "POST" else None, initial=initial)
    context = _context(t, form=form, number=number, action_help=ACTION_HELP)
    if request.method != "POST":
        return render(request, "configuration/checks_rule.html", context)
    if not form.is_valid():
        return render(request, "configuration/checks_rule.html", context, status=400)
    data = form.cleaned_data
    try:
        rule = checks.rule_checked(
            t,
            pattern=data["pattern"],
            action=data["action"],
            text=data["text"],
            case_sensitive=data["case_sensitive"],
        )
        if number is None:
            pending = checks.checks_rule_add(t, rule)
        else:
            pending = checks.checks_rule_edit(t, number, rule)
    except services.Unavailable as exc:
        return _unavailable(request, exc)
    except (checks.RuleRefused, services.ChangeRefused, services.DaemonRefused) as exc:
        return _refused(request, t, exc, "configuration/checks_rule.html", form=form, number=number)
    return _confirm(request, t, pending)


@guard(Level.ADMIN)
@require_http_methods(["GET", "POST"])
def checks_rule_add(request: HttpRequest, table: str) -> HttpResponse:
    return _rule_page(request, _table(table), None)


@guard(Level.ADMIN)
@require_http_methods(["GET", "POST"])
def checks_rule_edit(request: HttpRequest, table: str, number: int) -> HttpResponse:
    return _rule_page(request, _table(table), number)


def _table_change(request: HttpRequest, t: Table, change: Callable[[], services.Pending]) -> HttpResponse:
    """A move or delete from the table page: its confirmation, or the table page again saying why not."""
    try:
        pending = change()
    except checks.NoSuchRule as exc:
        raise Http404(str(exc)) from exc
    except services.Unavailable as exc:
        return _unavailable(request, exc)
    except (checks.RuleRefused, services.ChangeRefused, services.DaemonRefused) as exc:
        return _refused(request, t, exc, "configuration/checks_table.html")
    return _confirm(request, t, pending)


@guard(Level.ADMIN)
@require_POST
def checks_rule_move(request: HttpRequest, table: str, number: int) -> HttpResponse:
    t = _table(table)
    direction = str(request.POST.get("direction", ""))
    return _table_change(request, t, lambda: checks.checks_rule_move(t, number, direction))


@guard(Level.ADMIN)
@require_POST
def checks_rule_delete(request: HttpRequest, table: str, number: int) -> HttpResponse:
    t = _table(table)
    return _table_change(request, t, lambda: checks.checks_rule_delete(t, number))


@guard(Level.ADMIN)
@require_POST
def checks_test_line(request: HttpRequest, table: str) -> HttpResponse:
    """ "Test this line" against the stored table, or against the proposal `token` (then the confirmation
    page comes back with the answer, so it can be applied from there)."""
    t = _table(table)
    line = str(request.POST.get("line", ""))
    token = str(request.POST.get("token", ""))
    try:
        pending = services.load_pending(checks.SERVICE, token) if token else None
        result = checks.checks_line_test(t, line, token=token if pending else "")
    except services.Unavailable as exc:
        return _unavailable(request, exc)
    except (services.StaleProposal, services.ChangeRefused, services.DaemonRefused) as exc:
        return _refused(request, t, exc, "configuration/checks_table.html", line=line)
    except checks.RuleRefused as exc:
        return _refused(request, t, exc, "configuration/checks_table.html", line=line)
    if pending is not None:
        return _confirm(request, t, pending, result=result, line=line)
    return render(
        request,
        "configuration/checks_table.html",
        _context(t, rules=checks.checks_rules(t), result=result, line=line),
    )


urlpatterns: list[URLPattern] = [
    path("uce/checks/", checks_index, name="uce_checks"),
    path("uce/checks/<slug:table>/", checks_table, name="uce_checks_table"),
    path("uce/checks/<slug:table>/add/", checks_rule_add, name="uce_checks_add"),
    path("uce/checks/<slug:table>/test/", checks_test_line, name="uce_checks_test"),
    path("uce/checks/<slug:table>/<int:number>/edit/", checks_rule_edit, name="uce_checks_edit"),
    path("uce/checks/<slug:table>/<int:number>/move/", checks_rule_move, name="uce_checks_move"),
    path("uce/checks/<slug:table>/<int:number>/delete/", checks_rule_delete, name="uce_checks_delete"),
]
