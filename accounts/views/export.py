"""Export CSV: the users of an account search or of a container (and below), in the CSV import's columns
(migration/csv_export.py), streamed as the directory is read page by page.

The scope is checked before the first byte: a search base or container outside the actor's area is a 404,
whether it exists or not.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from django.http import Http404, HttpRequest, StreamingHttpResponse
from django.urls import URLPattern, path
from django.views.decorators.http import require_GET

from accounts.views.search import QUERY_FIELDS
from mailadmin.actor import Actor
from mailadmin.directory import DirectoryNotFound, InvalidName, dit
from mailadmin.permissions import Level, guard
from migration.selectors import export_accounts

_FILENAME_UNSAFE = re.compile(r"[^a-z0-9.-]+")


def _download(chunks: Iterator[bytes], name: str) -> StreamingHttpResponse:
    slug = _FILENAME_UNSAFE.sub("-", name.lower()).strip("-.")[:60] or "accounts"
    response = StreamingHttpResponse(chunks, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="accounts-{slug}.csv"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@guard(Level.DELEGATED)
@require_GET
def account_search_export(request: HttpRequest) -> StreamingHttpResponse:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    query = {name: request.GET.get(name, "") for name in QUERY_FIELDS}
    try:
        chunks = export_accounts(actor=actor, query=query)
    except (InvalidName, DirectoryNotFound) as exc:
        raise Http404("No such search.") from exc
    return _download(chunks, dit.domain_of(query["base"]) or "search")


@guard(Level.DELEGATED)
@require_GET
def container_export(request: HttpRequest) -> StreamingHttpResponse:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    dn = request.GET.get("dn", "")
    if not dn or len(dn) > 1024:
        raise Http404("No such object.")
    try:
        chunks = export_accounts(actor=actor, container_dn=dn)
    except (InvalidName, DirectoryNotFound) as exc:
        raise Http404("No such object.") from exc
    return _download(chunks, dit.rdn_value(dn))


urlpatterns: list[URLPattern] = [
    path("search/export.csv", account_search_export, name="account_search_export"),
    path("browser/export.csv", container_export, name="container_export"),
]
