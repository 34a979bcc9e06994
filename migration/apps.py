from __future__ import annotations

from django.apps import AppConfig


class MigrationConfig(AppConfig):
    name = "migration"
    label = "migration"
    verbose_name = "Tools: imports and migration"
    default_auto_field = "django.db.models.BigAutoField"
