"""The check of a whole import before anything is written (the report).

For every item the parser yields, in order: a parser's problem is a refusal; an entry is planned
(migration/plan.py: the checks of "Create User"), its place must be an organization or group inside the
chosen container that the importer may create users in, its login name and addresses must be unique in the
file and free on the server, and no mailbox may be left under its login name. The directory is asked in
batches (one search per LOOKUP_BATCH names), Cyrus once for its list of mailboxes.

A name that appears twice in the file refuses both entries: which of the two was meant is for the importer
to say, not for the order of the lines.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone

from mailadmin import directory
from mailadmin.actor import Actor
from mailadmin.directory import InvalidName, dit
from migration import selectors
from migration.entries import FILE_WHERE, EntryProblem, ImportEntry
from migration.models import ImportRow, ImportRun
from migration.parsers import PARSERS
from migration.pipeline import Options, count_rows, end_run, open_uploads
from migration.plan import plan_entry, reason_of

log = logging.getLogger(__name__)
ROW_BATCH = 200  # entries checked against the directory and written to the report together
Tick = Callable[[int, int], None]
CHECKING = (ImportRun.Status.CHECKING,)  # a run discarded while its check ran stays discarded
NOTHING_TO_IMPORT = "No entry of the file can be imported (see the report)."


class FileRefused(Exception):
    """The file as a whole cannot be imported (empty, too many entries); the message says why."""


@dataclass
class _Pending:
    row: ImportRow
    addresses: tuple[str, ...]


@dataclass
class Checker:
    """Checks one run's entries in order; `check` returns nothing, `flush` writes the report's rows."""

    run: ImportRun
    actor: Actor
    options: Options
    min_password: int
    mailboxes: set[str]
    places: dict[str, str] = field(default_factory=dict)  # normalized container DN -> refusal ("" = fine)
    uids: dict[str, tuple[int, str]] = field(default_factory=dict)  # uid -> (position, where) of its first
    addresses: dict[str, tuple[int, str]] = field(default_factory=dict)
    late: dict[int, str] = field(default_factory=dict)  # earlier accepted rows refused by a later duplicate
    pending: list[_Pending] = field(default_factory=list)

    def check(self, position: int, item: ImportEntry | EntryProblem) -> None:
        row = ImportRow(run=self.run, position=position, where=item.where[:64], uid=item.uid[:64])
        if isinstance(item, EntryProblem):
            self._refuse(row, item.reason)
            return
        try:
            plan = plan_entry(item, self.options, min_password=self.min_password)
        except InvalidName as exc:
            self._duplicates(row, item.uid, ())  # a refused entry still makes its name ambiguous
            self._refuse(row, reason_of(exc))
            return
        row.dn = plan.dn[:1024]
        own = (str(plan.kwargs["mail"]), *plan.aliases)
        duplicate = self._duplicates(row, plan.uid, own)
        problem = self._place(plan.container_dn) or duplicate
        if problem:
            self._refuse(row, problem)
            return
        row.verdict = ImportRow.Verdict.ACCEPTED
        row.reason = "; ".join(n for n in (item.note, "to be created disabled" if plan.disabled else "") if n)
        self.pending.append(_Pending(row, own))
        if len(self.pending) >= ROW_BATCH:
            self.flush()

    def _refuse(self, row: ImportRow, reason: str) -> None:
        row.verdict, row.reason = ImportRow.Verdict.REFUSED, reason[:2000]
        self.pending.append(_Pending(row, ()))
        if len(self.pending) >= ROW_BATCH:
            self.flush()

    def _place(self, container: str) -> str:
        key = dit.normalize_dn(container)
        if key not in self.places:
            if not dit.is_inside(container, self.options.container_dn):
                self.places[key] = f"{container[:200]} is outside the chosen container"
            elif not selectors.may_import_into(self.actor, container):
                self.places[key] = f"{container[:200]} is not an organization or group you may import into"
            else:
                self.places[key] = ""
        return self.places[key]

    def _duplicates(self, row: ImportRow, uid: str, own: tuple[str, ...]) -> str:
        """Record the entry's names; a name seen before refuses this entry and the earlier one."""
        problem = ""
        names = [(self.uids, uid, "login name")] if uid else []
        names += [(self.addresses, address, "address") for address in own]
        for seen, name, what in names:
            first = seen.get(name)
            if first is None:
                seen[name] = (row.position, row.where)
                continue
            problem = problem or f"the {what} {name} is also in {first[1]}"
            self.late.setdefault(first[0], f"the {what} {name} is also in {row.where}")
        return problem

    def flush(self) -> None:
        accepted = [p for p in self.pending if p.row.verdict == ImportRow.Verdict.ACCEPTED]
        if accepted:
            uids, addresses = selectors.taken_names(
                [p.row.uid for p in accepted], [a for p in accepted for a in p.addresses]
            )
            for p in accepted:
                if p.row.uid in uids:
                    p.row.verdict = ImportRow.Verdict.REFUSED
                    p.row.reason = f"the login name {p.row.uid} is already taken on the server"
                elif used := [a for a in p.addresses if a.lower() in addresses]:
                    p.row.verdict = ImportRow.Verdict.REFUSED
                    p.row.reason = f"the address {used[0]} is already used by another account or alias"
                elif p.row.uid in self.mailboxes:
                    p.row.verdict = ImportRow.Verdict.REFUSED
                    p.row.reason = f"a mailbox for {p.row.uid} already exists (left by a deleted account?)"
        for p in self.pending:
            if p.row.position in self.late and p.row.verdict == ImportRow.Verdict.ACCEPTED:
                p.row.verdict, p.row.reason = ImportRow.Verdict.REFUSED, self.late.pop(p.row.position)
        ImportRow.objects.bulk_create([p.row for p in self.pending])
        self.pending = []

    def finish(self) -> None:
        self.flush()
        late = ImportRow.objects.filter(
            run=self.run, position__in=list(self.late), verdict=ImportRow.Verdict.ACCEPTED
        )
        changed = []
        for row in late:
            row.verdict, row.reason = ImportRow.Verdict.REFUSED, self.late[row.position]
            changed.append(row)
        ImportRow.objects.bulk_update(changed, ["verdict", "reason"], batch_size=500)


