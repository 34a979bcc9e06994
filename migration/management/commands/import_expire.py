from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from migration.pipeline import import_expire


class Command(BaseCommand):
    help = (
        "End the imports nobody confirmed within MAILADMIN_IMPORT_KEEP_HOURS and delete their uploads "
        "(and uploads no import owns). Each new upload does this too; run it from cron on a quiet console."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        expired = import_expire()
        self.stdout.write(f"{expired} import(s) expired")
