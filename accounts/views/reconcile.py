"""Drift check page (administrators): run the check as a job, show its findings, repair one kind as a job.

A check of a big server reads every account and asks Cyrus for every quota, so it never runs inside a
request: the page shows the findings of the latest finished check and starts new checks and repairs as jobs
(with a progress bar on the job page). Orphan mailboxes are deleted only by a separate, confirmed action.

Half-done operations come from the journal (the database, read at every visit): each is finished or undone
by a button, in the request (one operation is a handful of writes), with the result as a message.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.jobs import ORPHANS_DELETE, RECONCILE_REPAIR, RECONCILE_SCAN
from accounts.reconcile import JOURNAL_ACTIONS, REPAIRABLE, Findings, journal_repair, journal_scan
from mailadmin.actor import Actor
from mailadmin.directory import DirectoryError, InvalidName, check_domain, check_login, dit
from mailadmin.imap import ImapError
from mailadmin.jobs.models import Job
from mailadmin.jobs.services import job_start
from mailadmin.permissions import Level, guard

MAX_ORPHANS_PER_ACTION = 500


def _actor(request: HttpRequest) -> Actor:
    return request.actor  # type: ignore[attr-defined]


def _domain(value: str) -> str:
    """Optional domain scope: "" for the whole server; InvalidName for anything that is not a domain."""
    value = value.strip()
    return check_domain(value) if value else ""


@guard(Level.ADMIN)
@require_GET
def reconcile(request: HttpRequest) -> HttpResponse:
    last = Job.objects.filter(kind=RECONCILE_SCAN, state=Job.State.SUCCEEDED).order_by("-finished_at").first()
    running = Job.objects.filter(
        kind__in=(RECONCILE_SCAN, RECONCILE_REPAIR, ORPHANS_DELETE),
        state__in=(Job.State.PENDING, Job.State.RUNNING),
    ).first()
    findings = Findings.from_json(last.result) if last is not None and isinstance(last.result, dict) else None
    context: dict[str, Any] = {
        "last": last,
        "running": running,
        "findings": findings,
        "repairable": REPAIRABLE,
        "half_done": journal_scan(),
    }
    return render(request, "accounts/reconcile.html", context)


def _start(request: HttpRequest, kind: str, params: dict[str, Any], domain: str, what: str) -> HttpResponse:
    job = job_start(
        actor=_actor(request),
        kind=kind,
        params=params,
        domains=[domain] if domain else [],
        scopes=[dit.domain_dn(domain)] if domain else [],  # the whole server: administrators' only
    )
    messages.success(request, what)
    return redirect("job_detail", job_id=job.pk)


@guard(Level.ADMIN)
@require_POST
def reconcile_check(request: HttpRequest) -> HttpResponse:
    try:
        domain = _domain(request.POST.get("domain", ""))
    except InvalidName as exc:
        messages.error(request, str(exc))
        return redirect("reconcile")
    return _start(request, RECONCILE_SCAN, {"domain": domain}, domain, _("The drift check has started."))


@guard(Level.ADMIN)
@require_POST
def reconcile_repair(request: HttpRequest) -> HttpResponse:
    kind = request.POST.get("kind", "")
    try:
        domain = _domain(request.POST.get("domain", ""))
    except InvalidName as exc:
        messages.error(request, str(exc))
        return redirect("reconcile")
    if kind not in REPAIRABLE:
        messages.error(request, _("Choose what to repair."))
        return redirect("reconcile")
    return _start(
        request, RECONCILE_REPAIR, {"kind": kind, "domain": domain}, domain, _("The repair has started.")
    )


@guard(Level.ADMIN)
@require_POST
def reconcile_orphans(request: HttpRequest) -> HttpResponse:
    uids = request.POST.getlist("uid")[: MAX_ORPHANS_PER_ACTION + 1]
    try:
        chosen = sorted({check_login(uid, "uid") for uid in uids})
    except InvalidName as exc:
        messages.error(request, str(exc))
        return redirect("reconcile")
    if not chosen or len(chosen) > MAX_ORPHANS_PER_ACTION:
        messages.error(request, _("Choose between 1 and %(n)d mailboxes.") % {"n": MAX_ORPHANS_PER_ACTION})
        return redirect("reconcile")
    if request.POST.get("confirm") != "yes":
        messages.error(request, _("Tick the confirmation: deleting a mailbox destroys the mail in it."))
        return redirect("reconcile")
    return _start(
        request,
        ORPHANS_DELETE,
        {"uids": chosen},
        "",
        _("Deleting %(n)d mailboxes without an account.") % {"n": len(chosen)},
    )


@guard(Level.ADMIN)
@require_POST
def reconcile_journal(request: HttpRequest) -> HttpResponse:
    """Finish or undo one half-done operation of the journal."""
    action = request.POST.get("action", "")
    if action not in JOURNAL_ACTIONS:
        messages.error(request, _("Choose Finish or Undo."))
        return redirect("reconcile")
    try:
        report = journal_repair(
            actor=_actor(request), operation_id=request.POST.get("operation", ""), action=action
        )
    except (InvalidName, DirectoryError, ImapError) as exc:
        messages.error(request, str(exc))
        return redirect("reconcile")
    done = {"finish": _("Finished"), "undo": _("Undone")}[action]
    messages.success(
        request,
        _("%(done)s: %(kind)s of %(target)s (%(steps)s).")
        % {
            "done": done,
            "kind": report.kind,
            "target": report.target,
            "steps": ", ".join(report.steps) or _("no step was left"),
        },
    )
    return redirect("reconcile")


urlpatterns: list[URLPattern] = [
    path("reconcile/", reconcile, name="reconcile"),
    path("reconcile/check/", reconcile_check, name="reconcile_check"),
    path("reconcile/repair/", reconcile_repair, name="reconcile_repair"),
    path("reconcile/orphans/", reconcile_orphans, name="reconcile_orphans"),
    path("reconcile/journal/", reconcile_journal, name="reconcile_journal"),
]
