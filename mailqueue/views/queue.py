"""The mail queue: list, detail, actions (DLV-01, DLV-02).

The list is one streamed pass over `postqueue -j` per page (mailqueue.selectors). Actions on a few picked
messages run at once and the page says what Postfix reported ("547A816C placed on hold"); many picked
messages, or "everything matching this filter", run as a job with a progress bar. Ids a person may not see
(another domain's, or none at all) are answered with 404, and nothing runs.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from mailadmin import postfix
from mailadmin.actor import Actor
from mailadmin.jobs.services import job_start
from mailadmin.permissions import Level, guard
from mailqueue.detail import message_detail
from mailqueue.forms import ACTION_LABELS, QUEUE_LABELS, QueueActionForm, QueueFilterForm
from mailqueue.jobs import QUEUE_ACTION
from mailqueue.selectors import QueueFilter, actor_scope, iter_queue, queue_find, queue_page
from mailqueue.services import ActionReport, QueueAction, QueueRefused, check_picked, queue_act

RUN_NOW = 50  # picked messages acted on within the request; more go to a job
FILTER_FIELDS = ("queue", "sender", "recipient", "domain", "older_than", "reason")


def _actor(request: HttpRequest) -> Actor:
    return request.actor  # type: ignore[attr-defined]


def _page_number(raw: str) -> int:
    return int(raw) if raw.isdigit() and 0 < len(raw) < 7 and int(raw) > 0 else 1


def _list_url(params: dict[str, str], page: int = 1) -> str:
    query = {**params, **({"page": str(page)} if page > 1 else {})}
    return reverse("queue_list") + (f"?{urlencode(query)}" if query else "")


def _filter_from(data: Any) -> tuple[QueueFilterForm, QueueFilter | None]:
    form = QueueFilterForm({name: data.get(name, "") for name in FILTER_FIELDS})
    return form, form.to_filter() if form.is_valid() else None


@guard(Level.DELEGATED)
@require_GET
def queue_list(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    form, flt = _filter_from(request.GET)
    page_no = _page_number(request.GET.get("page", "1"))
    context: dict[str, Any] = {
        "form": form,
        "actions": ACTION_LABELS,
        "queue_labels": QUEUE_LABELS,
        "sees_nothing": actor_scope(actor) == frozenset(),
    }
    if flt is not None:
        try:
            page = queue_page(actor, flt, page_no)
        except postfix.PostfixError as exc:
            context["error"] = str(exc)
        else:
            params = flt.to_params()
            context.update(
                page=page,
                params=params,
                filtered=not flt.empty,
                here=_list_url(params, page.page),
                prev_url=_list_url(params, page.page - 1) if page.page > 1 else "",
                next_url=_list_url(params, page.page + 1) if page.has_next else "",
            )
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "mailqueue/queue.html#results", context)
    return render(request, "mailqueue/queue.html", context)


@guard(Level.DELEGATED)
@require_GET
def queue_detail(request: HttpRequest, queue_id: str) -> HttpResponse:
    actor = _actor(request)
    if not postfix.valid_queue_id(queue_id):
        raise Http404("No such message.")
    msg = queue_find(actor, {queue_id}).get(queue_id)
    if msg is None:
        raise Http404("No such message.")
    try:
        detail = message_detail(msg, scope=actor_scope(actor))
    except postfix.PostfixError:
        raise Http404("No such message.") from None  # it left the queue between the two reads
    return render(
        request,
        "mailqueue/queue_detail.html",
        {"msg": msg, "detail": detail, "actions": ACTION_LABELS, "queue_labels": QUEUE_LABELS},
    )


def _job_domains(actor: Actor, flt: QueueFilter | None) -> list[str]:
    scope = actor_scope(actor)
    if scope is not None:
        return sorted(scope)  # a domain administrator's job is filed under their domains
    return [flt.domain] if flt is not None and flt.domain else []


@guard(Level.DELEGATED)
@require_POST
def queue_action(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    if actor_scope(actor) == frozenset():
        raise Http404("No such page.")  # a group administrator: no message is theirs to act on
    form, flt = _filter_from(request.POST)
    if flt is None:
        messages.error(request, _("The filter is not valid."))
        return redirect("queue_list")
    back = _list_url(flt.to_params(), _page_number(request.POST.get("page", "1")))
    action_form = QueueActionForm(request.POST)
    if not action_form.is_valid():
        messages.error(request, _("Choose an action."))
        return redirect(back)
    action = QueueAction(action_form.cleaned_data["action"])
    every = action_form.cleaned_data["apply_to"] == "all"
    ids = [i for i in request.POST.getlist("id") if i]
    label = ACTION_LABELS[action.value]
    if every:
        count = None
    else:
        try:
            picked = check_picked(actor, ids)
        except QueueRefused as exc:
            if not ids:
                messages.error(request, str(exc))
                return redirect(back)
            # Malformed, gone, or another domain's: the same answer, and nothing ran.
            raise Http404(str(exc)) from None
        count = len(picked.ids)
    if action is QueueAction.DELETE and request.POST.get("confirm") != "yes":
        if every:
            count = sum(1 for m in iter_queue(actor, flt) if m.actionable)
        return render(
            request,
            "mailqueue/queue_confirm.html",
            {
                "count": count,
                "every": every,
                "filter": flt.to_params(),
                "ids": ids,
                "post": _hidden_fields(request),
                "action_url": reverse("queue_action"),
                "back": back,
            },
        )
    if every or (count or 0) > RUN_NOW:
        params: dict[str, Any] = {"action": action.value}
        if every:
            params["filter"] = flt.to_params()
        else:
            params["ids"] = list(dict.fromkeys(ids))
        job = job_start(actor=actor, kind=QUEUE_ACTION, params=params, domains=_job_domains(actor, flt))
        messages.success(request, _("Started: %(action)s.") % {"action": label})
        return redirect("job_detail", job_id=job.pk)
    try:
        report = queue_act(actor=actor, action=action, ids=ids)
    except QueueRefused:
        raise Http404("No such message.") from None  # left the queue since the check above
    except postfix.PostfixError as exc:
        messages.error(request, str(exc))
        return redirect(back)
    say_report(request, report)
    return redirect(back)


def say_report(request: HttpRequest, report: ActionReport) -> None:
    """What Postfix reported, as the page's messages: a line per message, then what did not change."""
    for line in report.lines():
        messages.success(request, line)
    for qid in report.not_changed[:20]:
        messages.warning(request, _("%(id)s was not changed (already in that state?)") % {"id": qid})
    for warning in report.warnings[:5]:
        messages.warning(request, warning)


def _hidden_fields(request: HttpRequest) -> list[tuple[str, str]]:
    """Everything the first POST carried, to send again with the confirmation."""
    keep = (*FILTER_FIELDS, "action", "apply_to", "id", "page")
    return [(name, value) for name in keep for value in request.POST.getlist(name)]


urlpatterns: list[URLPattern] = [
    path("", queue_list, name="queue_list"),
    path("action/", queue_action, name="queue_action"),
    path("message/<str:queue_id>/", queue_detail, name="queue_detail"),
]
