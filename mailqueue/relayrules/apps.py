from __future__ import annotations

from django.apps import AppConfig


class RelayRulesConfig(AppConfig):
    name = "mailqueue.relayrules"
    label = "relayrules"
    verbose_name = "SMTP relay rules"
    default_auto_field = "django.db.models.BigAutoField"
