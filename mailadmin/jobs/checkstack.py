"""The job "Check the mail system"."""

from __future__ import annotations

from typing import Any

from mailadmin.checks import CHECKS, run_check
from mailadmin.jobs.services import JobContext, job_kind


@job_kind("checkstack", "Check the mail system", schedulable=True)
def checkstack(ctx: JobContext) -> dict[str, Any]:
    ctx.progress(0, len(CHECKS))
    results: list[dict[str, Any]] = []
    for n, (name, check) in enumerate(CHECKS, 1):
        ctx.check_cancel()
        result = run_check(name, check)
        ctx.log(
            f"{'OK' if result.ok else 'FAILED'} {name}: {result.message}", "info" if result.ok else "error"
        )
        results.append({"name": name, "ok": result.ok, "message": result.message})
        ctx.progress(n)
    failed = [str(r["name"]) for r in results if not r["ok"]]
    if failed:
        raise RuntimeError("failed: " + ", ".join(failed))
    return {"checks": results}
