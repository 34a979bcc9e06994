"""Administrators (ACC-12); the URLs of the delegated-administrator pages (accounts/views/delegates.py).

Who may do what is decided by `accounts.services.roles.may_*` (the rank rule); the services ask again.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.selectors import administrator_list
from accounts.services.roles import (
    account_by_login,
    administrator_add,
    administrator_create,
    administrator_remove,
    manager_dn,
    may_remove_administrator,
)
from accounts.views import delegates
from accounts.views.admin_forms import (
    AdministratorCreateForm,
    LoginForm,
    account_param,
    account_rows,
    confirm_self,
)
from mailadmin.actor import Actor
from mailadmin.directory import DirectoryError, InvalidName, dit
from mailadmin.permissions import Level, guard


def _render_list(
    request: HttpRequest, add_form: LoginForm, create_form: AdministratorCreateForm
) -> HttpResponse:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    rows = account_rows(
        actor, administrator_list(), lambda dn: may_remove_administrator(actor, dn), manager_dn()
    )
    context = {"rows": rows, "add_form": add_form, "create_form": create_form}
    return render(request, "accounts/admins.html", context)


@guard(Level.ADMIN)
@require_GET
def administrators(request: HttpRequest) -> HttpResponse:
    return _render_list(request, LoginForm(prefix="add"), AdministratorCreateForm(prefix="new"))


@guard(Level.ADMIN)
@require_POST
def administrators_add(request: HttpRequest) -> HttpResponse:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    form = LoginForm(request.POST, prefix="add")
    if form.is_valid():
        login = form.cleaned_data["login"]
        entry = account_by_login(login, base=dit.base_dn())
        if entry is None:
            form.add_error("login", _("There is no account with this login name."))
        else:
            try:
                administrator_add(actor=actor, account_dn=entry.dn)
            except DirectoryError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, _("%(uid)s is now an administrator.") % {"uid": login})
                return redirect("administrators")
    return _render_list(request, form, AdministratorCreateForm(prefix="new"))


@guard(Level.ADMIN)
@require_POST
def administrators_create(request: HttpRequest) -> HttpResponse:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    form = AdministratorCreateForm(request.POST, prefix="new")
    if form.is_valid():
        data = form.cleaned_data
        try:
            administrator_create(
                actor=actor,
                uid=data["uid"],
                password=data["password"],
                last_name=data["last_name"],
                first_name=data["first_name"],
            )
        except InvalidName as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc))
        except DirectoryError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Administrator %(uid)s created.") % {"uid": data["uid"]})
            return redirect("administrators")
    return _render_list(request, LoginForm(prefix="add"), form)


@guard(Level.ADMIN)
@require_POST
def administrators_remove(request: HttpRequest) -> HttpResponse:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    dn = account_param(request)
    if not any(dit.same_dn(dn, a) for a in administrator_list()):
        raise Http404("No such administrator.")
    confirmed = request.POST.get("confirm") == "yes"
    if dit.same_dn(dn, actor.dn) and not confirmed and may_remove_administrator(actor, dn):
        return confirm_self(
            request,
            title=_("Remove your own administrator role?"),
            text=_("You lose every administrator right at once and cannot give it back to yourself."),
            fields={"account": dn},
        )
    try:
        administrator_remove(actor=actor, account_dn=dn, confirmed=confirmed)
    except DirectoryError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("The administrator role was removed."))
        if dit.same_dn(dn, actor.dn):
            return redirect("dashboard")  # the next request already runs without the role
    return redirect("administrators")


urlpatterns: list[URLPattern] = [
    path("administrators/", administrators, name="administrators"),
    path("administrators/add/", administrators_add, name="administrators_add"),
    path("administrators/create/", administrators_create, name="administrators_create"),
    path("administrators/remove/", administrators_remove, name="administrators_remove"),
    *delegates.urlpatterns,
]
