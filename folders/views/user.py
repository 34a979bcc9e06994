"""A user's folders (FLD-05), reached from the user page: tree, counts, sizes, quota use; links to the
permissions of each folder."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from folders.selectors import user_folders
from folders.views.common import owner_param
from mailadmin.imap_names import ImapError, MailboxNotFound, PublicFolder, Quota
from mailadmin.permissions import Level, guard


@guard(Level.ADMIN)
@require_GET
def user_folder_list(request: HttpRequest) -> HttpResponse:
    owner = owner_param(request, "dn")
    if owner is None:
        raise Http404("No such user.")
    rows: list[PublicFolder] = []
    quota: Quota | None = None
    try:
        rows, quota = user_folders(owner=owner)
    except MailboxNotFound:
        messages.info(request, _("%(uid)s has no mailbox.") % {"uid": owner.uid})
    except ImapError as exc:
        messages.error(request, str(exc))
    percent = None
    if quota and quota.limit_kib:
        percent = min(100, round(100 * quota.usage_kib / quota.limit_kib))
    context = {"owner": owner, "rows": rows, "quota": quota, "percent": percent}
    return render(request, "folders/user.html", context)


urlpatterns: list[URLPattern] = [path("user/", user_folder_list, name="folders_user")]
