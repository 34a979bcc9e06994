"""The backup catalogue: one row per file in settings.BACKUP_DIR, written once the file is complete (renamed
into place). The file is the truth; the row caches its manifest for the pages."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Backup(models.Model):
    class Kind(models.TextChoices):
        CONFIG = "cfg", _("configuration")
        LDAP = "ldap", _("LDAP")
        MAIL = "mail", _("mail")
        DOMAIN = "domain", _("domain set")

    class Origin(models.TextChoices):
        MADE = "made", _("made here")
        UPLOADED = "uploaded", _("uploaded")

    name = models.CharField(max_length=255, unique=True)  # the file's name inside BACKUP_DIR
    kind = models.CharField(max_length=8, choices=Kind.choices, db_index=True)
    # What the set holds: "" = everything of its kind; a domain name; or "users" (see manifest["users"]).
    scope = models.CharField(max_length=255, blank=True)
    # ",a.test,b.test," — the domains whose data the set holds (mail and domain sets), for delegated views.
    domains = models.CharField(max_length=2048, blank=True)
    compression = models.CharField(max_length=8)
    size = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64)
    manifest = models.JSONField(default=dict)
    origin = models.CharField(max_length=8, choices=Origin.choices, default=Origin.MADE)
    created_at = models.DateTimeField(db_index=True)  # when the backup was taken (the manifest's time)
    added_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name

    def domain_list(self) -> list[str]:
        return [d for d in self.domains.split(",") if d]


class Retention(models.Model):
    """How many backups of one kind are kept: the last `keep_last` and anything younger than `keep_days`
    (0 = that rule is off; both 0 = keep everything). Applied after each successful backup of the kind."""

    kind = models.CharField(max_length=8, choices=Backup.Kind.choices, unique=True)
    keep_last = models.PositiveIntegerField(default=0)
    keep_days = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.kind}: last {self.keep_last}, {self.keep_days} days"
