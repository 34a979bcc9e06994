"""Search accounts (ACC-09): simple or by attribute, paged and sorted by slapd; bulk actions as one job.

The search runs below a base the actor may see (`accounts.search.base_allowed`; a foreign base is a 404),
so slapd never returns anything else. Bulk actions carry the picked DNs or the search itself to a job,
which re-checks every object with the actor's roles as they are when it runs.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from accounts.jobs import BULK
from accounts.search import (
    ATTRIBUTES,
    KINDS,
    MATCHES,
    PAGE_SIZE,
    SORTS,
    AccountQuery,
    base_allowed,
    search_bases,
)
from accounts.selectors import account_search_count, account_search_page
from accounts.services.bulk import MAX_SELECTED, BulkAction, BulkOptions, check_options
from accounts.views.rows import search_rows
from mailadmin import directory
from mailadmin.actor import Actor
from mailadmin.directory import DirectoryError, InvalidName, dit
from mailadmin.forms import FastSelect
from mailadmin.jobs.services import job_start
from mailadmin.permissions import Level, Verb, can, guard

QUERY_FIELDS = ("mode", "text", "match", "attribute", "kind", "base", "sort")
ACTIONS: dict[str, Any] = {
    BulkAction.DISABLE.value: gettext_lazy("Disable"),
    BulkAction.ENABLE.value: gettext_lazy("Enable"),
    BulkAction.SET_QUOTA.value: gettext_lazy("Set quota"),
    BulkAction.WEB_ACCESS_ON.value: gettext_lazy("Change Access: allow Access WebClient"),
    BulkAction.WEB_ACCESS_OFF.value: gettext_lazy("Change Access: deny Access WebClient"),
    BulkAction.MOVE.value: gettext_lazy("Move"),
    BulkAction.DELETE.value: gettext_lazy("Delete (users only)"),
}


def _actor(request: HttpRequest) -> Actor:
    return request.actor  # type: ignore[attr-defined]


class SearchForm(forms.Form):
    mode = forms.ChoiceField(
        label=gettext_lazy("Search"),
        choices=[("simple", gettext_lazy("Simple search")), ("attribute", gettext_lazy("By attribute"))],
        required=False,
        widget=FastSelect,
    )
    text = forms.CharField(
        label=gettext_lazy("Name, login or address"), required=False, max_length=256, strip=False
    )
    match = forms.ChoiceField(
        label=gettext_lazy("Match"), choices=list(MATCHES.items()), required=False, widget=FastSelect
    )
    attribute = forms.ChoiceField(
        label=gettext_lazy("Attribute"),
        choices=[(k, label) for k, (label, _t) in ATTRIBUTES.items()],
        required=False,
        widget=FastSelect,
    )
    kind = forms.ChoiceField(
        label=gettext_lazy("Show"),
        choices=[(k, v[0]) for k, v in KINDS.items()],
        required=False,
        widget=FastSelect,
    )
    base = forms.ChoiceField(label=gettext_lazy("Search in"), widget=FastSelect)
    sort = forms.ChoiceField(
        label=gettext_lazy("Sort by"), choices=list(SORTS.items()), required=False, widget=FastSelect
    )

    def __init__(self, data: Any, actor: Actor) -> None:
        super().__init__(data)
        self.actor = actor
        choices = search_bases(actor)
        given = str(data.get("base", "")) if data else ""
        # A base from elsewhere (the account browser's "search here") is offered if the actor may use it.
        if given and base_allowed(actor, given) and not any(dit.same_dn(given, dn) for dn, _l in choices):
            choices.append((given, dit.rdn_value(given)))
        base_field = self.fields["base"]
        if isinstance(base_field, forms.ChoiceField):  # always; narrows the type
            base_field.choices = choices
        self.query: AccountQuery | None = None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        try:
            self.query = AccountQuery.build(data)
        except InvalidName as exc:
            self.add_error(exc.field if exc.field in self.fields else None, str(exc))
        return data


def _query_from(data: Any, actor: Actor) -> AccountQuery:
    """The query a request names; 404 if its base is not the actor's, InvalidName if a part is bad."""
    query = AccountQuery.build({name: data.get(name, "") for name in QUERY_FIELDS})
    if not base_allowed(actor, query.base):
        raise Http404("No such place.")
    return query


def _page(request: HttpRequest) -> int:
    raw = request.GET.get("page", "1")
    return int(raw) if raw.isdigit() and 0 < len(raw) < 7 and int(raw) > 0 else 1


def _kind_label(entry: directory.Entry) -> Any:
    if entry.has_object_class("mailContact"):
        return _("Contact")
    if entry.has_object_class("mailResource"):
        return _("Resource")
    return _("User")


