"""Create Domain (ACC-02), Create Organization (ACC-05), Create Group (ACC-06); edit and delete them.

Every page checks the actor against the object (`require`) before the directory is asked anything about it:
a DN outside the actor's area is a 404, whether it exists or not, and nothing is written.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.selectors import (
    ContainerNotEmpty,
    container_contents,
    get_container,
    is_default_organization,
)
from accounts.services.containers import (
    container_delete,
    container_rename,
    domain_create,
    domain_update,
    group_create,
    group_update,
    organization_create,
    organization_update,
    postal_address_text,
)
from accounts.views import contacts, moves
from accounts.views.browser import KIND_LABELS, browser_url
from accounts.views.container_forms import (
    DomainForm,
    GroupForm,
    OrganizationForm,
    RenameForm,
    add_service_error,
)
from mailadmin import directory
from mailadmin.actor import Actor
from mailadmin.directory import DirectoryError, DirectoryNotFound, InvalidName, dit
from mailadmin.permissions import Kind, Level, Verb, guard, require

FORMS: dict[Kind, type[forms.Form]] = {
    Kind.DOMAIN: DomainForm,
    Kind.ORGANIZATION: OrganizationForm,
    Kind.GROUP: GroupForm,
}


def dn_param(request: HttpRequest, name: str = "dn") -> str:
    """A DN from the query string; 404 for anything that is not one (a guess is as absent as a typo)."""
    dn = request.GET.get(name, "")
    if not dn or len(dn) > 1024 or not directory.valid_dn(dn):
        raise Http404("No such object.")
    return dn


def container_or_404(dn: str, *attrs: str) -> tuple[directory.Entry, Kind]:
    try:
        return get_container(dn, ["description", "mailPrivate", *attrs])
    except DirectoryNotFound as exc:
        raise Http404("No such object.") from exc


def _actor(request: HttpRequest) -> Actor:
    return request.actor  # type: ignore[attr-defined]


def _form_page(request: HttpRequest, form: forms.Form, title: str, **extra: Any) -> HttpResponse:
    return render(request, "accounts/container_form.html", {"form": form, "title": title, **extra})


@guard(Level.ADMIN)
@require_http_methods(["GET", "POST"])
def domain_create_view(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    require(actor, Verb.CREATE, dit.domains_dn(), kind=Kind.DOMAIN)
    form = DomainForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            dn = domain_create(
                actor=actor, name=data["name"], description=data["description"], private=data["private"]
            )
        except (InvalidName, DirectoryError) as exc:
            add_service_error(form, exc)
        else:
            messages.success(
                request, _("Domain %(name)s created with its organization.") % {"name": data["name"]}
            )
            return redirect(browser_url(dn))
    return _form_page(request, form, _("Create Domain"), submit=_("Create Domain"), cancel=browser_url())


@guard(Level.DELEGATED)
@require_http_methods(["GET", "POST"])
def organization_create_view(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    parent = dn_param(request, "parent")
    require(actor, Verb.VIEW, parent)
    require(actor, Verb.CREATE, parent, kind=Kind.ORGANIZATION)
    _entry, kind = container_or_404(parent)
    if kind is not Kind.DOMAIN:
        raise Http404("No such domain.")
    form = OrganizationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            dn = organization_create(
                actor=actor,
                domain_dn=parent,
                name=data["name"],
                description=data["description"],
                postal_address=data["postal_address"],
                phone=data["phone"],
                private=data["private"],
            )
        except (InvalidName, DirectoryError) as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("Organization %(name)s created.") % {"name": data["name"]})
            return redirect(browser_url(dn))
    return _form_page(
        request,
        form,
        _("Create Organization"),
        submit=_("Create Organization"),
        parent=parent,
        cancel=browser_url(parent),
    )


@guard(Level.DELEGATED)
@require_http_methods(["GET", "POST"])
def group_create_view(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    parent = dn_param(request, "parent")
    require(actor, Verb.VIEW, parent)
    require(actor, Verb.CREATE, parent, kind=Kind.GROUP)
    _entry, kind = container_or_404(parent)
    if kind is Kind.DOMAIN:
        raise Http404("Groups live in organizations.")
    form = GroupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            dn = group_create(
                actor=actor,
                parent_dn=parent,
                name=data["name"],
                description=data["description"],
                private=data["private"],
            )
        except (InvalidName, DirectoryError) as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("Group %(name)s created.") % {"name": data["name"]})
            return redirect(browser_url(dn))
    return _form_page(
        request, form, _("Create Group"), submit=_("Create Group"), parent=parent, cancel=browser_url(parent)
    )


def _initial(entry: directory.Entry) -> dict[str, Any]:
    return {
        "description": entry.first("description"),
        "postal_address": postal_address_text(entry.first("postalAddress")),
        "phone": entry.first("telephoneNumber"),
        "private": entry.first("mailPrivate") == "TRUE",
    }


def _update(actor: Actor, dn: str, kind: Kind, data: dict[str, Any]) -> None:
    if kind is Kind.DOMAIN:
        domain_update(actor=actor, dn=dn, description=data["description"], private=data["private"])
    elif kind is Kind.ORGANIZATION:
        organization_update(
            actor=actor,
            dn=dn,
            description=data["description"],
            postal_address=data["postal_address"],
            phone=data["phone"],
            private=data["private"],
        )
    else:
        group_update(actor=actor, dn=dn, description=data["description"], private=data["private"])


@guard(Level.DELEGATED)
@require_http_methods(["GET", "POST"])
def container_edit(request: HttpRequest) -> HttpResponse:
    """Change a domain's, organization's or group's details and "Make private from rest of directory"."""
    actor = _actor(request)
    dn = dn_param(request)
    require(actor, Verb.VIEW, dn)
    entry, kind = container_or_404(dn, "postalAddress", "telephoneNumber")
    require(actor, Verb.CHANGE, dn, kind=kind)
    form = FORMS[kind](request.POST or None, initial=_initial(entry), editing=True)  # type: ignore[call-arg]
    if request.method == "POST" and form.is_valid():
        try:
            _update(actor, entry.dn, kind, form.cleaned_data)
        except (InvalidName, DirectoryError) as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("%(name)s saved.") % {"name": dit.rdn_value(entry.dn)})
            return redirect(browser_url(entry.dn))
    title = _("Edit %(kind)s %(name)s") % {"kind": KIND_LABELS[kind], "name": dit.rdn_value(entry.dn)}
    return _form_page(request, form, title, submit=_("Save"), dn=entry.dn, cancel=browser_url(entry.dn))


