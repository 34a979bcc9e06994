"""Creating the accepted entries of a confirmed import (the job `migration.create`).

The upload is parsed again (its sha256 must match the one taken at upload) and each item whose report row
says "accepted" is planned again and created, in file order, by the service behind "Create User"
(`accounts.services.user_create`, journaled: a failed entry leaves nothing half-made; a disabled entry is
created disabled in the same step). Extra addresses and forwarding are separate services run right after;
if one of them fails, the new account is deleted again, so an entry is either created whole or not at all.
The actor's rights are those the directory gives them now, checked again for every container.

Between two entries the job looks for Cancel; the entries done stay and the report says which. A server
that is down (DirectoryUnavailable, ImapUnavailable) stops the job: every later entry would fail the same.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from accounts import services
from accounts.services.journal import incomplete_operation
from aliases.services import addresses
from mailadmin import directory
from mailadmin.actor import Actor
from mailadmin.directory import DirectoryError, DirectoryUnavailable, InvalidName, dit
from mailadmin.imap_names import ImapError, ImapUnavailable
from migration import selectors
from migration.entries import ImportEntry
from migration.models import ImportRow, ImportRun
from migration.parsers import PARSERS
from migration.pipeline import Options, open_uploads, stored_digest
from migration.plan import Plan, plan_entry, reason_of

log = logging.getLogger(__name__)
UNAVAILABLE = (DirectoryUnavailable, ImapUnavailable)
PROGRESS_EVERY = 0.25  # seconds between two updates of the progress bar's row (each is a commit)


class ImportStopped(Exception):
    """A server the import needs is down: the job ends, the entries not reached stay not created."""


@dataclass(frozen=True)
class Outcome:
    created: bool
    reason: str = ""
    dn: str = ""


def create_entry(
    actor: Actor, entry: ImportEntry, options: Options, *, min_password: int, places: dict[str, bool]
) -> Outcome:
    """Create one account from one entry; never raises for the entry's own problem (only ImportStopped).
    `places`: the containers checked so far in this run (normalized DN -> may import there)."""
    try:
        plan = plan_entry(entry, options, min_password=min_password)
    except InvalidName as exc:
        return Outcome(False, reason_of(exc))
    key = dit.normalize_dn(plan.container_dn)
    if key not in places:
        places[key] = dit.is_inside(plan.container_dn, options.container_dn) and selectors.may_import_into(
            actor, plan.container_dn
        )
    if not places[key]:
        return Outcome(
            False, f"{plan.container_dn[:200]} is not an organization or group you may import into"
        )
    try:
        dn = services.user_create(actor=actor, **_credentials(plan), **plan.kwargs)
    except UNAVAILABLE as exc:
        raise ImportStopped(str(exc)) from exc
    except InvalidName as exc:
        return Outcome(False, reason_of(exc))
    except (DirectoryError, ImapError) as exc:
        return Outcome(False, _incomplete(plan.dn) or str(exc))
    try:
        _finish(actor, dn, plan)
    except (DirectoryError, ImapError, InvalidName) as exc:
        why = reason_of(exc) if isinstance(exc, InvalidName) else str(exc)
        return Outcome(False, _remove(actor, dn, why), "")
    note = "created disabled" + ("" if plan.password or plan.password_hash else ", without a password")
    return Outcome(True, "; ".join(n for n in (entry.note, note if plan.disabled else "") if n), dn)


def _credentials(plan: Plan) -> dict[str, Any]:
    return {"password": plan.password, "password_hash": plan.password_hash}


def _finish(actor: Actor, dn: str, plan: Plan) -> None:
    if plan.aliases:
        addresses.user_set_addresses(actor=actor, dn=dn, addresses=plan.aliases)
    if plan.forwards:
        addresses.user_set_forwarding(actor=actor, dn=dn, targets=plan.forwards, keep_copy=False)


def _remove(actor: Actor, dn: str, why: str) -> str:
    """Delete an account whose extra steps failed; the report line says both."""
    try:
        services.user_delete(actor=actor, dn=dn, delete_mailbox=True)
    except (DirectoryError, ImapError) as exc:
        log.warning("import: %s was created but could not be removed after %s: %s", dn, why, exc)
        return f"{why}; the account was created but removing it again failed ({exc}): delete it by hand"
    return f"{why}; the account was removed again"


def _incomplete(dn: str) -> str:
    """The journal's word on a failed creation that could not be undone whole (the drift check repairs it)."""
    op = incomplete_operation(dn)
    if op is None or not op.left_behind:
        return ""
    return f"{op.error or 'failed'}; left behind: {', '.join(op.left_behind)} (the drift check repairs it)"


def create_run(
    run: ImportRun,
    actor: Actor,
    *,
    progress: Callable[[int, int | None], None],
    cancelled: Callable[[], None],
    say: Callable[[str, str], None],
) -> dict[str, int]:
    """Create every accepted entry of `run`; rows become created or failed as each entry ends."""
    options = Options.from_json(run.options)
    if not selectors.may_import_into(actor, options.container_dn):
        raise ImportStopped(f"{actor.username} may no longer create users in {options.container_dn}.")
    if stored_digest(run.kind, run.pk) != run.digest:
        raise ImportStopped("The uploaded file changed since it was checked; nothing was created.")
    todo = dict(
        ImportRow.objects.filter(run=run, verdict=ImportRow.Verdict.ACCEPTED).values_list("position", "uid")
    )
    progress(0, len(todo))
    min_password = directory.password_min_length()
    done = created = 0
    shown = time.monotonic()
    places: dict[str, bool] = {}
    files = open_uploads(run)
    try:
        for position, item in enumerate(PARSERS[run.kind].parse(files, options.params)):
            uid = todo.get(position)
            if uid is None:
                continue
            cancelled()
            if not isinstance(item, ImportEntry) or item.uid[:64] != uid:
                outcome = Outcome(False, "the entry is not the one the report accepted")
            else:
                outcome = create_entry(actor, item, options, min_password=min_password, places=places)
            verdict = ImportRow.Verdict.CREATED if outcome.created else ImportRow.Verdict.FAILED
            ImportRow.objects.filter(run=run, position=position).update(
                verdict=verdict, reason=outcome.reason[:2000], **({"dn": outcome.dn} if outcome.dn else {})
            )
            done += 1
            created += outcome.created
            if not outcome.created:
                say(f"FAILED {item.where} {uid}: {outcome.reason}", "error")
            if time.monotonic() - shown >= PROGRESS_EVERY or done == len(todo):
                progress(done, None)
                shown = time.monotonic()
    finally:
        for opened in files.values():
            opened.close()
    return {"created": created, "failed": done - created}
