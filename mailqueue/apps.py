from __future__ import annotations

from django.apps import AppConfig


class MailQueueConfig(AppConfig):
    name = "mailqueue"
    label = "mailqueue"
    verbose_name = "Mail Delivery"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Register the queue's job kind (bulk actions) with mailadmin.jobs.
        from mailqueue import jobs  # noqa: F401
