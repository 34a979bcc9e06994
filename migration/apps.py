from __future__ import annotations

from django.apps import AppConfig


class MigrationConfig(AppConfig):
    name = "migration"
    label = "migration"
    verbose_name = "Tools: imports and migration"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Register the mail archive import's job kind with mailadmin.jobs.
        from migration.archives import jobs  # noqa: F401
