from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from mailadmin.checks import CHECKS, run_check


class Command(BaseCommand):
    help = "Check the mail system: slapd and schema, Postfix config and LDAP tables, Cyrus, Redis, DB."

    def handle(self, *args: Any, **options: Any) -> None:
        failed = 0
        for name, check in CHECKS:
            result = run_check(name, check)
            style = self.style.SUCCESS if result.ok else self.style.ERROR
            self.stdout.write(style(f"{'ok    ' if result.ok else 'FAILED'} {name}: {result.message}"))
            failed += not result.ok
        if failed:
            raise CommandError(f"{failed} check(s) failed")
