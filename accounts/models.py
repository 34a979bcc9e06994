"""The journal of multi-step account operations (a user is an LDAP entry *and* a mailbox *and* folders).

No transaction spans slapd and Cyrus. Before its first step a service writes what it is about to do; after
each step it records that the step is done; on failure it undoes the done steps newest first and records
which it could undo. A row left `running` (the process died) or `failed` (an undo failed too) marks a
half-made object: pages show it as incomplete, never as done, and the drift check can finish or remove it.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


class Operation(models.Model):
    class State(models.TextChoices):
        RUNNING = "running", _("in progress")
        DONE = "done", _("done")
        UNDONE = "undone", _("failed, undone")
        FAILED = "failed", _("failed, partly undone")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=64)  # the service: "user_create"
    target = models.CharField(max_length=1024, db_index=True)  # the DN being made or changed
    actor = models.CharField(max_length=255, blank=True)
    planned = models.JSONField(default=list)  # step names, in the fixed order they run
    done = models.JSONField(default=list)  # steps completed, in order
    undone = models.JSONField(default=list)  # steps reverted after a failure, newest first
    state = models.CharField(max_length=16, choices=State.choices, default=State.RUNNING, db_index=True)
    error = models.TextField(blank=True)
    started = models.DateTimeField(auto_now_add=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started"]
        indexes = [models.Index(fields=["target", "-started"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.target} {self.state}"

    @property
    def remaining(self) -> list[str]:
        """Planned steps that never ran (for a failed row: those the failure stopped)."""
        return [step for step in self.planned if step not in self.done]

    @property
    def left_behind(self) -> list[str]:
        """Done steps whose undo did not succeed: what exists although the operation failed."""
        return [step for step in self.done if step not in self.undone]

    @property
    def incomplete(self) -> bool:
        return self.state in (self.State.RUNNING, self.State.FAILED)
