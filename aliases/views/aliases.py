"""Aliases in a domain: view, find, create, edit, delete (ALI-01 … ALI-04).

Who sees what (`mailadmin.permissions.can_alias`): administrators every alias; domain administrators the
aliases of their domains; an alias's owners that alias (to change its members and flags) — a plain user
who owns an alias reaches these pages for it and gets a 404 for every other alias. The lists run in a scope
slapd enforces (`aliases.selectors`); every object is checked again on the server before it is shown or
changed.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from aliases.forms import AliasForm, DeleteByNameForm, FindForm
from aliases.rows import alias_rows
from aliases.selectors import (
    PAGE_SIZE,
    AliasInfo,
    AliasQuery,
    alias_page,
    default_scope,
    find_alias,
    get_alias,
    scope_allowed,
    scopes,
)
from aliases.services import alias_create, alias_delete, alias_update, owner_logins
from mailadmin import directory
from mailadmin.actor import Actor
from mailadmin.directory import DirectoryError, DirectoryNotFound, InvalidName, dit
from mailadmin.permissions import Level, Verb, can_alias, guard, require_alias

QUERY_FIELDS = ("scope", "text", "match", "member", "owner", "flag", "sort")
MAX_SELECTED = PAGE_SIZE


def _actor(request: HttpRequest) -> Actor:
    return request.actor  # type: ignore[attr-defined]


def _page(request: HttpRequest) -> int:
    raw = request.GET.get("page", "1")
    return int(raw) if raw.isdigit() and 0 < len(raw) < 7 and int(raw) > 0 else 1


@lru_cache(maxsize=8)
def _path(name: str) -> str:
    return reverse(name)  # the URLconf does not change while the process runs


def alias_url(dn: str) -> str:
    return _path("alias_edit") + "?" + urlencode({"dn": dn})


def _alias_or_404(actor: Actor, dn: str, verb: Verb) -> AliasInfo:
    """The alias named by `dn` if the actor may do `verb` on it; 404 otherwise (also for no such alias:
    a foreign DN and a missing one look the same)."""
    if not dn or len(dn) > 1024 or not directory.valid_dn(dn):
        raise Http404("No such alias.")
    # Domain administrators are decided by the DN alone; owners need the entry (its mailAliasOwner).
    try:
        alias = get_alias(dn)
    except (DirectoryNotFound, InvalidName) as exc:
        raise Http404("No such alias.") from exc
    require_alias(actor, verb, alias.dn, owners=alias.owners)
    return alias


# --- View aliases / Find aliases (ALI-01, ALI-02) ---


def _results(request: HttpRequest, query: AliasQuery, url_name: str) -> dict[str, Any]:
    actor = _actor(request)
    page = _page(request)
    window = alias_page(query=query, actor=actor, page=page)
    pages = max(1, -(-window.total // PAGE_SIZE))
    params = query.to_params()
    base = _path(url_name)
    edit = _path("alias_edit")
    rows = [
        {
            "dn": e.dn,
            "id": f"sel-{n}",
            "url": f"{edit}?{urlencode({'dn': e.dn})}",
            "mail": e.first("mail"),
            "members": len(e.values("rfc822MailMember")),
            "open": e.first("mailAliasOpen").upper() == "TRUE",
            "restricted": e.first("mailAliasRestricted").upper() == "TRUE",
            # the checkbox only where the actor may delete (owners may not)
            "deletable": can_alias(actor, Verb.DELETE, e.dn),
        }
        for n, e in enumerate(window.entries, 1)
    ]

    def url(page_no: int, **extra: str) -> str:
        return base + "?" + urlencode({**params, **extra, "page": str(page_no)})

    return {
        "query": params,
        "rows": rows,
        "rows_html": alias_rows(rows),
        "total": window.total,
        "page": page,
        "pages": pages,
        "prev_url": url(page - 1) if page > 1 else "",
        "next_url": url(page + 1) if page < pages else "",
        "sort_url": url(1, sort="-mail" if query.sort == "mail" else "mail"),
        "any_deletable": any(r["deletable"] for r in rows),
    }


def _list_page(request: HttpRequest, url_name: str, *, find: bool) -> HttpResponse:
    actor = _actor(request)
    options = scopes(actor)
    data = {name: request.GET.get(name, "") for name in QUERY_FIELDS}
    if not data["scope"]:
        data["scope"] = default_scope(actor)
    elif scope_allowed(actor, data["scope"]) and all(data["scope"] != value for value, _l in options):
        # an administrator names any domain (the select offers only "All domains": there may be thousands)
        options.append((data["scope"], data["scope"]))
    form = FindForm(data, options)
    context: dict[str, Any] = {"form": form, "find": find, "url_name": url_name, "rows": None}
    if form.is_valid():
        try:
            query = AliasQuery.build(form.cleaned_data, actor)
        except InvalidName as exc:
            if exc.field == "scope":
                raise Http404("No such place.") from exc
            form.add_error(exc.field if exc.field in form.fields else None, str(exc))
        else:
            try:
                context.update(_results(request, query, url_name))
            except DirectoryError as exc:
                form.add_error(None, str(exc))
    elif request.GET.get("scope") and "scope" in form.errors:
        raise Http404("No such place.")
    template = "aliases/list.html#results" if request.htmx else "aliases/list.html"  # type: ignore[attr-defined]
    return render(request, template, context)


@guard(Level.USER)
@require_GET
def alias_list(request: HttpRequest) -> HttpResponse:
    """View aliases: every alias the actor may see, with delete checkboxes."""
    return _list_page(request, "alias_list", find=False)


@guard(Level.USER)
@require_GET
def alias_find(request: HttpRequest) -> HttpResponse:
    """Find aliases: simple (name) and advanced (domain, member, owner, flags); "Show all" empties them."""
    return _list_page(request, "alias_find", find=True)


@guard(Level.DELEGATED)
@require_POST
def alias_delete_selected(request: HttpRequest) -> HttpResponse:
    """Delete the aliases ticked in a list. Every one is checked first: one foreign alias and nothing is
    deleted (404)."""
    actor = _actor(request)
    dns = request.POST.getlist("dn")
    if not dns:
        messages.error(request, _("Select the aliases to delete."))
        return redirect(_path("alias_list"))
    if len(dns) > MAX_SELECTED:
        messages.error(request, _("Select at most %(n)d aliases at a time.") % {"n": MAX_SELECTED})
        return redirect(_path("alias_list"))
    picked = [_alias_or_404(actor, dn, Verb.DELETE) for dn in dns]
    done: list[str] = []
    for alias in picked:
        try:
            alias_delete(actor=actor, dn=alias.dn)
        except DirectoryError as exc:
            messages.error(request, f"{alias.address}: {exc}")
        else:
            done.append(alias.address)
    if done:
        messages.success(request, _("Deleted: %(names)s.") % {"names": ", ".join(done)})
    back = request.POST.get("next", "")
    # back to the list or search the form came from; never elsewhere (an open redirect)
    if not (
        back.startswith(_path("alias_list")) and url_has_allowed_host_and_scheme(back, allowed_hosts=None)
    ):
        back = _path("alias_list")
    return redirect(back)


# --- Create alias, edit (ALI-03) ---


def _service_error(form: AliasForm, exc: Exception) -> None:
    field = getattr(exc, "field", "")
    form.add_error(field if field in form.fields else None, str(exc))


@guard(Level.DELEGATED)
@require_http_methods(["GET", "POST"])
def alias_create_view(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    domains = [dit.domain_of(dn) or "" for dn in sorted(actor.roles.domains)]
    if not actor.roles.administrator and not domains:
        raise Http404("No domain to create aliases in.")
    # Open Membership ticked by default: most aliases (info@, sales@) are written to from outside
    initial = {"domain": domains[0] if len(domains) == 1 else "", "open_membership": True}
    form = AliasForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            domain = directory.check_domain(data["domain"])
            target = dit.aliases_dn(domain)
        except InvalidName as exc:
            _service_error(form, exc)
        else:
            # a domain the actor does not administer: 404, as for any foreign object
            require_alias(actor, Verb.CREATE, target)
            try:
                dn = alias_create(
                    actor=actor,
                    domain=domain,
                    name=data["name"],
                    members=data["members"],
                    owners=data["owners"],
                    open_membership=data["open_membership"],
                    restricted=data["restricted"],
                    description=data["description"],
                )
            except (InvalidName, DirectoryError) as exc:
                _service_error(form, exc)
            else:
                messages.success(
                    request, _("Alias %(address)s created.") % {"address": get_alias(dn).address}
                )
                return redirect(alias_url(dn))
    return render(
        request,
        "aliases/form.html",
        {
            "form": form,
            "title": _("Create alias"),
            "submit": _("Create"),
            "cancel": _path("alias_list"),
            "domains": domains,
        },
    )


@guard(Level.USER)
@require_http_methods(["GET", "POST"])
def alias_edit(request: HttpRequest) -> HttpResponse:
    """An alias's page: its address, members, owners and flags, changed here by whoever may."""
    actor = _actor(request)
    dn = request.GET.get("dn", "")
    alias = _alias_or_404(actor, dn, Verb.CHANGE)
    # Owners change members and flags; who owns the alias is the administrators' business.
    owner_only = not can_alias(actor, Verb.DELETE, alias.dn)
    initial = {
        "members": "\n".join(alias.members),
        "owners": ", ".join(owner_logins(alias.owners)),
        "open_membership": alias.open_membership,
        "restricted": alias.restricted,
        "description": alias.description,
    }
    form = AliasForm(request.POST or None, initial=initial, editing=True, owner_only=owner_only)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            alias_update(
                actor=actor,
                dn=alias.dn,
                members=data["members"],
                open_membership=data["open_membership"],
                restricted=data["restricted"],
                description=data["description"],
                owners=None if owner_only else data["owners"],
            )
        except (InvalidName, DirectoryError) as exc:
            _service_error(form, exc)
        else:
            messages.success(request, _("Alias %(address)s saved.") % {"address": alias.address})
            return redirect(alias_url(alias.dn))
    return render(
        request,
        "aliases/form.html",
        {
            "form": form,
            "alias": alias,
            "owners": owner_logins(alias.owners),
            "title": _("Alias %(address)s") % {"address": alias.address},
            "submit": _("Save"),
            "cancel": _path("alias_list"),
            "delete_url": _path("alias_delete") + "?" + urlencode({"dn": alias.dn}) if not owner_only else "",
        },
    )


