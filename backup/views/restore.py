"""Restore one set of the catalogue: what it holds, the warning for its kind, the choice of users (mail)
and of where the mail goes, then a job. Refused people and foreign sets: 404."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from backup import services
from backup.forms import RestoreForm
from backup.selectors import restorable_users
from backup.views.catalogue import _actor, backup_or_404
from mailadmin.permissions import Level, guard


@guard(Level.DELEGATED)
@require_http_methods(["GET", "POST"])
def backup_restore(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _actor(request)
    backup = backup_or_404(actor, pk)
    if backup.kind != backup.Kind.MAIL and not actor.roles.administrator:
        raise Http404("No such backup.")
    users = restorable_users(actor, backup)
    form = RestoreForm(request.POST or None, backup=backup, users=users)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                job = services.start_restore(
                    actor, backup, users=list(data.get("users") or []), mode=data.get("mode") or "folder"
                )
            except services.Refused as exc:
                form.add_error(None, str(exc))
            else:
                return redirect("job_detail", job_id=job.pk)
        status = 400
    context = {"backup": backup, "form": form, "users": users}
    return render(request, "backup/restore.html", context, status=status)
