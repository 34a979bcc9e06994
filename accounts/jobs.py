"""Job kinds of the Accounts menu: bulk actions on search results, the drift check and its repairs.

Thin handlers: read the params, rebuild who is acting from the directory (never from the params' word about
roles), call the services, report progress. Registered by `accounts.apps.AccountsConfig.ready`.
"""

from __future__ import annotations

from typing import Any

from accounts import reconcile
from accounts.search import AccountQuery, base_allowed
from accounts.services.bulk import (
    BulkAction,
    BulkOptions,
    Tally,
    bulk_apply_one,
    check_options,
)
from mailadmin import directory
from mailadmin.actor import Actor
from mailadmin.directory import NO_ATTRS, InvalidName
from mailadmin.jobs.services import JobContext, actor_for_job, job_kind

BULK = "accounts.bulk"
RECONCILE_SCAN = "accounts.reconcile_scan"
RECONCILE_REPAIR = "accounts.reconcile_repair"
ORPHANS_DELETE = "accounts.orphans_delete"


def _actor(ctx: JobContext) -> Actor:
    return actor_for_job(ctx.job.created_by, ctx.job.created_by_dn)


def _params(ctx: JobContext) -> dict[str, Any]:
    params = ctx.job.params
    if not isinstance(params, dict):
        raise InvalidName("The job's parameters are unreadable.", "params")
    return params


def _targets(actor: Actor, params: dict[str, Any]) -> list[str]:
    """The DNs to act on: those picked on the page, or every match of the search (re-run now, with the
    base checked against the actor's current roles)."""
    if params.get("query"):
        query = AccountQuery.build(params["query"])
        if not base_allowed(actor, query.base):
            raise InvalidName("You may no longer search there.", "base")
        return [e.dn for e in directory.iter_paged(query.base, query.filter(), NO_ATTRS)]
    dns = params.get("dns")
    if not isinstance(dns, list) or not all(isinstance(dn, str) for dn in dns):
        raise InvalidName("The job names no objects.", "dns")
    return list(dict.fromkeys(dns))  # each object once, in the order given


@job_kind(BULK, "Bulk action on accounts")
def bulk(ctx: JobContext) -> dict[str, Any]:
    params = _params(ctx)
    actor = _actor(ctx)
    action = BulkAction(str(params.get("action")))
    quota = params.get("quota_kib")
    options = check_options(
        action,
        BulkOptions(
            quota_kib=quota if isinstance(quota, int) and not isinstance(quota, bool) else None,
            target_dn=str(params.get("target_dn") or ""),
            delete_mailboxes=params.get("delete_mailboxes") is True,
        ),
    )
    targets = _targets(actor, params)
    ctx.progress(0, len(targets))
    ctx.log(f"{action.value} on {len(targets)} object(s), as {actor.username} ({actor.roles.label})")
    tally = Tally.empty()
    for n, dn in enumerate(targets, 1):
        ctx.check_cancel()
        result = bulk_apply_one(actor=actor, action=action, dn=dn, options=options)
        tally.add(dn, result)
        if result.outcome.value != "changed":
            level = "error" if result.outcome.value in ("refused", "failed") else "warning"
            ctx.log(f"{result.outcome.value.upper()} {dn}: {result.message}", level)
        ctx.progress(n)
    summary = ", ".join(f"{count} {name}" for name, count in tally.counts.items() if count)
    ctx.log(f"Done: {summary or 'nothing to do'}.")
    if tally.counts["refused"] or tally.counts["failed"]:
        # Never shown as done when part of it was not: the job fails and says how much was changed.
        raise RuntimeError(
            f"{tally.counts['changed']} of {len(targets)} changed; {tally.counts['refused']} refused, "
            f"{tally.counts['failed']} failed (see the log)."
        )
    return tally.as_json()


def _domain_param(params: dict[str, Any]) -> str | None:
    domain = params.get("domain")
    return str(domain) if domain else None


@job_kind(RECONCILE_SCAN, "Drift check")
def reconcile_scan(ctx: JobContext) -> dict[str, Any]:
    domain = _domain_param(_params(ctx))
    findings = reconcile.reconcile_scan(domain=domain, tick=ctx.progress)
    for kind, count in findings.counts.items():
        ctx.log(f"{kind.replace('_', ' ')}: {count}", "warning" if count else "info")
    return findings.to_json()


@job_kind(RECONCILE_REPAIR, "Drift repair")
def reconcile_repair(ctx: JobContext) -> dict[str, Any]:
    params = _params(ctx)
    actor = _actor(ctx)
    if not actor.roles.administrator:
        raise InvalidName("Only administrators repair drift.", "actor")
    report = reconcile.reconcile_repair(
        actor=actor,
        kind=str(params.get("kind")),
        domain=_domain_param(params),
        tick=ctx.progress,
        say=ctx.log,
    )
    ctx.log(f"Repaired {len(report.fixed)}, failed {len(report.failed)}.")
    if report.failed:
        raise RuntimeError(f"{len(report.failed)} repair(s) failed (see the log).")
    return report.to_json()


@job_kind(ORPHANS_DELETE, "Delete orphan mailboxes")
def orphans_delete(ctx: JobContext) -> dict[str, Any]:
    params = _params(ctx)
    actor = _actor(ctx)
    if not actor.roles.administrator:
        raise InvalidName("Only administrators delete mailboxes without an account.", "actor")
    uids = params.get("uids")
    if not isinstance(uids, list) or not uids:
        raise InvalidName("No mailboxes were chosen.", "uids")
    report = reconcile.reconcile_delete_orphans(
        actor=actor, uids=[str(u) for u in uids], tick=ctx.progress, say=ctx.log
    )
    if report.failed:
        raise RuntimeError(f"{len(report.failed)} mailbox(es) kept (see the log).")
    return report.to_json()