# --- Delete (ALI-01 list, ALI-04 by name) ---


@guard(Level.DELEGATED)
@require_http_methods(["GET", "POST"])
def alias_delete_view(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    alias = _alias_or_404(actor, request.GET.get("dn", ""), Verb.DELETE)
    if request.method == "POST":
        try:
            alias_delete(actor=actor, dn=alias.dn)
        except DirectoryError as exc:
            messages.error(request, str(exc))
            return redirect(alias_url(alias.dn))
        messages.success(request, _("Alias %(address)s deleted.") % {"address": alias.address})
        return redirect(_path("alias_list"))
    return render(request, "aliases/delete.html", {"alias": alias, "cancel": alias_url(alias.dn)})


@guard(Level.DELEGATED)
@require_http_methods(["GET", "POST"])
def alias_delete_by_name(request: HttpRequest) -> HttpResponse:
    """Delete alias: enter its address and Delete. A foreign or unknown alias gets the same message."""
    actor = _actor(request)
    form = DeleteByNameForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            alias = find_alias(form.cleaned_data["address"])
        except InvalidName as exc:
            form.add_error("address", str(exc))
        else:
            if alias is None or not can_alias(actor, Verb.DELETE, alias.dn):
                # no difference between "does not exist" and "not yours"
                form.add_error("address", _("There is no alias of that address in your domains."))
            else:
                try:
                    alias_delete(actor=actor, dn=alias.dn)
                except DirectoryError as exc:
                    form.add_error(None, str(exc))
                else:
                    messages.success(request, _("Alias %(address)s deleted.") % {"address": alias.address})
                    return redirect(_path("alias_delete_by_name"))
    return render(
        request,
        "aliases/delete_by_name.html",
        {"form": form, "show_all": _path("alias_find") + "?" + urlencode({"scope": default_scope(actor)})},
    )


urlpatterns: list[URLPattern] = [
    path("", alias_list, name="alias_list"),
    path("find/", alias_find, name="alias_find"),
    path("create/", alias_create_view, name="alias_create"),
    path("alias/", alias_edit, name="alias_edit"),
    path("alias/delete/", alias_delete_view, name="alias_delete"),
    path("delete/", alias_delete_by_name, name="alias_delete_by_name"),
    path("delete-selected/", alias_delete_selected, name="alias_delete_selected"),
]
