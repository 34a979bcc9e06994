from __future__ import annotations

from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "mailadmin.jobs"
    label = "jobs"
    verbose_name = "Jobs"

    def ready(self) -> None:
        # Register the job kinds that ship with the console.
        from mailadmin.jobs import checkstack  # noqa: F401
