"""The journal of multi-step account operations (a user is an LDAP entry *and* a mailbox *and* folders).

No transaction spans slapd and Cyrus. Before its first step a service writes what it is about to do; after
each step it records that the step is done; on failure it undoes the done steps newest first and records
which it could undo. A row left `running` (the process died) or `failed` (an undo failed too) marks a
half-made object: pages show it as incomplete, never as done, and the drift check finishes or undoes it
(accounts/services/journal_repair.py) with what the row keeps in `data`.
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

    class Resolution(models.TextChoices):
        NONE = "", _("not repaired")
        FINISHED = "finished", _("finished by the drift check")
        UNDONE = "undone", _("undone by the drift check")

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
    # What finishing or undoing the steps needs after the process is gone: names, attributes, the values
    # before the change. Never a secret (a password step cannot be redone; its kind says so).
    data = models.JSONField(default=dict, blank=True)
    # An operation run inside another one's step (container_set_private inside domain_create): the outer
    # row answers for it, so only rows without a parent are shown as incomplete and repaired.
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    # The last sign of life (begin, each step, a repair's claim): a `running` row untouched for a while,
    # or one whose process recorded that it was interrupted, has nobody working on it any more.
    touched = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(max_length=16, choices=Resolution.choices, blank=True, default="")

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
