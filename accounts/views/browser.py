"""Account browser (ACC-01): domains → organizations → groups → users, resources and contacts.

Both lists of a container page on the server: its child containers and the objects inside it are VLV windows
(`accounts.selectors.container_children` / `container_objects`, page N of M, sorted by slapd), so no request
reads more than one page. Counts are
made for the children on the visible page only. With htmx, paging swaps just the list it belongs to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, URLPattern, path, reverse
from django.utils.http import urlencode
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from accounts.selectors import (
    CHILD_ATTRS,
    OBJECT_SORTS,
    WindowPage,
    ancestors,
    container_children,
    container_objects,
    count_kinds_capped,
    get_container,
    is_default_organization,
    kind_of,
    may_move,
    ranks_of,
    scope_roots,
)
from accounts.selectors import OBJECT_ATTRS as OBJECT_ATTRS  # the list's attributes, named here before
from accounts.views.rows import object_rows
from mailadmin import directory
from mailadmin.actor import Actor
from mailadmin.directory import DirectoryNotFound, dit
from mailadmin.permissions import Kind, Level, Verb, can, guard, require

MAX_PAGE_NUMBER = 1_000_000
CHILD_COUNTS = {
    Kind.DOMAIN: (Kind.ORGANIZATION, Kind.GROUP, Kind.USER, Kind.RESOURCE, Kind.CONTACT),
    Kind.ORGANIZATION: (Kind.GROUP, Kind.USER, Kind.RESOURCE, Kind.CONTACT),
    Kind.GROUP: (Kind.GROUP, Kind.USER, Kind.RESOURCE, Kind.CONTACT),
}
KIND_LABELS = {
    Kind.DOMAIN: gettext_lazy("Domain"),
    Kind.ORGANIZATION: gettext_lazy("Organization"),
    Kind.GROUP: gettext_lazy("Group"),
    Kind.USER: gettext_lazy("User"),
    Kind.RESOURCE: gettext_lazy("Resource"),
    Kind.CONTACT: gettext_lazy("Contact"),
}
COUNT_LABELS = {
    Kind.ORGANIZATION: gettext_lazy("Organizations"),
    Kind.GROUP: gettext_lazy("Groups"),
    Kind.USER: gettext_lazy("Users"),
    Kind.RESOURCE: gettext_lazy("Resources"),
    Kind.CONTACT: gettext_lazy("Contacts"),
}


def url_for(names: tuple[str, ...], **query: str) -> str | None:
    """The first of `names` that is a registered URL, with `query`; None if none is (a page another part
    of the console has not built yet is linked once it exists)."""
    for name in names:
        try:
            base = reverse(name)
        except NoReverseMatch:
            continue
        return f"{base}?{urlencode(query)}" if query else base
    return None


def browser_url(dn: str = "", **query: str) -> str:
    params = {"dn": dn, **query} if dn else query
    return reverse("account_browser") + (f"?{urlencode(params)}" if params else "")


def object_url(dn: str, kind: Kind | None) -> str | None:
    if kind is Kind.CONTACT:
        return url_for(("contact_detail", "account_detail"), dn=dn)
    if kind in (Kind.USER, Kind.RESOURCE):
        return url_for(("user_detail", "account_detail"), dn=dn)
    return browser_url(dn)


@dataclass
class Pager:
    page: int
    pages: int
    total: int
    prev_url: str | None = None
    next_url: str | None = None


@dataclass
class Listing:
    rows: list[dict[str, Any]] = field(default_factory=list)
    pager: Pager | None = None

    @property
    def rows_html(self) -> SafeString:
        return object_rows(self.rows)


def _page_number(request: HttpRequest, name: str) -> int:
    raw = request.GET.get(name, "1")
    return min(int(raw), MAX_PAGE_NUMBER) if raw.isascii() and raw.isdigit() and int(raw) > 0 else 1


def _pager(request: HttpRequest, window: WindowPage, param: str) -> Pager:
    page, pages = window.page, window.pages
    kept = ("dn", "page", "cpage", "sort")
    query = {k: request.GET[k] for k in kept if k in request.GET}

    def link(n: int) -> str:
        return reverse("account_browser") + "?" + urlencode({**query, param: str(n)})

    return Pager(
        page,
        pages,
        window.total,
        link(page - 1) if page > 1 else None,
        link(page + 1) if page < pages else None,
    )


def _children(request: HttpRequest, actor: Actor, base: str, kind: Kind | None) -> Listing:
    window = container_children(base=base, kind=kind, page=_page_number(request, "cpage"))
    rows = []
    for entry in window.entries:
        child_kind = kind_of(entry)
        if child_kind is None or not can(actor, Verb.VIEW, entry.dn):
            continue
        counts = count_kinds_capped(entry.dn, child_kind, CHILD_COUNTS[child_kind])
        rows.append(
            {
                "dn": entry.dn,
                "name": dit.rdn_value(entry.dn),
                "kind": KIND_LABELS[child_kind],
                "description": entry.first("description"),
                "private": entry.first("mailPrivate") == "TRUE",
                "url": browser_url(entry.dn),
                "counts": [(COUNT_LABELS[k], f"{n}+" if more else str(n)) for k, (n, more) in counts.items()],
            }
        )
    return Listing(rows, _pager(request, window, "cpage"))


def _objects(request: HttpRequest, actor: Actor, base: str) -> Listing:
    sort = request.GET.get("sort", "cn")
    window = container_objects(base=base, sort=sort, page=_page_number(request, "page"))
    ranks = ranks_of([e.dn for e in window.entries if not e.has_object_class("mailContact")])
    move = url_for(("entry_move",))
    rows = []
    for entry in window.entries:
        kind = kind_of(entry)
        may_move = move is not None and can(
            actor, Verb.MOVE, entry.dn, kind=kind, target_rank=ranks.get(entry.dn, 0)
        )
        rows.append(
            {
                "dn": entry.dn,
                "name": entry.first("cn") or entry.first("uid"),
                "uid": entry.first("uid"),
                "mail": entry.first("mail"),
                "kind": KIND_LABELS.get(kind, "") if kind else "",
                "disabled": entry.first("mailEnabled") == "FALSE",
                "url": object_url(entry.dn, kind),
                "move_url": url_for(("entry_move",), dn=entry.dn) if may_move else None,
            }
        )
    return Listing(rows, _pager(request, window, "page"))


def _crumbs(actor: Actor, dn: str) -> list[tuple[str, str]]:
    crumbs = [(_("Account browser"), browser_url())]
    for ancestor in ancestors(dn)[:-1]:
        if can(actor, Verb.VIEW, ancestor):  # a group administrator sees no crumb of the organization above
            crumbs.append((dit.rdn_value(ancestor), browser_url(ancestor)))
    return crumbs


def _actions(actor: Actor, dn: str, kind: Kind) -> list[tuple[str, str]]:
    """Buttons for the current container, each shown only if the server would allow it."""
    wanted: list[tuple[str, tuple[str, ...], dict[str, str], Verb, Kind]] = []
    if kind is Kind.DOMAIN:
        wanted.append(
            (
                _("Create Organization"),
                ("organization_create",),
                {"parent": dn},
                Verb.CREATE,
                Kind.ORGANIZATION,
            )
        )
    else:
        wanted += [
            (_("Create Group"), ("group_create",), {"parent": dn}, Verb.CREATE, Kind.GROUP),
            (_("Create User"), ("user_create",), {"parent": dn}, Verb.CREATE, Kind.USER),
            (_("Create Resource"), ("resource_create",), {"parent": dn}, Verb.CREATE, Kind.RESOURCE),
            (_("Create Contact"), ("contact_create",), {"parent": dn}, Verb.CREATE, Kind.CONTACT),
        ]
    wanted.append((_("Edit"), ("container_edit",), {"dn": dn}, Verb.CHANGE, kind))
    wanted.append((_("Export CSV"), ("container_export",), {"dn": dn}, Verb.VIEW, kind))
    if not (kind is Kind.ORGANIZATION and is_default_organization(dn)):
        if kind is not Kind.DOMAIN:
            wanted.append((_("Rename"), ("container_rename",), {"dn": dn}, Verb.CHANGE, kind))
        wanted.append((_("Delete"), ("container_delete",), {"dn": dn}, Verb.DELETE, kind))
    actions = []
    for label, names, query, verb, target_kind in wanted:
        url = url_for(names, **query)
        if url and can(actor, verb, dn, kind=target_kind):
            actions.append((label, url))
    # Moving a group renames everyone inside: the rank check needs a search, so it runs only if it matters.
    move = url_for(("entry_move",), dn=dn)
    if kind is Kind.GROUP and move and may_move(actor, dn, kind):
        actions.append((_("Move"), move))
    # catch-all and alias domains (aliases/views/addresses.py): administrators and this domain's admins
    addresses = url_for(("domain_addresses",), domain=dit.domain_of(dn) or "")
    if kind is Kind.DOMAIN and addresses and can(actor, Verb.MANAGE_ADMINS, dn, target_rank=2):
        actions.append((_("Catch-all and alias domains"), addresses))
    return actions


def _dn_or_404(dn: str) -> str:
    if len(dn) > 1024 or not directory.valid_dn(dn):
        raise Http404("No such object.")
    return dn


@guard(Level.DELEGATED)
@require_GET
def account_browser(request: HttpRequest) -> HttpResponse:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    dn = request.GET.get("dn", "")
    context: dict[str, Any] = {"crumbs": [], "actions": [], "container": None}
    if not dn and not actor.roles.administrator:
        roots = scope_roots(actor.roles.domains, actor.roles.groups)
        if len(roots) == 1:
            dn = roots[0]
        else:
            rows = [{"name": dit.rdn_value(r), "url": browser_url(r), "dn": r} for r in roots]
            context["roots"] = rows
            return render(request, "accounts/browser.html", context)
    if not dn:
        context["children"] = _children(request, actor, dit.domains_dn(), None)
        context["title"] = _("Domains")
        if can(actor, Verb.CREATE, dit.domains_dn(), kind=Kind.DOMAIN) and url_for(("domain_create",)):
            context["actions"] = [(_("Create Domain"), reverse("domain_create"))]
        return _render(request, context)

    _dn_or_404(dn)
    require(actor, Verb.VIEW, dn)
    try:
        entry, kind = get_container(dn, CHILD_ATTRS)
    except DirectoryNotFound as exc:
        raise Http404("No such object.") from exc
    context.update(
        title=dit.rdn_value(entry.dn),
        container={
            "dn": entry.dn,
            "kind": KIND_LABELS[kind],
            "description": entry.first("description"),
            "private": entry.first("mailPrivate") == "TRUE",
        },
        crumbs=_crumbs(actor, entry.dn),
        actions=_actions(actor, entry.dn, kind),
        children=_children(request, actor, entry.dn, kind),
        objects=_objects(request, actor, entry.dn) if kind is not Kind.DOMAIN else None,
        sort=request.GET.get("sort", "cn") if request.GET.get("sort") in OBJECT_SORTS else "cn",
    )
    return _render(request, context)


def _render(request: HttpRequest, context: dict[str, Any]) -> HttpResponse:
    part = request.GET.get("part")
    if getattr(request, "htmx", False) and part in ("children", "objects"):
        return render(request, f"accounts/browser.html#{part}", context)
    return render(request, "accounts/browser.html", context)


urlpatterns: list[URLPattern] = [
    path("browser/", account_browser, name="account_browser"),
]
