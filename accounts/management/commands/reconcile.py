"""`manage.py reconcile [--domain NAME] [--repair] [--delete-orphan UID ...] [--journal finish|undo
[--operation ID ...]]`: the drift check from a shell.

Exit status 0 when nothing is (left) wrong, 1 when drift remains: usable from cron or a monitoring check.
Orphan mailboxes are only deleted when named one by one with --delete-orphan. Half-done operations of the
journal are always listed; --journal finishes or undoes them (those named with --operation, else every one
listed), because only a person can say which of the two is wanted.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.reconcile import (
    JOURNAL_ACTIONS,
    REPAIRABLE,
    Findings,
    HalfDone,
    journal_repair,
    journal_scan,
    reconcile_delete_orphans,
    reconcile_repair,
    reconcile_scan,
)
from mailadmin.actor import Actor
from mailadmin.directory import DirectoryError, InvalidName, check_domain
from mailadmin.imap import ImapError

_PAST = {"finish": "finished", "undo": "undone"}


class Command(BaseCommand):
    help = (
        "Compare LDAP accounts with Cyrus mailboxes and quotas, and role/group references with entries, and "
        "list the operations a process left half-done; --repair creates missing mailboxes, sets quotas from "
        "LDAP and removes stale references; --journal finish|undo completes or reverts half-done operations."
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
        parser.add_argument(
            "--journal",
            choices=JOURNAL_ACTIONS,
            default="",
            help="finish (redo the remaining steps) or undo (revert the done steps) half-done operations",
        )
        parser.add_argument(
            "--operation",
            action="append",
            default=[],
            metavar="ID",
            help="with --journal: only this operation (repeatable; the ids are in the listing)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        actor = Actor.system("reconcile")
        if options["operation"] and not options["journal"]:
            raise CommandError("--operation needs --journal finish or --journal undo")
        try:
            domain = check_domain(options["domain"]) if options["domain"] else None
            findings = reconcile_scan(domain=domain)
            half_done = journal_scan(domain=domain)
            self._print(findings, half_done)
            changed = bool(options["repair"] or options["delete_orphan"] or options["journal"])
            if options["journal"]:
                self._journal(actor, options["journal"], options["operation"], half_done)
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
            if changed:
                findings = reconcile_scan(domain=domain)
                half_done = journal_scan(domain=domain)
                self.stdout.write("after:")
                self._print(findings, half_done)
        except (InvalidName, DirectoryError, ImapError) as exc:
            raise CommandError(str(exc)) from exc
        if not findings.clean or half_done:
            raise CommandError("drift found")

    def _journal(self, actor: Actor, action: str, named: list[str], half_done: list[HalfDone]) -> None:
        ids = named or [item.id for item in half_done]
        past = _PAST[action]
        done = failed = 0
        for operation in ids:
            try:
                report = journal_repair(actor=actor, operation_id=operation, action=action, say=self._say)
            except (InvalidName, DirectoryError, ImapError) as exc:
                # One operation's refusal or failure does not stop the others; each is reported.
                failed += 1
                self._say(f"operation {operation}: not {past}: {exc}", "error")
                continue
            done += 1
            steps = ", ".join(report.steps) or "no step left"
            self.stdout.write(f"{past} {report.kind} {report.target}: {steps}")
        self.stdout.write(f"half-done operations: {past} {done}, not {past} {failed}")

    def _say(self, text: str, level: str = "info") -> None:
        style = self.style.ERROR if level == "error" else self.style.WARNING if level == "warning" else str
        self.stdout.write(style(text))

    def _print(self, findings: Findings, half_done: list[HalfDone]) -> None:
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
        for operation in half_done:
            for line in operation.lines():
                self.stdout.write(line)
        for kind, count in findings.counts.items():
            self.stdout.write(f"{kind}: {count}")
        self.stdout.write(f"half_done_operations: {len(half_done)}")