def check_run(
    run: ImportRun,
    actor: Actor,
    *,
    tick: Tick | None = None,
    cancelled: Callable[[], None] | None = None,
) -> ImportRun:
    """Check every entry of the run's upload and store the report; the run is then READY (something to
    create), or REFUSED with the reason (nothing in the file can be imported)."""
    options = Options.from_json(run.options)
    if not selectors.may_import_into(actor, options.container_dn):
        raise InvalidName("You may not import into this container (any more).", "container")
    checker = Checker(
        run=run,
        actor=actor,
        options=options,
        min_password=directory.password_min_length(),
        mailboxes=selectors.existing_mailboxes(),
    )
    limit = int(settings.IMPORT_MAX_ENTRIES)
    files = open_uploads(run)
    try:
        position = -1
        for position, item in enumerate(PARSERS[run.kind].parse(files, options.params)):
            if position >= limit:
                raise FileRefused(f"The file holds more than {limit} entries; split it into smaller files.")
            if isinstance(item, EntryProblem) and item.where == FILE_WHERE:
                raise FileRefused(item.reason)
            checker.check(position, item)
            if position % ROW_BATCH == ROW_BATCH - 1:
                if cancelled is not None:
                    cancelled()
                if tick is not None:  # bytes read of all files: the bar moves with the parser
                    tick(sum(f.tell() for f in files.values()), max(run.size, 1))
        if position < 0:
            raise FileRefused("The file holds no entries.")
        checker.finish()
    except FileRefused as exc:
        ImportRow.objects.filter(run=run).delete()
        end_run(run.pk, ImportRun.Status.REFUSED, from_states=CHECKING, error=str(exc))
        return ImportRun.objects.get(pk=run.pk)
    finally:
        for opened in files.values():
            opened.close()
    count_rows(run.pk)
    run = ImportRun.objects.get(pk=run.pk)
    if not run.accepted:
        end_run(run.pk, ImportRun.Status.REFUSED, from_states=CHECKING, error=NOTHING_TO_IMPORT)
    else:
        ImportRun.objects.filter(pk=run.pk, status=ImportRun.Status.CHECKING).update(
            status=ImportRun.Status.READY, checked_at=timezone.now()
        )
    return ImportRun.objects.get(pk=run.pk)
