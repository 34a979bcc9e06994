"""Permissions of a public folder or of a user's folder (FLD-04): the ACL in words; add, change, remove.

Groups are containers of the directory (domain, organization, group); Cyrus resolves who is inside by itself
(docs/decisions/0007-cyrus-groups.md), so a new member has the group's rights without any ACL being written.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from folders.forms import PermissionForm, add_service_error
from folders.selectors import folder_acl_rows, folder_info, group_identifier
from folders.services import Owner, folder_acl_remove, folder_acl_set, folder_domain
from folders.views.common import actor_of, owner_param, public_folder_param, user_folder_param
from mailadmin.directory import InvalidName
from mailadmin.imap_names import ImapError, check_acl_identifier
from mailadmin.permissions import Level, guard


def permissions_url(folder: str, owner: Owner | None) -> str:
    query = {"folder": folder, **({"user": owner.dn} if owner else {})}
    return f"{reverse('folders_permissions')}?{urlencode(query)}"


def _remove(request: HttpRequest, folder: str, owner: Owner | None) -> None:
    who = request.POST.get("remove", "")
    try:
        checked = check_acl_identifier(who, allow_dn_group=True)  # a deleted group's entry can go too
        folder_acl_remove(actor=actor_of(request), folder=folder, who=checked, owner=owner)
    except (InvalidName, ImapError) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("The permissions of %(who)s have been removed.") % {"who": who})


def _set(request: HttpRequest, form: PermissionForm, folder: str, owner: Owner | None) -> bool:
    data = form.cleaned_data
    try:
        who = data["who"] or group_identifier(dn=data["group"])
        folder_acl_set(actor=actor_of(request), folder=folder, who=who, rights=data["letters"], owner=owner)
    except (InvalidName, ImapError) as exc:
        add_service_error(form, exc)
        return False
    messages.success(request, _("The permissions of %(who)s have been set.") % {"who": who})
    return True


@guard(Level.ADMIN)
@require_http_methods(["GET", "POST"])
def permissions(request: HttpRequest) -> HttpResponse:
    owner = owner_param(request)
    if owner is None and not (request.GET.get("folder") or request.POST.get("folder")):
        return render(request, "folders/permissions_pick.html", {})
    folder = user_folder_param(request) if owner else public_folder_param(request)
    form = PermissionForm(request.POST if "set" in request.POST else None)
    if request.method == "POST":
        if "remove" in request.POST:
            _remove(request, folder, owner)
            return redirect(permissions_url(folder, owner))
        if form.is_valid() and _set(request, form, folder, owner):
            return redirect(permissions_url(folder, owner))
    try:
        info = folder_info(folder=folder, owner=owner)
    except (InvalidName, ImapError) as exc:
        messages.error(request, str(exc))
        info = None
    else:
        if info is None:
            raise Http404("No such folder.")
    # Groups are named by entryUUID in Cyrus: shown by their place in the tree (one LDAP search per page).
    rows = folder_acl_rows(acl=info.acl) if info else []
    context = {
        "folder": folder,
        "owner": owner,
        "info": info,
        "rows": rows,
        "form": form,
        "domain": None if owner else folder_domain(folder),
    }
    return render(request, "folders/permissions.html", context)


urlpatterns: list[URLPattern] = [path("permissions/", permissions, name="folders_permissions")]
