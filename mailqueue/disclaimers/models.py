"""A disclaimer belongs to one directory object (user, group, organization or domain), named by its DN.

Kept in the console's database, not in LDAP: only the content filter reads it (through the file the console
publishes, mailqueue/mailfilter/snapshot.py), nothing else in the mail system needs it, and the directory
schema stays as it is. The DN is the link; a disclaimer whose object is gone is shown as such on the list."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Disclaimer(models.Model):
    class Kind(models.TextChoices):
        USER = "user", _("User")
        GROUP = "group", _("Group")
        ORGANIZATION = "organization", _("Organization")
        DOMAIN = "domain", _("Domain")

    owner_dn = models.CharField(max_length=1024)
    # normalised DN (mailadmin.directory.dit.normalize_dn): the key the filter looks up, one per object
    owner_key = models.CharField(max_length=1024, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    text = models.TextField(blank=True)
    html = models.TextField(blank=True)  # sanitised (nh3) before it is stored
    outbound_only = models.BooleanField(default=False)
    updated = models.DateTimeField(auto_now=True)
    updated_by = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ("owner_key",)

    def __str__(self) -> str:
        return self.owner_dn
