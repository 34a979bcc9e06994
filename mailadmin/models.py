from __future__ import annotations

from django.conf import settings
from django.db import models


class AccountState(models.Model):
    """Console-side state of an account that logs in. The account itself lives in LDAP.

    `session_epoch` goes up when the password changes: sessions opened before that are ended."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="state")
    dn = models.CharField(max_length=1024, blank=True)
    session_epoch = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return self.dn or str(self.user_id)
