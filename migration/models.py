"""Directory imports (TLS-03, TLS-04, CSV): one ImportRun per uploaded file, one ImportRow per entry in it.

The rows are the report: what the check decided for each entry (accepted or refused, and why) and, after
the confirmed run, what happened (created, or failed and why). Passwords are never stored here: the job
reads them again from the upload, which stays in the run's own directory (mode 0700, files 0600) until the
run ends, is discarded or expires (migration/pipeline.py).
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from mailadmin.jobs.models import Job


class ImportRun(models.Model):
    class Status(models.TextChoices):
        CHECKING = "checking", _("checking the file")
        READY = "ready", _("checked, waiting for confirmation")
        REFUSED = "refused", _("file refused")
        RUNNING = "running", _("creating accounts")
        DONE = "done", _("done")
        CANCELLED = "cancelled", _("cancelled")
        FAILED = "failed", _("failed")
        DISCARDED = "discarded", _("discarded")
        EXPIRED = "expired", _("expired unconfirmed")

    # The upload is gone in these: nothing more can be created from the run.
    ENDED = (Status.REFUSED, Status.DONE, Status.CANCELLED, Status.FAILED, Status.DISCARDED, Status.EXPIRED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=16)  # a key of migration.pipeline.PARSERS: "ldif", "csv", "shadow"
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CHECKING, db_index=True)
    filename = models.CharField(max_length=255, blank=True)  # as the browser named it, for display only
    size = models.BigIntegerField(default=0)
    digest = models.CharField(max_length=64, blank=True)  # sha256 of the upload(s), checked before creating
    container_dn = models.CharField(max_length=1024)  # the container chosen in the form
    options = models.JSONField(default=dict, blank=True)  # migration.pipeline.Options as JSON
    created_by = models.CharField(max_length=255)
    created_by_dn = models.CharField(max_length=1024, blank=True)
    # Same framing as jobs and the audit log (",a.test,"), and the DN the run touches (its container).
    domains = models.CharField(max_length=1024, blank=True)
    scope = models.CharField(max_length=1024, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)  # why the whole file was refused, or why the run stopped
    total = models.PositiveIntegerField(default=0)
    accepted = models.PositiveIntegerField(default=0)
    refused = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    check_job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    create_job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} import {self.filename} ({self.status})"

    @property
    def ended(self) -> bool:
        return self.status in self.ENDED

    @property
    def not_done(self) -> int:
        """Accepted entries that were not created (yet): all of them before the run, none after a full one."""
        return max(0, self.accepted - self.created - self.failed)


class ImportRow(models.Model):
    class Verdict(models.TextChoices):
        ACCEPTED = "accepted", _("will be created")
        REFUSED = "refused", _("refused")
        CREATED = "created", _("created")
        FAILED = "failed", _("failed")

    run = models.ForeignKey(ImportRun, on_delete=models.CASCADE, related_name="rows")
    position = models.PositiveIntegerField()  # the entry's place in the parser's output, from 0
    where = models.CharField(max_length=64)  # "entry 3 (line 40)", "row 7"
    uid = models.CharField(max_length=64, blank=True)
    verdict = models.CharField(max_length=16, choices=Verdict.choices)
    reason = models.TextField(blank=True)
    dn = models.CharField(max_length=1024, blank=True)  # where the account is (to be) created

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["run", "position"], name="import_row_position")]
        indexes = [models.Index(fields=["run", "verdict", "position"])]

    def __str__(self) -> str:
        return f"{self.where} {self.uid} {self.verdict}"
