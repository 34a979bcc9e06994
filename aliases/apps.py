from __future__ import annotations

from django.apps import AppConfig


class AliasesConfig(AppConfig):
    name = "aliases"
    label = "aliases"
    verbose_name = "Aliases"
    default_auto_field = "django.db.models.BigAutoField"
