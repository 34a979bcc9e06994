from __future__ import annotations

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        # Register the Accounts menu's job kinds (bulk actions, drift check) with mailadmin.jobs.
        from accounts import jobs  # noqa: F401
