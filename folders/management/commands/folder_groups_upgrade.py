"""`manage.py folder_groups_upgrade [--dry-run]`: rewrite `group:<DN>` ACL entries to `group:<entryUUID>`.

Run once after deploying an imapd.conf that names groups by entryUUID (docs/decisions/0007). Exit status 0
when every entry was rewritten, 1 when some failed or name a container that no longer exists.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from folders.upgrade import folder_groups_upgrade
from mailadmin.actor import Actor
from mailadmin.directory import DirectoryError
from mailadmin.imap import ImapError


class Command(BaseCommand):
    help = (
        "Rewrite folder permissions for groups named by DN (group:<DN>) to the container's entryUUID "
        "(group:<uuid>), which survives renames and moves."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="only list what would be rewritten")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = folder_groups_upgrade(
                actor=Actor.system("folder_groups_upgrade"),
                dry_run=bool(options["dry_run"]),
                say=self.stdout.write,
            )
        except (ImapError, DirectoryError) as exc:
            raise CommandError(str(exc)) from exc
        verb = "would rewrite" if options["dry_run"] else "rewritten"
        self.stdout.write(
            f"{verb}: {len(report.converted)}, no such container: {len(report.unresolved)}, "
            f"failed: {len(report.failed)}"
        )
        for mailbox, who, error in report.failed:
            self.stderr.write(f"{mailbox}: {who}: {error}")
        if report.unresolved or report.failed:
            raise SystemExit(1)
