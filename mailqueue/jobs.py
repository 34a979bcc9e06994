"""Job kind of the mail queue: a bulk action (Hold, Release, Requeue, Delete, Flush) with a progress bar.

Thin: the person's roles are read again from the directory, the ids or the filter are checked again by the
service (against the queue as it is when the job runs), and the log says what Postfix reported.
"""

from __future__ import annotations

from typing import Any

from accounts.services.bulk import actor_for_job
from mailadmin.jobs.services import JobContext, job_kind
from mailqueue.selectors import QueueFilter
from mailqueue.services import SERVICES, QueueAction

QUEUE_ACTION = "mailqueue.action"


@job_kind(QUEUE_ACTION, "Mail queue action")
def queue_action(ctx: JobContext) -> dict[str, Any]:
    params = ctx.job.params if isinstance(ctx.job.params, dict) else {}
    actor = actor_for_job(ctx.job.created_by, ctx.job.created_by_dn)
    action = QueueAction(str(params.get("action")))
    ids = params.get("ids")
    flt = params.get("filter")
    if isinstance(ids, list):
        named: dict[str, Any] = {"ids": [str(i) for i in ids]}
    elif isinstance(flt, dict):
        named = {"flt": QueueFilter.from_params(flt)}
    else:
        raise ValueError("The job names no messages.")
    ctx.check_cancel()
    ctx.log(f"{action.value} as {actor.username} ({actor.roles.label})")
    report = SERVICES[action](actor=actor, tick=lambda done, total: ctx.progress(done, total), **named)
    lines = report.lines(limit=200)
    if lines:
        ctx.log("\n".join(lines))  # one log row: a row per message costs more than postsuper itself
    ctx.log(f"Done: {len(report.done)} message(s); {len(report.not_changed)} not changed.")
    if report.not_changed:
        ctx.log(
            "Not changed (already in that state, or left the queue): " + ", ".join(report.not_changed[:200]),
            "warning",
        )
    for warning in report.warnings[:50]:
        ctx.log(warning, "warning")
    return report.to_json()
