"""One import: its report (refused entries first), Confirm / Discard while it waits, the progress bar and
Cancel while it runs, and the CSV report. A run the person may not see is a 404 (migration/selectors.py)."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from mailadmin.actor import Actor
from mailadmin.directory import InvalidName
from mailadmin.permissions import Level, guard
from migration.models import ImportRun
from migration.parsers import PARSERS
from migration.pipeline import import_cancel, import_confirm, import_discard, import_settle
from migration.report import report_lines
from migration.selectors import report_rows, run_for

ROWS_PER_PAGE = 100
IN_PROGRESS = (ImportRun.Status.CHECKING, ImportRun.Status.RUNNING)


def _run_or_404(request: HttpRequest, run_id: str) -> ImportRun:
    run = run_for(request.actor, run_id)  # type: ignore[attr-defined]
    if run is None:
        raise Http404("No such import.")
    return run


@guard(Level.DELEGATED)
@require_GET
def import_run(request: HttpRequest, run_id: str) -> HttpResponse:
    run = import_settle(_run_or_404(request, run_id))
    job = run.create_job if run.create_job_id else run.check_job
    if request.htmx:  # type: ignore[attr-defined]
        if request.GET.get("poll") != run.status:
            # The run moved on (checked, finished): the whole page changes, not just the bar.
            response = HttpResponse(status=204)
            response["HX-Refresh"] = "true"
            return response
        return render(request, "migration/run.html#progress", {"run": run, "job": job})
    page = Paginator(report_rows(run), ROWS_PER_PAGE).get_page(request.GET.get("page"))
    parser = PARSERS.get(run.kind)
    context = {
        "run": run,
        "job": job,
        "page": page,
        "in_progress": run.status in IN_PROGRESS,
        "kind_label": parser.label if parser is not None else run.kind,
    }
    return render(request, "migration/run.html", context)


@guard(Level.DELEGATED)
@require_POST
def import_confirm_view(request: HttpRequest, run_id: str) -> HttpResponse:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    run = _run_or_404(request, run_id)
    try:
        import_confirm(actor=actor, run=run)
    except InvalidName as exc:
        messages.error(request, str(exc))
    return redirect("import_run", run_id=run.pk)


@guard(Level.DELEGATED)
@require_POST
def import_discard_view(request: HttpRequest, run_id: str) -> HttpResponse:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    run = _run_or_404(request, run_id)
    try:
        import_discard(actor=actor, run=run)
    except InvalidName as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("The import was discarded; its file is deleted. Nothing was created."))
    return redirect("import_run", run_id=run.pk)


@guard(Level.DELEGATED)
@require_POST
def import_cancel_view(request: HttpRequest, run_id: str) -> HttpResponse:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    run = _run_or_404(request, run_id)
    try:
        import_cancel(actor=actor, run=run)
    except InvalidName as exc:
        messages.error(request, str(exc))
    return redirect("import_run", run_id=run.pk)


@guard(Level.DELEGATED)
@require_GET
def import_report(request: HttpRequest, run_id: str) -> HttpResponse:
    run = _run_or_404(request, run_id)
    response = StreamingHttpResponse(report_lines(run), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{run.pk}.csv"'
    response["X-Content-Type-Options"] = "nosniff"
    return response  # type: ignore[return-value]  # streamed: a 10,000-row report is never built whole
