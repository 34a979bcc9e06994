"""Domain administrators (ACC-13) and group administrators (ACC-14).

A domain or group that is not the actor's to manage is a 404 before anything else is read, whatever the form
says; inside their own area a refusal by rank is a clear message and nothing changes. The overview pages page
on the server (VLV, `accounts.selectors.domain_list` / `group_list`) for administrators, who may see every
domain or group; a page number past the end shows the last page.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.selectors import (
    WindowPage,
    domain_admin_list,
    domain_exists,
    domain_list,
    group_admin_list,
    group_get,
    group_list,
)
from accounts.services import roles
from accounts.views.admin_forms import LoginForm, account_param, account_rows, confirm_self, page_number
from mailadmin import directory
from mailadmin.actor import Actor
from mailadmin.directory import DirectoryError, InvalidName, dit
from mailadmin.permissions import Level, guard


def _actor(request: HttpRequest) -> Actor:
    return request.actor  # type: ignore[attr-defined]


def _pager(window: WindowPage) -> dict[str, Any]:
    return {"page": window.page, "pages": window.pages, "total": window.total}


def _find(request: HttpRequest) -> str:
    """The optional "name starts with" box of the overview pages; anything unusable counts as empty."""
    value = request.GET.get("find", "").strip()
    try:
        return directory.check_value(value, "find", max_length=64)
    except InvalidName:
        return ""


def _after_self_change(request: HttpRequest, dn: str) -> bool:
    """True if someone changed their own roles (the next request already runs with the new ones)."""
    actor = _actor(request)
    return bool(actor.dn) and dit.same_dn(actor.dn, dn)


# --- domain administrators -------------------------------------------------------------------------------


def _domain(actor: Actor, value: str) -> str:
    """The domain named in the request, if the actor manages its administrators; 404 otherwise."""
    try:
        name = directory.check_domain(value)
    except InvalidName as exc:
        raise Http404("No such domain.") from exc
    if not roles.may_manage_domain_admins(actor, name) or not domain_exists(name=name):
        raise Http404("No such domain.")
    return name


def _domain_url(name: str) -> str:
    return reverse("domain_admins") + "?" + urlencode({"domain": name})


def _render_domain(request: HttpRequest, name: str, form: LoginForm) -> HttpResponse:
    actor = _actor(request)
    rows = account_rows(
        actor,
        domain_admin_list(domain=name),
        lambda dn: roles.may_revoke_domain_admin(actor, name, dn, roles.rank_of(dn)),
    )
    context = {"domain": name, "rows": rows, "form": form, "hidden": {"domain": name}}
    return render(request, "accounts/admins_domain.html", context)


@guard(Level.DELEGATED)
@require_GET
def domain_admins(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    if request.GET.get("domain"):
        name = _domain(actor, request.GET["domain"])
        return _render_domain(request, name, LoginForm())
    context: dict[str, Any] = {"find": _find(request)}
    if actor.roles.administrator:
        window = domain_list(find=context["find"], page=page_number(request))
        context.update(_pager(window), names=[e.first("dc") for e in window.entries])
    else:
        context["names"] = sorted(filter(None, (dit.domain_of(dn) for dn in actor.roles.domains)))
    return render(request, "accounts/admins_domains.html", context)


@guard(Level.DELEGATED)
@require_POST
def domain_admins_add(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    name = _domain(actor, request.POST.get("domain", ""))
    form = LoginForm(request.POST)
    if form.is_valid():
        login = form.cleaned_data["login"]
        entry = roles.account_by_login(login, base=dit.domain_dn(name))
        if entry is None and actor.roles.administrator:
            entry = roles.account_by_login(login, base=dit.admins_dn())
        if entry is None:
            form.add_error(
                "login", _("There is no account with this login name in %(domain)s.") % {"domain": name}
            )
        elif not roles.may_grant_domain_admin(actor, name, entry.dn, roles.rank_of(entry.dn)):
            form.add_error("login", _("You may not give this account the domain administrator role."))
        else:
            try:
                roles.domain_admin_add(actor=actor, domain=name, account_dn=entry.dn)
            except DirectoryError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(
                    request,
                    _("%(uid)s is now a domain administrator of %(domain)s.")
                    % {"uid": login, "domain": name},
                )
                return redirect(_domain_url(name))
    return _render_domain(request, name, form)


@guard(Level.DELEGATED)
@require_POST
def domain_admins_remove(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    name = _domain(actor, request.POST.get("domain", ""))
    dn = account_param(request)
    if not any(dit.same_dn(dn, a) for a in domain_admin_list(domain=name)):
        raise Http404("No such domain administrator.")
    confirmed = request.POST.get("confirm") == "yes"
    allowed = roles.may_revoke_domain_admin(actor, name, dn, roles.rank_of(dn))
    if allowed and not confirmed and actor.dn and dit.same_dn(dn, actor.dn):
        return confirm_self(
            request,
            title=_("Remove your own domain administrator role?"),
            text=_("You can no longer manage %(domain)s once you confirm.") % {"domain": name},
            fields={"domain": name, "account": dn},
        )
    try:
        roles.domain_admin_remove(actor=actor, domain=name, account_dn=dn, confirmed=confirmed)
    except DirectoryError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("The domain administrator role was removed."))
        if _after_self_change(request, dn):
            return redirect("dashboard")
    return redirect(_domain_url(name))


# --- group administrators --------------------------------------------------------------------------------


def _group(actor: Actor, value: str) -> str:
    """The group named in the request, if the actor appoints its administrators; 404 otherwise."""
    if not value or len(value) > 1024 or not roles.may_manage_group_admins(actor, value):
        raise Http404("No such group.")
    entry = group_get(dn=value)
    if entry is None:
        raise Http404("No such group.")
    return entry.dn


def _group_url(group_dn: str) -> str:
    return reverse("group_admins") + "?" + urlencode({"group": group_dn})


def _render_group(request: HttpRequest, group_dn: str, form: LoginForm) -> HttpResponse:
    actor = _actor(request)
    rows = account_rows(
        actor,
        group_admin_list(group_dn=group_dn),
        lambda dn: roles.may_revoke_group_admin(actor, group_dn, dn, roles.rank_of(dn)),
    )
    context = {
        "group": group_dn,
        "group_name": dit.rdn_value(group_dn),
        "domain": dit.domain_of(group_dn),
        "rows": rows,
        "form": form,
        "hidden": {"group": group_dn},
    }
    return render(request, "accounts/admins_group.html", context)


@guard(Level.DELEGATED)
@require_GET
def group_admins(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    if request.GET.get("group"):
        return _render_group(request, _group(actor, request.GET["group"]), LoginForm())
    # Overview: the groups of one domain at a time (a VLV window needs one base).
    bases = [dit.domains_dn()] if actor.roles.administrator else sorted(actor.roles.domains)
    context: dict[str, Any] = {
        "find": _find(request),
        "bases": [(b, dit.domain_of(b) or _("All domains")) for b in bases],
    }
    chosen = request.GET.get("in", "")
    base = next((b for b in bases if chosen and dit.same_dn(b, chosen)), bases[0] if bases else "")
    context["base"] = base
    if base:
        window = group_list(base=base, find=context["find"], page=page_number(request))
        context.update(
            _pager(window), groups=[(e.dn, e.first("ou"), dit.domain_of(e.dn)) for e in window.entries]
        )
    return render(request, "accounts/admins_groups.html", context)


@guard(Level.DELEGATED)
@require_POST
def group_admins_add(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    group_dn = _group(actor, request.POST.get("group", ""))
    form = LoginForm(request.POST)
    if form.is_valid():
        login = form.cleaned_data["login"]
        entry = roles.account_by_login(login, base=group_dn)
        if entry is None:
            form.add_error("login", _("There is no account with this login name in this group."))
        elif not roles.may_grant_group_admin(actor, group_dn, entry.dn, roles.rank_of(entry.dn)):
            form.add_error("login", _("You may not give this account the group administrator role."))
        else:
            try:
                roles.group_admin_add(actor=actor, group_dn=group_dn, account_dn=entry.dn)
            except DirectoryError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, _("%(uid)s is now a group administrator.") % {"uid": login})
                return redirect(_group_url(group_dn))
    return _render_group(request, group_dn, form)


@guard(Level.DELEGATED)
@require_POST
def group_admins_remove(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    group_dn = _group(actor, request.POST.get("group", ""))
    dn = account_param(request)
    if not any(dit.same_dn(dn, a) for a in group_admin_list(group_dn=group_dn)):
        raise Http404("No such group administrator.")
    confirmed = request.POST.get("confirm") == "yes"
    allowed = roles.may_revoke_group_admin(actor, group_dn, dn, roles.rank_of(dn))
    if allowed and not confirmed and actor.dn and dit.same_dn(dn, actor.dn):
        return confirm_self(
            request,
            title=_("Remove your own group administrator role?"),
            text=_("You can no longer manage this group once you confirm."),
            fields={"group": group_dn, "account": dn},
        )
    try:
        roles.group_admin_remove(actor=actor, group_dn=group_dn, account_dn=dn, confirmed=confirmed)
    except DirectoryError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("The group administrator role was removed."))
        if _after_self_change(request, dn):
            return redirect("dashboard")
    return redirect(_group_url(group_dn))


urlpatterns: list[URLPattern] = [
    path("domain-admins/", domain_admins, name="domain_admins"),
    path("domain-admins/add/", domain_admins_add, name="domain_admins_add"),
    path("domain-admins/remove/", domain_admins_remove, name="domain_admins_remove"),
    path("group-admins/", group_admins, name="group_admins"),
    path("group-admins/add/", group_admins_add, name="group_admins_add"),
    path("group-admins/remove/", group_admins_remove, name="group_admins_remove"),
]
