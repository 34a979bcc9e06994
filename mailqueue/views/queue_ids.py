"""Act on queue IDs someone already has (DLV-02): pasted from a log line, from `mailq`, from a grep.

The shell habit this replaces is `… | postsuper -d -`. The same rules as the page's checkboxes hold: every
token must be a queue id, and every id must be in the queue now and the person's to act on — or, when they
ask for it, the ones that have left are named and left out. Up to 50 run within the request; more run as a
job with a progress bar. Delete asks first.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from mailadmin import postfix
from mailadmin.actor import Actor
from mailadmin.jobs.services import job_start
from mailadmin.permissions import Level, guard
from mailqueue.forms import ACTION_LABELS, QueueIdsForm
from mailqueue.jobs import QUEUE_ACTION
from mailqueue.selectors import actor_scope
from mailqueue.services import MAX_IDS, QueueAction, QueueRefused, check_picked, queue_act
from mailqueue.views.queue import RUN_NOW, say_report


def _actor(request: HttpRequest) -> Actor:
    return request.actor  # type: ignore[attr-defined]


@guard(Level.DELEGATED)
@require_http_methods(["GET", "POST"])
def queue_ids(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    scope = actor_scope(actor)
    if scope == frozenset():
        raise Http404("No such page.")  # a group administrator: no message is theirs to act on
    if request.method != "POST":
        return render(request, "mailqueue/queue_ids.html", {"form": QueueIdsForm()})
    form = QueueIdsForm(request.POST)
    if not form.is_valid():
        return render(request, "mailqueue/queue_ids.html", {"form": form})
    action = QueueAction(form.cleaned_data["action"])
    skip_missing: bool = form.cleaned_data["skip_missing"]
    try:
        picked = check_picked(actor, form.cleaned_data["ids"], limit=MAX_IDS, skip_missing=skip_missing)
    except QueueRefused as exc:
        # Unknown, gone and another domain's ids get the same words: nothing is told about the others.
        form.add_error("ids", str(exc))
        return render(request, "mailqueue/queue_ids.html", {"form": form})
    except postfix.PostfixError as exc:
        form.add_error(None, str(exc))
        return render(request, "mailqueue/queue_ids.html", {"form": form})
    if action is QueueAction.DELETE and request.POST.get("confirm") != "yes":
        return render(
            request,
            "mailqueue/queue_confirm.html",
            {
                "count": len(picked.ids),
                "every": False,
                "ids": picked.ids,
                "skipped": picked.skipped,
                "post": [(name, request.POST.get(name, "")) for name in ("action", "ids", "skip_missing")],
                "action_url": reverse("queue_ids"),
                "back": reverse("queue_ids"),
            },
        )
    label = ACTION_LABELS[action.value]
    if picked.skipped:
        messages.warning(
            request,
            _("Left out, not in the queue: %(ids)s") % {"ids": ", ".join(picked.skipped[:10])}
            + (" …" if len(picked.skipped) > 10 else ""),
        )
    if len(picked.ids) > RUN_NOW:
        params: dict[str, Any] = {"action": action.value, "ids": picked.ids, "skip_missing": skip_missing}
        job = job_start(actor=actor, kind=QUEUE_ACTION, params=params, domains=sorted(scope or ()))
        messages.success(request, _("Started: %(action)s.") % {"action": label})
        return redirect("job_detail", job_id=job.pk)
    try:
        report = queue_act(actor=actor, action=action, ids=picked.ids, skip_missing=skip_missing)
    except QueueRefused as exc:  # left the queue since the check above
        form.add_error("ids", str(exc))
        return render(request, "mailqueue/queue_ids.html", {"form": form})
    except postfix.PostfixError as exc:
        form.add_error(None, str(exc))
        return render(request, "mailqueue/queue_ids.html", {"form": form})
    say_report(request, report)
    return redirect("queue_list")


urlpatterns: list[URLPattern] = [
    path("ids/", queue_ids, name="queue_ids"),
]
