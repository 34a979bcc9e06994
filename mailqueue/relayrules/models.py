"""The SMTP relay rules, in the order the policy service tries them (DLV-04)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from mailqueue.relayrules.engine import Action, Event, Rule


class RelayRule(models.Model):
    position = models.PositiveIntegerField(_("position"), db_index=True)
    event = models.CharField(_("event"), max_length=20, choices=[(e.value, e.value) for e in Event])
    pattern = models.CharField(_("pattern"), max_length=255)
    action = models.CharField(_("action"), max_length=10, choices=[(a.value, a.value) for a in Action])
    text = models.CharField(_("text"), max_length=200, blank=True, default="")
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("position", "id")

    def __str__(self) -> str:
        return f"{self.position}: {self.event} {self.pattern} -> {self.action}"

    def to_rule(self) -> Rule:
        return Rule.make(
            id=self.pk or 0,
            position=self.position,
            event=self.event,
            pattern=self.pattern,
            action=self.action,
            text=self.text,
        )
