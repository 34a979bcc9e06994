"""`manage.py reconcile [--domain NAME] [--repair] [--delete-orphan UID ...]`: the drift check from a shell.

Exit status 0 when nothing is (left) wrong, 1 when drift remains: usable from cron or a monitoring check.
Orphan mailboxes are only deleted when named one by one with --delete-orphan.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.reconcile import (
    REPAIRABLE,
    Findings,
    reconcile_delete_orphans,
    reconcile_repair,
    reconcile_scan,
)
from mailadmin.actor import Actor
from mailadmin.directory import DirectoryError, InvalidName, check_domain
from mailadmin.imap import ImapError


class Command(BaseCommand):
    help = (
        "Compare LDAP accounts with Cyrus mailboxes and quotas, and role/group references with entries; "
        "--repair creates missing mailboxes, sets quotas from LDAP and removes stale references."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--domain", default="", help="check the accounts of one domain only")
        parser.add_argument("--repair", action="store_true", help="repair what can be repaired safely")
        parser.add_argument(
            "--delete-orphan",
            action="append",
            default=[],
            metavar="UID",
            help="delete the mailbox user/UID if no account has that login (repeatable; destroys its mail)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        actor = Actor.system("reconcile")
        try:
            domain = check_domain(options["domain"]) if options["domain"] else None
            findings = reconcile_scan(domain=domain)
            self._print(findings)
            if options["repair"]:
                for kind in REPAIRABLE:
                    if findings.counts[kind]:
                        report = reconcile_repair(actor=actor, kind=kind, domain=domain, say=self._say)
                        self.stdout.write(
                            f"{kind}: repaired {len(report.fixed)}, failed {len(report.failed)}"
                        )
            if options["delete_orphan"]:
                report = reconcile_delete_orphans(actor=actor, uids=options["delete_orphan"], say=self._say)
                self.stdout.write(f"orphan mailboxes: deleted {len(report.fixed)}, kept {len(report.failed)}")
            if options["repair"] or options["delete_orphan"]:
                findings = reconcile_scan(domain=domain)
                self.stdout.write("after:")
                self._print(findings)
        except (InvalidName, DirectoryError, ImapError) as exc:
            raise CommandError(str(exc)) from exc
        if not findings.clean:
            raise CommandError("drift found")

    def _say(self, text: str, level: str = "info") -> None:
        style = self.style.ERROR if level == "error" else self.style.WARNING if level == "warning" else str
        self.stdout.write(style(text))

    def _print(self, findings: Findings) -> None:
        scope = findings.domain or "the whole server"
        self.stdout.write(
            f"checked {scope}: {findings.accounts} mail accounts, {findings.mailboxes} mailboxes"
        )
        for item in findings.missing_mailboxes:
            self.stdout.write(f"missing mailbox: {item['uid']} ({item['dn']})")
        for uid in findings.orphan_mailboxes:
            self.stdout.write(f"orphan mailbox: user/{uid}")
        for item in findings.quota_mismatches:
            self.stdout.write(
                f"quota mismatch: {item['uid']} directory={item['ldap_kib']} cyrus={item['cyrus_kib']}"
            )
        for ref in findings.stale_references:
            self.stdout.write(
                f"stale reference: {ref['holder']} {ref['attr']}: {ref['value']} ({ref['why']})"
            )
        for kind, count in findings.counts.items():
            self.stdout.write(f"{kind}: {count}")