@guard(Level.DELEGATED)
@require_GET
def account_search(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    bases = search_bases(actor)
    if not bases:
        raise Http404("Nothing to search.")
    if request.GET.get("base") and not base_allowed(actor, request.GET["base"]):
        raise Http404("No such place.")
    data = request.GET if request.GET else None
    form = SearchForm(data, actor) if data else SearchForm(None, actor)
    if data is None:
        form.initial = {"base": bases[0][0], "match": "starts", "sort": "cn"}
    context: dict[str, Any] = {"form": form, "actions": ACTIONS, "select_label": _("Select")}
    if data is not None and form.is_valid() and form.query is not None:
        query = form.query
        page = _page(request)
        try:
            window = account_search_page(query=query, page=page)
        except DirectoryError as exc:
            form.add_error(None, str(exc))
        else:
            pages = max(1, -(-window.total // PAGE_SIZE))
            params = query.to_params()
            detail = reverse("account_detail")
            rows = [
                {
                    "dn": e.dn,
                    "id": f"sel-{n}",  # a str: an int would go through number localization per row
                    "url": f"{detail}?{urlencode({'dn': e.dn})}",
                    "uid": e.first("uid"),
                    "cn": e.first("cn"),
                    "mail": e.first("mail"),
                    "kind": _kind_label(e),
                    "enabled": e.first("mailEnabled").upper() != "FALSE",
                    "quota": e.first("mailQuota"),
                }
                for n, e in enumerate(window.entries, 1)
            ]
            context.update(
                query=params,
                rows=rows,
                rows_html=search_rows(rows),
                total=window.total,
                page=page,
                pages=pages,
                prev_url=_url(params, page - 1) if page > 1 else "",
                next_url=_url(params, page + 1) if page < pages else "",
                sort_urls={key: _url({**params, "sort": key}, 1) for key in ("cn", "uid", "mail")},
                export_url=reverse("account_search_export") + "?" + urlencode(params),
            )
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "accounts/search.html#results", context)
    return render(request, "accounts/search.html", context)


@lru_cache(maxsize=1)
def _search_path() -> str:
    return reverse("account_search")  # five links per page; the URLconf does not change while running


def _url(params: dict[str, str], page: int) -> str:
    return _search_path() + "?" + urlencode({**params, "page": str(page)})


class BulkForm(forms.Form):
    action = forms.ChoiceField(label=gettext_lazy("Action"), choices=list(ACTIONS.items()))
    apply_to = forms.ChoiceField(
        label=gettext_lazy("Apply to"),
        choices=[("selected", gettext_lazy("Selected")), ("all", gettext_lazy("All matching this search"))],
    )
    quota_kib = forms.IntegerField(
        label=gettext_lazy("Set quota"), required=False, min_value=0, max_value=2**53, help_text="KiB"
    )
    target = forms.CharField(label=gettext_lazy("Move to"), required=False, max_length=1024)
    delete_mailboxes = forms.BooleanField(label=gettext_lazy("Also delete mailboxes"), required=False)


def _job_domains(actor: Actor, dns: list[str], query: AccountQuery | None) -> list[str]:
    # Only domains the actor may see: a tampered DN must not make a job visible to another domain's admins.
    if query is not None:
        return [d for d in [dit.domain_of(query.base)] if d]
    return sorted({d for dn in dns if can(actor, Verb.VIEW, dn) and (d := dit.domain_of(dn))})


@guard(Level.DELEGATED)
@require_POST
def account_search_bulk(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    try:
        query = _query_from(request.POST, actor)
    except InvalidName as exc:
        messages.error(request, str(exc))
        return redirect("account_search")
    back = _url(query.to_params(), 1)
    form = BulkForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
        return redirect(back)
    data = form.cleaned_data
    action = BulkAction(data["action"])
    options = BulkOptions(
        quota_kib=data["quota_kib"],
        target_dn=str(data["target"] or "").strip(),
        delete_mailboxes=bool(data["delete_mailboxes"]) and action is BulkAction.DELETE,
    )
    try:
        check_options(action, options)
    except InvalidName as exc:
        messages.error(request, str(exc))
        return redirect(back)
    every = data["apply_to"] == "all"
    dns = [dn for dn in request.POST.getlist("dn") if dn][: MAX_SELECTED + 1]
    if not every and not dns:
        messages.error(request, _("Select at least one entry, or choose all matching this search."))
        return redirect(back)
    if len(dns) > MAX_SELECTED:
        messages.error(
            request,
            _("Select at most %(n)d entries, or choose all matching this search.") % {"n": MAX_SELECTED},
        )
        return redirect(back)
    count = account_search_count(query=query) if every else len(dns)
    if action is BulkAction.DELETE and request.POST.get("confirm") != "yes":
        return render(
            request,
            "accounts/search_confirm.html",
            {"count": count, "options": options, "post": _hidden_fields(request), "back": back},
        )
    params: dict[str, Any] = {
        "action": action.value,
        "quota_kib": options.quota_kib,
        "target_dn": options.target_dn,
        "delete_mailboxes": options.delete_mailboxes,
    }
    if every:
        params["query"] = query.to_params()
    else:
        params["dns"] = dns
    job = job_start(
        actor=actor,
        kind=BULK,
        params=params,
        domains=_job_domains(actor, dns, None if not every else query),
        # What another administrator's scope must cover to read or cancel it: every entry named, or the base.
        scopes=[query.base] if every else dns,
    )
    messages.success(
        request, _("Started: %(action)s on %(n)d entries.") % {"action": ACTIONS[action.value], "n": count}
    )
    return redirect("job_detail", job_id=job.pk)


def _hidden_fields(request: HttpRequest) -> list[tuple[str, str]]:
    """Everything the first POST carried, to send again with the confirmation."""
    keep = (*QUERY_FIELDS, "action", "apply_to", "quota_kib", "target", "delete_mailboxes", "dn")
    return [(name, value) for name in keep for value in request.POST.getlist(name)]


urlpatterns: list[URLPattern] = [
    path("search/", account_search, name="account_search"),
    path("search/bulk/", account_search_bulk, name="account_search_bulk"),
]
