from __future__ import annotations

from django.apps import AppConfig


class DisclaimersConfig(AppConfig):
    name = "mailqueue.disclaimers"
    label = "disclaimers"
    verbose_name = "Disclaimers"
    default_auto_field = "django.db.models.BigAutoField"
