"""Waiting for jobs the way a person watches the job page: until the row says it has finished."""

from __future__ import annotations

import time

from mailadmin.jobs.models import Job


def wait_finished(job_id: str, timeout: float = 120) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = Job.objects.get(pk=job_id)
        if job.finished:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish: {Job.objects.get(pk=job_id).state}")


def job_of(response: object) -> Job:
    """The job a view redirected to (`/tools/jobs/<id>/`), once it has finished."""
    location = response["Location"]  # type: ignore[index]
    assert location.startswith("/tools/jobs/"), location
    return wait_finished(location.rstrip("/").split("/")[-1])
