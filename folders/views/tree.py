"""The folder tree (FLD-01): public folders, one level per page, with message counts and sizes.

A level is listed with one LIST and only the page's folders are counted (one STATUS each,
folders.selectors.folder_page), so a level of thousands of folders costs one LIST and 50 STATUS.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.views.decorators.http import require_GET

from folders.selectors import folder_page
from folders.services import PAGE_SIZE, folder_domain
from folders.views.common import public_folder_param
from mailadmin.imap_names import SEPARATOR, ImapError
from mailadmin.permissions import Level, guard


def crumbs(folder: str) -> list[tuple[str, str]]:
    """(label, full name) for each level of `folder`."""
    parts = folder.split(SEPARATOR) if folder else []
    return [(part, SEPARATOR.join(parts[: i + 1])) for i, part in enumerate(parts)]


@guard(Level.ADMIN)
@require_GET
def tree(request: HttpRequest) -> HttpResponse:
    parent = public_folder_param(request, "parent", required=False)
    try:
        page = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        page = 1
    result = None
    try:
        result = folder_page(parent=parent, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    except ImapError as exc:
        messages.error(request, str(exc))
    pages = max(1, -(-result.total // PAGE_SIZE)) if result else 1
    context = {
        "parent": parent,
        "crumbs": crumbs(parent),
        "domain": folder_domain(parent) if parent else None,
        "result": result,
        "page": page,
        "pages": pages,
    }
    return render(request, "folders/tree.html", context)


urlpatterns: list[URLPattern] = [path("", tree, name="folders_tree")]
