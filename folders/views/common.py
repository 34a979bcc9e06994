"""Helpers of the Mail Folders pages: parameters that name a folder or a user, and gateway errors."""

from __future__ import annotations

from django.http import Http404, HttpRequest

from folders.selectors import folder_owner
from folders.services import Owner
from mailadmin import directory
from mailadmin.actor import Actor
from mailadmin.directory import InvalidName
from mailadmin.imap_names import SEPARATOR, check_folder_name, check_public_path
from mailadmin.permissions import Kind, Verb, require


def actor_of(request: HttpRequest) -> Actor:
    return request.actor  # type: ignore[attr-defined]


def public_folder_param(request: HttpRequest, name: str = "folder", *, required: bool = True) -> str:
    """A public folder name from the query string or form; 404 for a name no folder can have."""
    value = request.POST.get(name) or request.GET.get(name, "")
    if not value and not required:
        return ""
    try:
        return check_public_path(value)
    except InvalidName as exc:
        raise Http404("No such folder.") from exc


def user_folder_param(request: HttpRequest, name: str = "folder") -> str:
    value = request.POST.get(name) or request.GET.get(name, "") or "INBOX"
    if value != "INBOX":
        try:
            for part in value.split(SEPARATOR):
                check_folder_name(part)
        except InvalidName as exc:
            raise Http404("No such folder.") from exc
    return value


def owner_param(request: HttpRequest, name: str = "user") -> Owner | None:
    """The account (`?user=<dn>`) whose folders a page is about; None for public folders."""
    dn = request.POST.get(name) or request.GET.get(name, "")
    if not dn:
        return None
    if len(dn) > 1024 or not directory.valid_dn(dn):
        raise Http404("No such user.")
    require(actor_of(request), Verb.VIEW, dn, kind=Kind.USER)
    owner = folder_owner(dn=dn)
    if owner is None:
        raise Http404("No such user.")
    return owner
