from __future__ import annotations

from django.apps import AppConfig


class MailadminConfig(AppConfig):
    name = "mailadmin"
    verbose_name = "mailadmin"
