"""Tools → Scheduled tasks (TLS-07): list, create, change, delete, enable/disable, Run now. Administrators
only; everybody else gets a 404 from `guard` on every view, GET or POST."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from backup.schedules.forms import CRON_NAMES, ScheduleForm, filled_in, initial_values
from backup.schedules.kinds import Task, form_values
from backup.schedules.records import Record
from backup.schedules.selectors import schedule_get, schedule_rows
from backup.schedules.services import (
    ScheduleError,
    ScheduleNotFound,
    schedule_create,
    schedule_delete,
    schedule_run_now,
    schedule_set_enabled,
    schedule_update,
)
from mailadmin.actor import Actor
from mailadmin.permissions import Level, guard


def _get(pk: int) -> Record:
    record = schedule_get(pk)
    if record is None:
        raise Http404("No such scheduled task.")
    return record


@guard(Level.ADMIN)
@require_GET
def schedule_list(request: HttpRequest) -> HttpResponse:
    context = {"rows": schedule_rows(), "zone": timezone.get_current_timezone_name()}
    return render(request, "backup/schedules/list.html", context)


def _form_page(request: HttpRequest, form: ScheduleForm, record: Record | None) -> HttpResponse:
    return render(
        request,
        "backup/schedules/form.html",
        {
            "form": form,
            "cron_fields": [form[name] for name in CRON_NAMES],
            "record": record,
            "title": _("Change scheduled task") if record else _("Create scheduled task"),
            "submit": _("Save") if record else _("Create scheduled task"),
        },
    )


def _edit(request: HttpRequest, record: Record | None) -> HttpResponse:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    if request.method == "POST" and "fill" in request.POST:
        return _form_page(request, ScheduleForm(initial=filled_in(request.POST)), record)
    if request.method != "POST":
        if record is None:
            initial = initial_values()
        else:
            task = Task(record.type, record.kind, record.params)
            initial = {**initial_values(), **form_values(task), **record.crontab.as_dict()}
            initial.update(label=record.label, enabled=record.enabled)
        return _form_page(request, ScheduleForm(initial=initial), record)
    form = ScheduleForm(request.POST)
    if form.is_valid() and form.spec is not None:
        try:
            if record is None:
                saved = schedule_create(actor=actor, spec=form.spec)
            else:
                saved = schedule_update(actor=actor, schedule_id=record.pk, spec=form.spec)
        except ScheduleNotFound as exc:
            raise Http404("No such scheduled task.") from exc
        except ScheduleError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, _("Scheduled task “%(name)s” saved.") % {"name": saved.label})
            return redirect("schedule_list")
    return _form_page(request, form, record)


@guard(Level.ADMIN)
@require_http_methods(["GET", "POST"])
def schedule_create_view(request: HttpRequest) -> HttpResponse:
    return _edit(request, None)


@guard(Level.ADMIN)
@require_http_methods(["GET", "POST"])
def schedule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _edit(request, _get(pk))


@guard(Level.ADMIN)
@require_http_methods(["GET", "POST"])
def schedule_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    record = _get(pk)
    if request.method == "POST":
        try:
            schedule_delete(actor=request.actor, schedule_id=record.pk)  # type: ignore[attr-defined]
        except ScheduleNotFound as exc:
            raise Http404("No such scheduled task.") from exc
        messages.success(request, _("Scheduled task “%(name)s” deleted.") % {"name": record.label})
        return redirect("schedule_list")
    return render(request, "backup/schedules/delete.html", {"record": record})


@guard(Level.ADMIN)
@require_POST
def schedule_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    record = _get(pk)
    enabled = request.POST.get("enabled") == "1"
    try:
        schedule_set_enabled(actor=request.actor, schedule_id=record.pk, enabled=enabled)  # type: ignore[attr-defined]
    except ScheduleNotFound as exc:
        raise Http404("No such scheduled task.") from exc
    text = _("“%(name)s” enabled.") if enabled else _("“%(name)s” disabled.")
    messages.success(request, text % {"name": record.label})
    return redirect("schedule_list")


@guard(Level.ADMIN)
@require_POST
def schedule_run(request: HttpRequest, pk: int) -> HttpResponse:
    record = _get(pk)
    try:
        job = schedule_run_now(actor=request.actor, schedule_id=record.pk)  # type: ignore[attr-defined]
    except ScheduleNotFound as exc:
        raise Http404("No such scheduled task.") from exc
    except ScheduleError as exc:
        messages.error(request, exc.message)
        return redirect("schedule_list")
    return redirect("job_detail", job_id=job.pk)