@guard(Level.DELEGATED)
@require_http_methods(["GET", "POST"])
def container_delete_view(request: HttpRequest) -> HttpResponse:
    """Delete an empty container. One that holds anything is refused with a message naming what it holds."""
    actor = _actor(request)
    dn = dn_param(request)
    require(actor, Verb.VIEW, dn)
    entry, kind = container_or_404(dn)
    require(actor, Verb.DELETE, dn, kind=kind)
    name = dit.rdn_value(entry.dn)
    if kind is Kind.ORGANIZATION and is_default_organization(entry.dn):
        messages.error(
            request, _("The organization made with the domain is deleted together with the domain.")
        )
        return redirect(browser_url(entry.dn))
    if request.method == "POST":
        try:
            container_delete(actor=actor, dn=entry.dn)
        except ContainerNotEmpty as exc:
            messages.error(request, str(exc))
            return redirect(browser_url(entry.dn))
        except (InvalidName, DirectoryError) as exc:
            messages.error(request, str(exc))
            return redirect(browser_url(entry.dn))
        messages.success(request, _("%(kind)s %(name)s deleted.") % {"kind": KIND_LABELS[kind], "name": name})
        parent = dit.parent_dn(entry.dn)
        return redirect(browser_url(parent) if kind is not Kind.DOMAIN else browser_url())
    contents = container_contents(entry.dn)
    return render(
        request,
        "accounts/container_delete.html",
        {
            "entry": entry,
            "name": name,
            "kind": KIND_LABELS[kind],
            "contents": contents,
            "cancel": browser_url(entry.dn),
        },
    )


@guard(Level.DELEGATED)
@require_http_methods(["GET", "POST"])
def container_rename_view(request: HttpRequest) -> HttpResponse:
    """Rename an organization or a group; everything inside keeps its place, login, mailbox and roles."""
    actor = _actor(request)
    dn = dn_param(request)
    require(actor, Verb.VIEW, dn)
    entry, kind = container_or_404(dn)
    if kind not in (Kind.ORGANIZATION, Kind.GROUP) or (
        kind is Kind.ORGANIZATION and is_default_organization(entry.dn)
    ):
        raise Http404("This cannot be renamed.")
    require(actor, Verb.CHANGE, dn, kind=kind)
    require(actor, Verb.CREATE, dit.parent_dn(entry.dn), kind=kind)
    old = dit.rdn_value(entry.dn)
    form = RenameForm(request.POST or None, initial={"name": old})
    if request.method == "POST" and form.is_valid():
        try:
            new_dn = container_rename(actor=actor, dn=entry.dn, new_name=form.cleaned_data["name"])
        except DirectoryNotFound as exc:
            raise Http404("No such object.") from exc
        except (InvalidName, DirectoryError) as exc:
            add_service_error(form, exc)
        else:
            messages.success(
                request, _("%(old)s renamed to %(new)s.") % {"old": old, "new": dit.rdn_value(new_dn)}
            )
            return redirect(browser_url(new_dn))
    return render(
        request,
        "accounts/container_rename.html",
        {
            "entry": entry,
            "name": old,
            "kind": KIND_LABELS[kind],
            "form": form,
            "cancel": browser_url(entry.dn),
        },
    )


urlpatterns: list[URLPattern] = [
    path("domains/create/", domain_create_view, name="domain_create"),
    path("organizations/create/", organization_create_view, name="organization_create"),
    path("groups/create/", group_create_view, name="group_create"),
    path("containers/edit/", container_edit, name="container_edit"),
    path("containers/delete/", container_delete_view, name="container_delete"),
    path("containers/rename/", container_rename_view, name="container_rename"),
    *moves.urlpatterns,
    *contacts.urlpatterns,
]
