"""The history of the Configuration menu: one row per change tried on a service (CFG-01)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ConfigChange(models.Model):
    class Outcome(models.TextChoices):
        APPLIED = "applied", _("applied")
        ROLLED_BACK = "rolled_back", _("rolled back")
        ROLLBACK_FAILED = "rollback_failed", _("rollback failed")

    service = models.CharField(_("service"), max_length=20, db_index=True)
    # the stored version the change made (applied) or tried to make (rolled back)
    version = models.PositiveIntegerField(_("version"))
    base_version = models.PositiveIntegerField(_("from version"))
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices)
    # what the administrator asked for: "edit", "restore 3", "adopt hand edit", "overwrite hand edit"
    kind = models.CharField(_("kind"), max_length=40, default="edit")
    # name -> {default, running, proposed} with passwords blanked; the full values stay in the menu's files
    rows = models.JSONField(_("parameters"), default=list)
    diff = models.TextField(_("diff"), blank=True, default="")
    smoke = models.TextField(_("smoke test"), blank=True, default="")
    reason = models.TextField(_("reason"), blank=True, default="")
    actor = models.CharField(_("by"), max_length=255)
    source_ip = models.GenericIPAddressField(_("from"), null=True, blank=True)
    created = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)
    seconds = models.FloatField(_("seconds"), default=0.0)

    class Meta:
        ordering = ("-created", "-id")
        indexes = [models.Index(fields=["service", "-created"])]

    def __str__(self) -> str:
        return f"{self.service} v{self.version} {self.outcome}"

    @property
    def applied(self) -> bool:
        return self.outcome == self.Outcome.APPLIED
