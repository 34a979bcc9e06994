"""Tools → Backup & restore: create a set, the catalogue (Download, Restore, Delete), upload a set, and the
retention rules. Administrators and domain administrators (their domains' mail only); everyone else 404.

The upload view puts mailadmin.uploads' handler in place before the body is read (into
BACKUP_DIR/.incoming/<id>/, capped at BACKUP_MAX_UPLOAD), so it is exempt from the CSRF middleware and runs
the CSRF check itself right after; a refused or failed upload leaves nothing behind.
"""

from __future__ import annotations

import shutil
from uuid import uuid4

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from backup import services
from backup.forms import CreateForm, RetentionForm, UploadForm
from backup.models import Backup
from backup.selectors import backup_get, domain_choices, retention_rules, visible_backups
from backup.stackref import NoStack
from mailadmin.actor import Actor
from mailadmin.permissions import Level, guard
from mailadmin.uploads import ImportUploadHandler

UPLOAD_FIELD = "backup"


def _actor(request: HttpRequest) -> Actor:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    if actor.roles.rank < 2:  # administrators and domain administrators only
        raise Http404("No such page.")
    return actor


def backup_or_404(actor: Actor, pk: int) -> Backup:
    """A set of the catalogue this person may see; 404 for anything else (foreign or gone alike)."""
    backup = backup_get(actor, pk)
    if backup is None:
        raise Http404("No such backup.")
    return backup


def _create_form(actor: Actor, data: object = None) -> CreateForm:
    return CreateForm(data, domains=domain_choices(actor), administrator=actor.roles.administrator)


def _page(request: HttpRequest, actor: Actor, form: CreateForm, status: int = 200) -> HttpResponse:
    rules = retention_rules()
    kinds = [(k, label, rules.get(k)) for k, label in Backup.Kind.choices]
    context = {
        "form": form,
        "backups": visible_backups(actor),
        "upload": UploadForm() if actor.roles.administrator else None,
        "kinds": kinds,
        "max_upload_gib": round(int(settings.BACKUP_MAX_UPLOAD) / 1024**3, 1),
        "backup_dir": str(settings.BACKUP_DIR),
    }
    return render(request, "backup/index.html", context, status=status)


@guard(Level.DELEGATED)
@require_http_methods(["GET", "POST"])
def backup_index(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    if request.method != "POST":
        return _page(request, actor, _create_form(actor))
    form = _create_form(actor, request.POST)
    if not form.is_valid():
        return _page(request, actor, form, status=400)
    data = form.cleaned_data
    try:
        job = services.start_backup(
            actor,
            what=data["what"],
            domain=data["domain"],
            users=data["users"],
            compression=data["compression"],
        )
    except (services.Refused, NoStack) as exc:
        form.add_error(None, str(exc))
        return _page(request, actor, form, status=400)
    return redirect("job_detail", job_id=job.pk)


@guard(Level.DELEGATED)
@require_GET
def backup_download(request: HttpRequest, pk: int) -> FileResponse:
    actor = _actor(request)
    backup = backup_or_404(actor, pk)
    from backup.catalogue import file_of

    path = file_of(backup)
    if not path.is_file():
        raise Http404("The file is gone.")
    services.downloaded(actor, backup)
    return FileResponse(path.open("rb"), as_attachment=True, filename=backup.name)


@guard(Level.ADMIN)
@require_POST
def backup_delete(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _actor(request)
    backup = backup_or_404(actor, pk)
    services.delete(actor, backup)
    messages.success(request, _("%(name)s was deleted.") % {"name": backup.name})
    return redirect("backup_index")


@guard(Level.ADMIN)
@require_POST
def backup_retention(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    form = RetentionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Retention: whole numbers, 0 or more."))
        return redirect("backup_index")
    data = form.cleaned_data
    services.set_retention(actor, data["kind"], data["keep_last"], data["keep_days"])
    messages.success(request, _("Retention saved; it applies after the next backup of that kind."))
    return redirect(reverse("backup_index") + "#retention")


@guard(Level.ADMIN)
@require_POST
def backup_adopt(request: HttpRequest) -> HttpResponse:
    job = services.start_adopt(_actor(request))
    return redirect("job_detail", job_id=job.pk)


@guard(Level.ADMIN)
@csrf_exempt  # the CSRF check runs in _upload, after the upload handler is in place
@require_POST
def backup_upload(request: HttpRequest) -> HttpResponse:
    upload_id = uuid4().hex
    directory = services.incoming_dir(upload_id)
    handler = ImportUploadHandler(
        request, directory=directory, slots=[UPLOAD_FIELD], max_bytes=int(settings.BACKUP_MAX_UPLOAD)
    )
    request.upload_handlers = [handler]
    started: list[bool] = []
    try:
        return _upload(request, upload_id, handler, started)
    finally:
        if not started:
            shutil.rmtree(directory, ignore_errors=True)


@csrf_protect
def _upload(
    request: HttpRequest, upload_id: str, handler: ImportUploadHandler, started: list[bool]
) -> HttpResponse:
    actor = _actor(request)
    files = request.FILES  # the body is read (into the upload's directory) here
    if handler.too_big:
        messages.error(
            request,
            _("The file is larger than %(n)s GiB.")
            % {"n": round(int(settings.BACKUP_MAX_UPLOAD) / 1024**3, 1)},
        )
        return redirect("backup_index")
    stored = handler.stored.get(UPLOAD_FIELD)
    if stored is None or UPLOAD_FIELD not in files or not stored.size:
        messages.error(request, _("Choose a backup file."))
        return redirect("backup_index")
    job = services.start_upload_check(actor, upload_id, stored.name or "")
    started.append(True)
    return redirect("job_detail", job_id=job.pk)
