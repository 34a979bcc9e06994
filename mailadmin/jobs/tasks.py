from __future__ import annotations

from celery import shared_task

from mailadmin.jobs.services import job_run


@shared_task(name="mailadmin.run_job", acks_late=False, ignore_result=True)
def run_job(job_id: str) -> None:
    job_run(job_id)
