"""Pages of the mail archive import: Tools -> Import mail archive (administrators, for a user in their
scope; also linked from the user page) and Import my mail archive (self-service, TLS-05).

The upload is read only after the target is known and allowed (the `?dn=` of the page, or the person
themselves), straight into the import's directory with a size cap (uploads.py). These views are therefore
csrf_exempt at the door and check the token in `_receive`, once the upload handler is in place.
"""

from __future__ import annotations

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from mailadmin.actor import Actor
from mailadmin.jobs.services import job_cancel
from mailadmin.permissions import Level, guard
from migration.archives.safety import detect_kind
from migration.archives.selectors import (
    Target,
    active_import,
    has_mailbox,
    import_target,
    import_target_by_login,
    own_import,
    own_imports,
)
from migration.archives.services import (
    UPLOAD,
    ImportBusy,
    import_dir_create,
    import_dir_remove,
    import_dirs_sweep,
    mail_import_start,
    upload_cap,
)
from migration.archives.uploads import FIELD, CappedArchiveUpload


class PickForm(forms.Form):
    uid = forms.CharField(label=gettext_lazy("Login/User name"), max_length=64)


class ImportForm(forms.Form):
    into = forms.CharField(
        label=gettext_lazy("Into folder"),
        max_length=200,
        required=False,
        help_text=gettext_lazy(
            "Empty: the archive's folders become folders of the mailbox (a single mbox goes into the INBOX). "
            "A name such as Archive/2019: everything goes below that folder."
        ),
    )


def _mib(n: int) -> str:
    return f"{n / 1024 / 1024:.0f} MiB"


def _context(target: Target, form: ImportForm, error: str = "") -> dict[str, object]:
    busy = active_import(uid=target.uid)
    return {"target": target, "form": form, "error": error, "cap": _mib(upload_cap(target)), "busy": busy}


@csrf_protect
def _checked(request: HttpRequest, target: Target, token: str, handler: CappedArchiveUpload) -> HttpResponse:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    form = ImportForm(request.POST)
    upload = request.FILES.get(FIELD)
    error = ""
    if handler.too_large:
        error = _("The archive is larger than %(cap)s.") % {"cap": _mib(handler.cap)}
    elif upload is None or not upload.size:
        error = _("Choose an archive file.")
    elif not form.is_valid():
        error = _("Check the folder name.")
    else:
        kind = detect_kind(handler.target)
        if kind is None:
            error = _("This is not a file the import reads: mbox, zip, tar (.gz, .bz2, .xz) or Outlook PST.")
        else:
            try:
                job = mail_import_start(
                    actor=actor,
                    target=target,
                    token=token,
                    kind=kind,
                    filename=str(upload.name or "archive"),
                    size=int(upload.size or 0),
                    into=form.cleaned_data.get("into") or "",
                )
            except ImportBusy as exc:
                error = str(exc)
            else:
                if target.own:
                    return redirect("my_mail_import_status", job_id=job.pk)
                return redirect("job_detail", job_id=job.pk)
    template = "migration/archives/mine.html" if target.own else "migration/archives/import.html"
    context = _context(target, form, error)
    if target.own:
        context["imports"] = own_imports(actor=actor)
    return render(request, template, context, status=400)


def _receive(request: HttpRequest, target: Target) -> HttpResponse:
    """Take the upload (a POST) for `target`: refused before the body is read while an import runs."""
    if active_import(uid=target.uid) is not None:
        error = _("An import into this mailbox is already waiting or running. Wait until it has finished.")
        template = "migration/archives/mine.html" if target.own else "migration/archives/import.html"
        return render(request, template, _context(target, ImportForm(), error), status=409)
    import_dirs_sweep()
    token, work = import_dir_create()
    handler = CappedArchiveUpload(request, work / UPLOAD, upload_cap(target))
    request.upload_handlers = [handler]
    started = False
    try:
        response = _checked(request, target, token, handler)
        started = response.status_code == 302
        return response
    finally:
        if not started:
            import_dir_remove(token)


@guard(Level.DELEGATED)
@csrf_exempt  # checked in _receive once the upload handler is set (see the module's docstring)
@require_http_methods(["GET", "POST"])
def mail_import(request: HttpRequest) -> HttpResponse:
    """Import mail archive: pick a user (login name), then upload their archive (`?dn=`)."""
    actor: Actor = request.actor  # type: ignore[attr-defined]
    dn = request.GET.get("dn", "")
    if not dn:
        if request.method == "POST":
            raise Http404("No such user.")
        pick = PickForm(request.GET or None)
        if pick.is_valid():
            found = import_target_by_login(actor=actor, uid=pick.cleaned_data["uid"])
            if found is not None:
                return redirect(reverse("mail_import") + "?" + urlencode({"dn": found.dn}))
            pick.add_error("uid", _("There is no user with this login name whose mailbox you may fill."))
        return render(request, "migration/archives/pick.html", {"form": pick})
    target = import_target(actor=actor, dn=dn)
    if target is None:
        raise Http404("No such user.")
    if not has_mailbox(uid=target.uid):
        if request.method == "POST":
            raise Http404("No mailbox.")
        return render(request, "migration/archives/import.html", {"target": target, "no_mailbox": True})
    if request.method == "POST":
        return _receive(request, target)
    return render(request, "migration/archives/import.html", _context(target, ImportForm()))


@guard(Level.USER)
@csrf_exempt  # checked in _receive once the upload handler is set (see the module's docstring)
@require_http_methods(["GET", "POST"])
def my_mail_import(request: HttpRequest) -> HttpResponse:
    """Import my mail archive (TLS-05): into the person's own mailbox, one import at a time."""
    actor: Actor = request.actor  # type: ignore[attr-defined]
    target = import_target(actor=actor, dn=actor.dn)
    if target is not None and not has_mailbox(uid=target.uid):
        target = None
    if target is None:
        if request.method == "POST":
            raise Http404("No mailbox.")
        return render(request, "migration/archives/mine.html", {"target": None})
    if request.method == "POST":
        return _receive(request, target)
    context = _context(target, ImportForm())
    context["imports"] = own_imports(actor=actor)
    return render(request, "migration/archives/mine.html", context)


@guard(Level.USER)
@require_GET
def my_mail_import_status(request: HttpRequest, job_id: str) -> HttpResponse:
    job = own_import(actor=request.actor, job_id=str(job_id))  # type: ignore[attr-defined]
    if job is None:
        raise Http404("No such import.")
    context = {"job": job, "lines": list(job.lines.all()[:2000])}
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "migration/archives/status.html#progress", context)
    return render(request, "migration/archives/status.html", context)


@guard(Level.USER)
@require_POST
def my_mail_import_cancel(request: HttpRequest, job_id: str) -> HttpResponse:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    job = own_import(actor=actor, job_id=str(job_id))
    if job is None:
        raise Http404("No such import.")
    job_cancel(actor=actor, job=job)
    return redirect("my_mail_import_status", job_id=job.pk)
