from __future__ import annotations

from django.apps import AppConfig


class BackupConfig(AppConfig):
    name = "backup"
    label = "backup"
    verbose_name = "Tools: backup & restore, scheduled tasks, Cyrus recovery"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Register the job kinds: backups and restores, the scheduled housekeeping, Cyrus recovery.
        from backup import jobs  # noqa: F401
        from backup.recovery import jobs as recovery_jobs  # noqa: F401
        from backup.schedules import jobs as schedule_jobs  # noqa: F401
