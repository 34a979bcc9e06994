from __future__ import annotations

from django.db import models


class AuditEntry(models.Model):
    """One change made through a service: who, what, when, from where, before and after."""

    when = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.CharField(max_length=255, db_index=True)
    actor_dn = models.CharField(max_length=1024, blank=True)
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    action = models.CharField(max_length=100, db_index=True)  # e.g. "user_create", "queue_hold"
    target = models.CharField(max_length=1024, blank=True)  # a DN, a queue id, a file path
    # The target's normalized DN (dit.normalize_dn) when it is a DN, else "": a group administrator's view
    # is "equal to or ending with ,<group>" on this column.
    target_key = models.CharField(max_length=1024, blank=True, db_index=True)
    # Lower-cased domain names the change belongs to, comma-framed (",a.test,b.test,") so a domain
    # administrator's view is one indexed-friendly "contains" filter.
    domains = models.CharField(max_length=1024, blank=True, db_index=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    ok = models.BooleanField(default=True)
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["-when", "-id"]
        indexes = [models.Index(fields=["action", "-when"])]

    def __str__(self) -> str:
        return f"{self.when:%Y-%m-%d %H:%M:%S} {self.actor} {self.action} {self.target}"

    @property
    def domain_list(self) -> list[str]:
        return [d for d in self.domains.split(",") if d]
