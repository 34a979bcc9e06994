from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from mailadmin import preflight


class Command(BaseCommand):
    help = "Installation checks: host name / FQDN sanity, and which process holds each port we need."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--expect-free",
            action="store_true",
            help="fail if a needed port is in use (before the first start)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        problems = 0
        for finding in preflight.hostname_findings():
            style = self.style.SUCCESS if finding.ok else self.style.WARNING
            self.stdout.write(style(f"{'ok     ' if finding.ok else 'problem'} {finding.message}"))
            problems += not finding.ok
        busy = []
        for use in preflight.port_uses():
            if use.in_use:
                holder = f"{use.process or '?'} (pid {use.pid or '?'})"
                self.stdout.write(f"port {use.port:>5} {use.service}: in use by {holder}")
                busy.append(use)
            else:
                self.stdout.write(f"port {use.port:>5} {use.service}: free")
        if options["expect_free"] and busy:
            ports = ", ".join(f"{u.port} ({u.process or '?'})" for u in busy)
            raise CommandError(f"Can't start until the following ports are available: {ports}")
        if problems:
            self.stdout.write(self.style.WARNING(f"{problems} host name problem(s)"))
