from __future__ import annotations

from django.apps import AppConfig


class MigrationConfig(AppConfig):
    name = "migration"
    label = "migration"
    verbose_name = "Tools: imports and migration"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Register the job kinds: the import pipeline's (check, create) and the mail archive import's.
        from migration import jobs  # noqa: F401
        from migration.archives import jobs as archive_jobs  # noqa: F401
