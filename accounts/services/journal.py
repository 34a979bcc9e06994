"""Running a multi-step operation through its journal row (accounts.models.Operation).

Each kind of operation is declared once, with how every step is finished (`redo`) or undone from the row's
`data`, so the drift check can do either after the process that started it is gone:

    USER_CREATE = journal_kind("user_create", {"entry": Step(redo=None, undo=_delete_entry), ...})

    with Journal.begin(actor, USER_CREATE, dn, ["entry", "password", "mailbox"], {"uid": uid}) as journal:
        journal.step("entry", lambda: directory.add(dn, attrs))
        ...
    # leaving the block without an error marks the row done; an error undoes the done steps (newest first,
    # with the kind's undo), marks the row undone (or failed if an undo failed or a step cannot be undone)
    # and propagates unchanged. SystemExit, KeyboardInterrupt and the like leave the row running, marked as
    # interrupted: the process is going away, and an undo cut off half-way helps nobody.

Steps must run in the planned order: a step that is not the next planned one is a programming error.
An operation begun inside another one's step gets that row as its parent; the outer row answers for both.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, TypeVar

from django.utils import timezone

from accounts.models import Operation
from mailadmin.actor import Actor
from mailadmin.directory import dit

log = logging.getLogger(__name__)
T = TypeVar("T")
Data = Mapping[str, Any]
StepFn = Callable[[Data, Actor], None]
INCOMPLETE = (Operation.State.RUNNING, Operation.State.FAILED)
# Every step touches its row; the longest single step (a mailbox's groupware folders) takes seconds. A
# `running` row untouched for longer than this has nobody working on it any more.
STALE_AFTER = timedelta(minutes=5)
INTERRUPTED = "interrupted: "
_LOOKBACK = 50  # journal rows of one target looked at for a page; older ones are history


def covered(data: Data, actor: Actor) -> None:
    """Undo of a step that the undo of an earlier step takes with it (a password goes with its entry)."""


@dataclass(frozen=True)
class Step:
    """Finishing (`redo`) or undoing one step from the row's data. Both are idempotent: they look before they
    write, so a redo of a step that happened, or an undo of one that did not, changes nothing.
    `redo=None`: it needs what is never stored (a password); `undo=None`: it cannot be undone (a deletion)."""

    redo: StepFn | None
    undo: StepFn | None


@dataclass(frozen=True)
class JournalKind:
    name: str
    steps: Mapping[str, Step]
    # Done, it made or removed the whole object: older half-done rows on the same target are history.
    remakes: bool = False
    # Running it again does every step anew: a later done run of the same kind supersedes a half-done one.
    rerun_completes: bool = False


KINDS: dict[str, JournalKind] = {}


def journal_kind(
    name: str, steps: Mapping[str, Step], *, remakes: bool = False, rerun_completes: bool = False
) -> JournalKind:
    """Declare a kind of journaled operation (at import time of the service that runs it)."""
    kind = JournalKind(name, dict(steps), remakes, rerun_completes)
    KINDS[name] = kind
    return kind


_current: contextvars.ContextVar[Journal | None] = contextvars.ContextVar("journal", default=None)


class Journal:
    def __init__(self, operation: Operation, kind: JournalKind, actor: Actor) -> None:
        self.operation, self.kind, self.actor = operation, kind, actor
        self._token: contextvars.Token[Journal | None] | None = None

    @classmethod
    def begin(
        cls,
        actor: Actor,
        kind: JournalKind,
        target: str,
        planned: Iterable[str],
        data: Mapping[str, Any] | None = None,
    ) -> Journal:
        """Write the row: the kind, the object (one spelling per DN, so a page asking about `?dn=` in another
        spelling finds it), the planned steps and what finishing or undoing them needs."""
        planned = list(planned)
        unknown = [step for step in planned if step not in kind.steps]
        if unknown:
            raise RuntimeError(f"{kind.name}: steps {unknown} are not declared")
        outer = _current.get()
        operation = Operation.objects.create(
            kind=kind.name,
            target=dit.normalize_dn(target),
            actor=actor.username[:255],
            planned=planned,
            data=dict(data or {}),
            parent=outer.operation if outer is not None else None,
            touched=timezone.now(),
        )
        return cls(operation, kind, actor)

    @property
    def data(self) -> dict[str, Any]:
        return self.operation.data

    def step(self, name: str, do: Callable[[], T]) -> T:
        """Run the next planned step; its undo is the kind's."""
        op = self.operation
        expected = op.remaining[0] if op.remaining else None
        if name != expected:
            raise RuntimeError(f"{op.kind}: step {name!r} out of order (next planned: {expected!r})")
        result = do()
        op.done = [*op.done, name]
        op.touched = timezone.now()
        op.save(update_fields=["done", "touched"])
        return result

    def skip(self, name: str) -> None:
        """Drop a planned step that turned out unnecessary, so the row's plan stays truthful."""
        op = self.operation
        op.planned = [step for step in op.planned if step != name]
        op.save(update_fields=["planned"])

    def __enter__(self) -> Journal:
        self._token = _current.set(self)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, _tb: TracebackType | None
    ) -> None:
        if self._token is not None:
            _current.reset(self._token)
        op = self.operation
        op.touched = timezone.now()
        if exc is not None and not isinstance(exc, Exception):
            op.error = f"{INTERRUPTED}{type(exc).__name__}: {exc}"[:2000]
            op.save(update_fields=["error", "touched"])
            return
        if exc is None:
            op.state = Operation.State.DONE
        else:
            op.error = f"{type(exc).__name__}: {exc}"[:2000]
            op.state = Operation.State.UNDONE if self._rollback() else Operation.State.FAILED
        op.finished = op.touched
        op.save(update_fields=["state", "error", "undone", "finished", "touched"])

    def _rollback(self) -> bool:
        """Undo the done steps newest first; True if every undo succeeded. Never raises: the original
        error is what the caller must see; what could not be undone is in the row and the log."""
        op = self.operation
        complete = True
        for name in reversed(op.done):
            undo = self.kind.steps[name].undo
            if undo is None:
                complete = False
                continue
            try:
                undo(op.data, self.actor)
            except Exception:
                complete = False
                log.exception("%s %s: could not undo step %s", op.kind, op.target, name)
                continue
            op.undone = [*op.undone, name]
        return complete


