"""Job list, job page with live progress, cancel (mailadmin/jobs/selectors.py says whose); and starting
"Check the mail system"."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from mailadmin.actor import Actor
from mailadmin.jobs.models import Job
from mailadmin.jobs.selectors import job_for, visible_jobs
from mailadmin.jobs.services import job_cancel, job_start
from mailadmin.permissions import Level, guard


def _get_job(actor: Actor, job_id: str) -> Job:
    job = job_for(actor, job_id)
    if job is None:
        raise Http404("No such job.")
    return job


@guard(Level.DELEGATED)
@require_GET
def job_list(request: HttpRequest) -> HttpResponse:
    jobs = visible_jobs(request.actor)  # type: ignore[attr-defined]
    return render(request, "jobs/list.html", {"jobs": jobs})


@guard(Level.DELEGATED)
@require_GET
def job_detail(request: HttpRequest, job_id: str) -> HttpResponse:
    job = _get_job(request.actor, job_id)  # type: ignore[attr-defined]
    lines = list(job.lines.all()[:2000])
    context = {"job": job, "lines": lines}
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "jobs/detail.html#progress", context)
    return render(request, "jobs/detail.html", context)


@guard(Level.DELEGATED)
@require_POST
def job_cancel_view(request: HttpRequest, job_id: str) -> HttpResponse:
    job = _get_job(request.actor, job_id)  # type: ignore[attr-defined]
    job_cancel(actor=request.actor, job=job)  # type: ignore[attr-defined]
    return redirect("job_detail", job_id=job.pk)


@guard(Level.ADMIN)
@require_http_methods(["GET", "POST"])
def checkstack(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        job = job_start(actor=request.actor, kind="checkstack")  # type: ignore[attr-defined]
        return redirect("job_detail", job_id=job.pk)
    return render(request, "jobs/checkstack.html")
