"""Create (FLD-02), rename and delete public folders. Names pass FLD-03's allow-list before Cyrus is asked."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from folders.forms import CreateForm, RenameForm, add_service_error
from folders.selectors import folder_summary
from folders.services import folder_create, folder_delete, folder_domain, folder_rename
from folders.views.common import actor_of, public_folder_param
from mailadmin.directory import InvalidName
from mailadmin.imap_names import SEPARATOR, ImapError
from mailadmin.permissions import Level, guard


def tree_url(parent: str = "") -> str:
    url = reverse("folders_tree")
    return f"{url}?{urlencode({'parent': parent})}" if parent else url


def _parent_of(folder: str) -> str:
    return folder.rsplit(SEPARATOR, 1)[0] if SEPARATOR in folder else ""


@guard(Level.ADMIN)
@require_http_methods(["GET", "POST"])
def create(request: HttpRequest) -> HttpResponse:
    initial = {"parent": request.GET.get("parent", "")[:400]}
    form = CreateForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            full = folder_create(
                actor=actor_of(request),
                parent=data["parent"],
                name=data["name"],
                folder_type=data["folder_type"],
            )
        except (InvalidName, ImapError) as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("Folder %(name)s has been created.") % {"name": full})
            return redirect(tree_url(_parent_of(full)))
    return render(request, "folders/create.html", {"form": form, "cancel": tree_url()})


@guard(Level.ADMIN)
@require_http_methods(["GET", "POST"])
def rename(request: HttpRequest) -> HttpResponse:
    folder = public_folder_param(request)
    if SEPARATOR not in folder and folder_domain(folder):
        raise Http404("A domain's root folder is not renamed.")
    form = RenameForm(request.POST or None, initial={"name": folder.rsplit(SEPARATOR, 1)[-1]})
    if request.method == "POST" and form.is_valid():
        try:
            target = folder_rename(actor=actor_of(request), folder=folder, new_name=form.cleaned_data["name"])
        except (InvalidName, ImapError) as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("Folder %(old)s is now %(new)s.") % {"old": folder, "new": target})
            return redirect(tree_url(_parent_of(target)))
    return render(
        request,
        "folders/rename.html",
        {"form": form, "folder": folder, "cancel": tree_url(_parent_of(folder))},
    )


@guard(Level.ADMIN)
@require_http_methods(["GET", "POST"])
def delete(request: HttpRequest) -> HttpResponse:
    folder = public_folder_param(request)
    problem = ""
    try:
        summary = folder_summary(folder=folder)
    except ImapError as exc:
        summary, problem = None, str(exc)
    if summary is None and not problem:
        raise Http404("No such folder.")
    if request.method == "POST" and not problem:
        try:
            done = folder_delete(actor=actor_of(request), folder=folder)
        except (InvalidName, ImapError) as exc:
            problem = str(exc)
        else:
            messages.success(
                request,
                _("Folder %(name)s has been deleted with %(n)s messages in %(f)s folders.")
                % {"name": folder, "n": done.messages, "f": done.folders},
            )
            return redirect(tree_url(_parent_of(folder)))
    return render(
        request,
        "folders/delete.html",
        {"folder": folder, "summary": summary, "problem": problem, "cancel": tree_url(_parent_of(folder))},
    )


urlpatterns: list[URLPattern] = [
    path("create/", create, name="folders_create"),
    path("rename/", rename, name="folders_rename"),
    path("delete/", delete, name="folders_delete"),
]
