"""Tools -> Cyrus recovery (TLS-08): the manual's warning and the form that starts the job; the job's own
page with its progress, its log and, when it has finished, every folder with its outcome."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from backup.recovery.forms import RecoveryForm
from backup.recovery.selectors import Unavailable, active_recovery, recovery_job, unavailable_reason
from backup.recovery.services import RecoveryRefused, recovery_start
from mailadmin.permissions import Level, guard

LOG_LINES = 500


@guard(Level.ADMIN)
@require_http_methods(["GET", "POST"])
def recovery(request: HttpRequest) -> HttpResponse:
    reason = unavailable_reason()
    form = RecoveryForm(request.POST if request.method == "POST" else None)
    context = {"form": form, "reason": reason, "active": active_recovery(), "error": ""}
    if request.method == "GET":
        return render(request, "backup/recovery/start.html", context)
    if reason:
        return render(request, "backup/recovery/start.html", context, status=503)
    if not form.is_valid():
        return render(request, "backup/recovery/start.html", context, status=400)
    try:
        job = recovery_start(actor=request.actor, logins=form.cleaned_data["logins"])  # type: ignore[attr-defined]
    except (RecoveryRefused, Unavailable) as exc:
        context["error"] = str(exc)
        return render(request, "backup/recovery/start.html", context, status=400)
    return redirect("cyrus_recovery_result", job_id=job.pk)


@guard(Level.ADMIN)
@require_GET
def recovery_result(request: HttpRequest, job_id: str) -> HttpResponse:
    job = recovery_job(str(job_id))
    if job is None:
        raise Http404("No such recovery.")
    lines = list(job.lines.all()[:LOG_LINES])
    result = job.result if isinstance(job.result, dict) else {}
    context = {"job": job, "lines": lines, "result": result, "mailboxes": result.get("mailboxes") or []}
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "backup/recovery/result.html#status", context)
    return render(request, "backup/recovery/result.html", context)
