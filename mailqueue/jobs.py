"""Job kind of the mail queue: a bulk action (Hold, Release, Requeue, Delete, Flush) with a progress bar.

Thin: the person's roles are read again from the directory; a filter is evaluated against the queue as it is
when the job runs; ids are checked again when the person is a domain administrator (their scope) or when the
job starts more than a minute after the request that checked them; the log says what Postfix reported.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.utils import timezone

from mailadmin.jobs.services import JobContext, actor_for_job, job_kind
from mailqueue.selectors import QueueFilter
from mailqueue.services import QueueAction, queue_act

QUEUE_ACTION = "mailqueue.action"
RECHECK_AFTER = timedelta(seconds=60)


@job_kind(QUEUE_ACTION, "Mail queue action")
def queue_action(ctx: JobContext) -> dict[str, Any]:
    params = ctx.job.params if isinstance(ctx.job.params, dict) else {}
    actor = actor_for_job(ctx.job.created_by, ctx.job.created_by_dn)
    action = QueueAction(str(params.get("action")))
    ids = params.get("ids")
    flt = params.get("filter")
    if isinstance(ids, list):
        named: dict[str, Any] = {
            "ids": [str(i) for i in ids],
            "skip_missing": params.get("skip_missing") is True,
            # The request checked these ids against the queue just before it made the job; a job that starts
            # later (a busy worker) checks them again.
            "recheck": timezone.now() - ctx.job.created_at > RECHECK_AFTER,
        }
    elif isinstance(flt, dict):
        named = {"flt": QueueFilter.from_params(flt)}
    else:
        raise ValueError("The job names no messages.")
    ctx.check_cancel()
    ctx.log(f"{action.value} as {actor.username} ({actor.roles.label})")
    report = queue_act(actor=actor, action=action, tick=_throttled(ctx), **named)
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


def _throttled(ctx: JobContext, every: float = 0.5) -> Callable[[int, int | None], None]:
    """Progress for the bar, written at most every `every` seconds (each write is a database update; a
    10,000-message Hold takes well under a second), and always when the work is done."""
    last = [-every]

    def tick(done: int, total: int | None) -> None:
        now = time.monotonic()
        if now - last[0] >= every or (total is not None and done >= total):
            last[0] = now
            ctx.progress(done, total)

    return tick