# --- which rows still matter -------------------------------------------------------------------------------


def superseded(op: Operation) -> bool:
    """A later, finished operation on the same object made this half-done one history: one that made or
    removed the whole object, or a complete re-run of the same kind."""
    later = Operation.objects.filter(
        target=op.target, parent=None, state=Operation.State.DONE, started__gt=op.started
    ).values_list("kind", flat=True)
    for name in set(later):
        kind = KINDS.get(name)
        if kind is not None and (kind.remakes or (name == op.kind and kind.rerun_completes)):
            return True
    return False


def abandoned(op: Operation, now: datetime | None = None) -> bool:
    """Nobody is working on the row any more: it failed, its process recorded that it was interrupted, or
    it has not been touched for STALE_AFTER."""
    if op.state == Operation.State.FAILED:
        return True
    if op.state != Operation.State.RUNNING:
        return False
    last = op.touched or op.started
    return op.error.startswith(INTERRUPTED) or last < (now or timezone.now()) - STALE_AFTER


def open_operations(targets_inside: str | None = None) -> list[Operation]:
    """Every half-done operation (running or failed, not run inside another, not superseded), oldest
    first; `targets_inside` narrows them to objects inside that DN."""
    rows = Operation.objects.filter(parent=None, state__in=INCOMPLETE).order_by("started")
    found = [op for op in rows if not superseded(op)]
    if targets_inside is not None:
        found = [op for op in found if dit.valid_dn(op.target) and dit.is_inside(op.target, targets_inside)]
    return found


def incomplete_operation(target: str) -> Operation | None:
    """The newest journaled operation on `target` that left the object half-made (still running, or failed
    with an undo that did not complete), unless a later finished one superseded it; else None."""
    if not dit.valid_dn(target):
        return None
    rows = Operation.objects.filter(target=dit.normalize_dn(target), parent=None, state__in=INCOMPLETE)
    for op in rows.order_by("-started")[:_LOOKBACK]:
        if not superseded(op):
            return op
    return None
