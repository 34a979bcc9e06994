"""External contacts (ACC-11): Create Contact in an organization or group, look at it, change it, remove it.

Per the manual, contacts are the administrators' business: domain and group administrators may look at the
contacts of their area but not create, change or delete them (`mailadmin.permissions.can`)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from accounts.services.common import get_mail_container
from accounts.services.contacts import contact_create, contact_delete, contact_update, get_contact
from accounts.views.browser import browser_url, url_for
from accounts.views.container_forms import ContactForm, add_service_error
from aliases.services import membership
from mailadmin import directory
from mailadmin.actor import Actor
from mailadmin.directory import DirectoryError, DirectoryNotFound, InvalidName, dit
from mailadmin.permissions import Kind, Level, Verb, can, guard, require

SHOWN = (
    ("mail", gettext_lazy("E-mail address")),
    ("o", gettext_lazy("Company")),
    ("title", gettext_lazy("Title")),
    ("telephoneNumber", gettext_lazy("Phone")),
    ("mobile", gettext_lazy("Mobile")),
    ("facsimileTelephoneNumber", gettext_lazy("Fax")),
    ("description", gettext_lazy("Description")),
)


def _dn(request: HttpRequest, name: str = "dn") -> str:
    dn = request.GET.get(name, "")
    if not dn or len(dn) > 1024 or not directory.valid_dn(dn):
        raise Http404("No such object.")
    return dn


def contact_url(dn: str) -> str:
    return reverse("contact_detail") + "?" + urlencode({"dn": dn})


def _contact_or_404(dn: str) -> directory.Entry:
    try:
        return get_contact(dn)
    except DirectoryNotFound as exc:
        raise Http404("No such contact.") from exc


def _service_args(data: dict[str, Any]) -> dict[str, str]:
    names = ("last_name", "first_name", "mail", "company", "title", "phone", "mobile", "fax", "description")
    return {name: data[name] for name in names}


@guard(Level.DELEGATED)
@require_http_methods(["GET", "POST"])
def contact_create_view(request: HttpRequest) -> HttpResponse:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    parent = _dn(request, "parent")
    require(actor, Verb.VIEW, parent)
    require(actor, Verb.CREATE, parent, kind=Kind.CONTACT)
    try:
        get_mail_container(parent)
    except DirectoryNotFound as exc:
        raise Http404("No such organization or group.") from exc
    form = ContactForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            dn = contact_create(actor=actor, container_dn=parent, **_service_args(form.cleaned_data))
        except (InvalidName, DirectoryError) as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("Contact %(name)s created.") % {"name": dit.rdn_value(dn)})
            return redirect(contact_url(dn))
    return render(
        request,
        "accounts/contact_form.html",
        {
            "form": form,
            "title": _("Create Contact"),
            "submit": _("Create Contact"),
            "cancel": browser_url(parent),
        },
    )


def _initial(entry: directory.Entry) -> dict[str, str]:
    return {
        "last_name": entry.first("sn"),
        "first_name": entry.first("givenName"),
        "mail": entry.first("mail"),
        "company": entry.first("o"),
        "title": entry.first("title"),
        "phone": entry.first("telephoneNumber"),
        "mobile": entry.first("mobile"),
        "fax": entry.first("facsimileTelephoneNumber"),
        "description": entry.first("description"),
    }


@guard(Level.DELEGATED)
@require_http_methods(["GET", "POST"])
def contact_detail(request: HttpRequest) -> HttpResponse:
    """A contact's card; administrators change it here."""
    actor: Actor = request.actor  # type: ignore[attr-defined]
    dn = _dn(request)
    require(actor, Verb.VIEW, dn)
    entry = _contact_or_404(dn)
    may_change = can(actor, Verb.CHANGE, dn, kind=Kind.CONTACT)
    if request.method == "POST":
        require(actor, Verb.CHANGE, dn, kind=Kind.CONTACT)
    form = ContactForm(request.POST or None, initial=_initial(entry)) if may_change else None
    if form is not None and request.method == "POST" and form.is_valid():
        try:
            new_dn = contact_update(actor=actor, dn=entry.dn, **_service_args(form.cleaned_data))
        except (InvalidName, DirectoryError) as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("Contact %(name)s saved.") % {"name": dit.rdn_value(new_dn)})
            return redirect(contact_url(new_dn))
    rows = [(label, entry.first(attr)) for attr, label in SHOWN if entry.first(attr)]
    return render(
        request,
        "accounts/contact_detail.html",
        {
            "entry": entry,
            "name": dit.rdn_value(entry.dn),
            "rows": rows,
            "form": form,
            "parent_url": browser_url(dit.parent_dn(entry.dn)),
            "delete_url": url_for(("contact_delete",), dn=entry.dn)
            if can(actor, Verb.DELETE, dn, kind=Kind.CONTACT)
            else None,
            "move_url": url_for(("entry_move",), dn=entry.dn)
            if can(actor, Verb.MOVE, dn, kind=Kind.CONTACT)
            else None,
        },
    )


@guard(Level.DELEGATED)
@require_http_methods(["GET", "POST"])
def contact_delete_view(request: HttpRequest) -> HttpResponse:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    dn = _dn(request)
    require(actor, Verb.VIEW, dn)
    require(actor, Verb.DELETE, dn, kind=Kind.CONTACT)
    entry = _contact_or_404(dn)
    name = dit.rdn_value(entry.dn)
    if request.method == "POST":
        try:
            changed = contact_delete(actor=actor, dn=entry.dn)
        except (DirectoryError, InvalidName) as exc:
            messages.error(request, str(exc))
            return redirect(contact_url(entry.dn))
        messages.success(request, _("Contact %(name)s deleted.") % {"name": name})
        if changed:
            messages.info(request, membership.also_removed(actor, changed))
        return redirect(browser_url(dit.parent_dn(entry.dn)))
    # The aliases listing its address lose it with it (aliases/services/membership.py); the page names them.
    aliases_note = refusal = ""
    try:
        aliases_note = membership.also_removed(
            actor, membership.plan_remove(entry.values("mail"), holder_dn=entry.dn)
        )
    except InvalidName as exc:
        refusal = str(exc)
    return render(
        request,
        "accounts/contact_delete.html",
        {
            "entry": entry,
            "name": name,
            "cancel": contact_url(entry.dn),
            "aliases_note": aliases_note,
            "refusal": refusal,
        },
    )


urlpatterns: list[URLPattern] = [
    path("contacts/create/", contact_create_view, name="contact_create"),
    path("contacts/", contact_detail, name="contact_detail"),
    path("contacts/delete/", contact_delete_view, name="contact_delete"),
]
