"""Job kinds of the Cyrus recovery (registered by backup.apps). Thin: the work is in services.py."""

from __future__ import annotations

from typing import Any

from backup.recovery.selectors import KIND
from backup.recovery.services import recovery_run
from mailadmin.jobs.services import JobContext, job_kind


@job_kind(KIND, "Cyrus recovery")
def cyrus_recovery(ctx: JobContext) -> dict[str, Any]:
    return recovery_run(ctx)
