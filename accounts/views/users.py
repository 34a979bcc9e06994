"""Users and resources: Create User (ACC-07), Create Resource (ACC-10) and the user page (ACC-08).

Every view: `guard` for who may open it at all, then `require` on the object (404 for anything outside the
person's scope) before the directory is read. The actions (edit, disable, quota, delete, ...) live in
`user_actions.py`; their URLs are listed here with the rest of this module's.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from accounts.models import Operation
from accounts.selectors import mail_container_get
from accounts.services.journal import incomplete_operation
from accounts.services.person import PERSON_FIELDS
from accounts.services.users import user_create as create_account
from accounts.views import user_actions
from accounts.views.user_common import account_or_404, detail_context, detail_url
from accounts.views.user_forms import ResourceCreateForm, UserCreateForm, add_service_error
from mailadmin.actor import Actor
from mailadmin.directory import DirectoryError, InvalidName, dit
from mailadmin.imap_names import ImapError
from mailadmin.permissions import Kind, Level, Verb, guard, require
from mailadmin.views.params import dn_param


def _failure_message(exc: Exception, dn: str | None) -> str:
    op = incomplete_operation(dn) if dn else None
    if op is not None and op.state == Operation.State.FAILED:
        return _(
            "Creating it failed (%(error)s) and these steps could not be undone: %(left)s. It is listed as "
            "incomplete; the drift check repairs it."
        ) % {"error": exc, "left": ", ".join(op.left_behind)}
    return _("Nothing was created: %(error)s") % {"error": exc}


def _container(request: HttpRequest, actor: Actor, kind: Kind) -> tuple[str, str]:
    parent = dn_param(request, "parent")
    require(actor, Verb.CREATE, parent, kind=kind)
    entry = mail_container_get(dn=parent)
    domain = dit.domain_of(parent)
    if entry is None or not domain:
        raise Http404("No such organization or group.")
    return parent, domain


def _create(
    request: HttpRequest, form: Any, parent: str, kwargs: dict[str, Any], what: str
) -> HttpResponse | None:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    try:
        dn: str | None = dit.account_dn(parent, kwargs["uid"])
    except InvalidName:
        dn = None
    try:
        dn = create_account(actor=actor, container_dn=parent, **kwargs)
    except InvalidName as exc:
        add_service_error(form, exc)
    except (DirectoryError, ImapError) as exc:
        form.add_error(None, _failure_message(exc, dn))
    else:
        messages.success(request, what % {"uid": kwargs["uid"]})
        return redirect(detail_url(dn))
    return None


@guard(Level.DELEGATED)
@require_http_methods(["GET", "POST"])
def user_create(request: HttpRequest) -> HttpResponse:
    """Create User in an organization or group (`?parent=`)."""
    actor: Actor = request.actor  # type: ignore[attr-defined]
    parent, domain = _container(request, actor, Kind.USER)
    form = UserCreateForm(request.POST if request.method == "POST" else None, domain=domain)
    if request.method == "POST" and form.is_valid():
        done = _create(request, form, parent, form.service_kwargs(), _("User %(uid)s has been created."))
        if done is not None:
            return done
    sections = [
        (_("Account"), [form[name] for name in form.ACCOUNT]),
        (_("Name"), [form[name] for name in form.NAMES]),
        (_("Person"), [form[f.key] for f in PERSON_FIELDS]),
        (_("Options"), [form[name] for name in form.OPTIONS]),
    ]
    context = {"form": form, "sections": sections, "parent": parent, "domain": domain}
    return render(request, "accounts/user_create.html", context)


@guard(Level.DELEGATED)
@require_http_methods(["GET", "POST"])
def resource_create(request: HttpRequest) -> HttpResponse:
    """Create Resource (room, projector, car, ...): an account with a mailbox, marked mailResource."""
    actor: Actor = request.actor  # type: ignore[attr-defined]
    parent, domain = _container(request, actor, Kind.RESOURCE)
    form = ResourceCreateForm(request.POST if request.method == "POST" else None, domain=domain)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        quota = d.get("quota_mib")
        kwargs = {
            "uid": d["uid"],
            # Nobody needs to know a resource's password until someone resets it to log in as it.
            "password": d.get("password") or secrets.token_urlsafe(24),
            "last_name": d["last_name"],
            "mail": d.get("mail") or None,
            "person": {"description": d["description"]} if d.get("description") else None,
            "quota_kib": None if quota is None else quota * 1024,
            "resource_kind": d["resource_kind"],
        }
        done = _create(request, form, parent, kwargs, _("Resource %(uid)s has been created."))
        if done is not None:
            return done
    return render(
        request, "accounts/resource_create.html", {"form": form, "parent": parent, "domain": domain}
    )


@guard(Level.USER)
@require_GET
def user_detail(request: HttpRequest) -> HttpResponse:
    """The user page: attributes, status, mailbox, roles, and the actions the viewer may take."""
    actor: Actor = request.actor  # type: ignore[attr-defined]
    dn = dn_param(request)
    require(actor, Verb.VIEW, dn)
    entry = account_or_404(dn)
    return render(request, "accounts/user_detail.html", detail_context(actor, dn, entry))


urlpatterns: list[URLPattern] = [
    path("users/create/", user_create, name="user_create"),
    path("resources/create/", resource_create, name="resource_create"),
    path("users/", user_detail, name="user_detail"),
    path("users/edit/", user_actions.user_edit, name="user_edit"),
    path("users/disable/", user_actions.user_disable, name="user_disable"),
    path("users/enable/", user_actions.user_enable, name="user_enable"),
    path("users/web-access/", user_actions.user_web_access, name="user_web_access"),
    path("users/quota/", user_actions.user_quota, name="user_quota"),
    path("users/delete/", user_actions.user_delete, name="user_delete"),
]
