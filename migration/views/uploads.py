"""Import accounts: the list of imports and the upload form of each kind (LDIF; CSV and shadow files when
their parsers are registered in migration.pipeline.PARSERS).

The upload view swaps Django's upload handlers for mailadmin.uploads.ImportUploadHandler before anything
reads the body, so it is exempt from the CSRF middleware (which reads the body to find the token) and runs
the CSRF check itself, right after the swap. The guard runs first: nobody who may not import gets a byte
of theirs stored.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from django.conf import settings
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods

from mailadmin.actor import Actor
from mailadmin.permissions import Level, guard
from mailadmin.uploads import ImportUploadHandler
from migration.forms import ImportForm
from migration.parsers import PARSERS, Parser
from migration.pipeline import import_start, remove_upload, run_dir, stored_digest
from migration.selectors import import_containers, visible_runs

PAGE_SIZE = 25


@guard(Level.DELEGATED)
@require_GET
def import_index(request: HttpRequest) -> HttpResponse:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    page = Paginator(visible_runs(actor), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "migration/index.html", {"page": page, "parsers": list(PARSERS.values())})


@guard(Level.DELEGATED)
@csrf_exempt  # the CSRF check runs in _upload, after the upload handler is in place
@require_http_methods(["GET", "POST"])
def import_new(request: HttpRequest, kind: str) -> HttpResponse:
    parser = PARSERS.get(kind)
    if parser is None:
        raise Http404("No such kind of import.")
    run_id = uuid4()
    handler = None
    if request.method == "POST":
        handler = ImportUploadHandler(
            request,
            directory=run_dir(run_id),
            slots=[slot.name for slot in parser.slots],
            max_bytes=int(settings.IMPORT_MAX_BYTES),
        )
        request.upload_handlers = [handler]
    started: list[bool] = []
    try:
        return _upload(request, parser, run_id, handler, started)
    finally:
        if not started:
            remove_upload(run_id)  # refused, invalid, or the CSRF check failed: nothing stays


@csrf_protect
def _upload(
    request: HttpRequest,
    parser: Parser,
    run_id: UUID,
    handler: ImportUploadHandler | None,
    started: list[bool],
) -> HttpResponse:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    containers = import_containers(actor)
    kwargs: dict[str, Any] = {"parser": parser, "actor": actor, "containers": containers}
    if request.method == "POST" and handler is not None:
        data, files = request.POST, request.FILES  # the body is read (into the run's directory) here
        too_big = int(settings.IMPORT_MAX_BYTES) if handler.too_big else 0
        form = ImportForm(data, files, too_big=too_big, **kwargs)
        if form.is_valid():
            stored = handler.stored
            run = import_start(
                actor=actor,
                run_id=run_id,
                kind=parser.kind,
                filename=", ".join(
                    stored[slot.name].name or "" for slot in parser.slots if slot.name in stored
                ),
                size=sum(upload.size or 0 for upload in stored.values()),
                digest=stored_digest(parser.kind, run_id),
                options=form.options(),
            )
            started.append(True)
            return redirect("import_run", run_id=run.pk)
    else:
        wanted = request.GET.get("container", "")
        form = ImportForm(initial={"container": wanted} if wanted else None, **kwargs)
    options = [form[name] for name in ImportForm.OPTIONS] + [form[name] for name in form.parser_fields]
    context = {
        "form": form,
        "parser": parser,
        "files": [form[slot.name] for slot in parser.slots] + [form["container"]],
        "options": options,
        "max_mib": int(settings.IMPORT_MAX_BYTES) // (1024 * 1024),
        "no_containers": containers == [],
    }
    return render(request, "migration/upload.html", context)
