"""Running a multi-step operation through its journal row (accounts.models.Operation).

    journal = Journal.begin(actor, "user_create", dn, ["entry", "password", "mailbox"])
    with journal:
        journal.step("entry", lambda: directory.add(...), undo=lambda: directory.delete(dn))
        ...
    # leaving the block without an error marks the row done; an error undoes the done steps (newest
    # first), marks the row undone (or failed if an undo failed too) and propagates unchanged.

Steps must run in the planned order: a step that is not the next planned one is a programming error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from types import TracebackType
from typing import TypeVar

from django.utils import timezone

from accounts.models import Operation
from mailadmin.actor import Actor
from mailadmin.directory import dit

log = logging.getLogger(__name__)
T = TypeVar("T")


class Journal:
    def __init__(self, operation: Operation) -> None:
        self.operation = operation
        self._undo: list[tuple[str, Callable[[], None] | None]] = []

    @classmethod
    def begin(cls, actor: Actor, kind: str, target: str, planned: list[str]) -> Journal:
        # One spelling per DN, so a page asking about `?dn=` in another spelling finds the row.
        operation = Operation.objects.create(
            kind=kind, target=dit.normalize_dn(target), actor=actor.username[:255], planned=list(planned)
        )
        return cls(operation)

    def step(self, name: str, do: Callable[[], T], undo: Callable[[], None] | None = None) -> T:
        """Run the next planned step. `undo=None`: it cannot be undone (a deletion), so a later failure
        leaves the row failed with this step named in `left_behind`."""
        op = self.operation
        expected = op.remaining[0] if op.remaining else None
        if name != expected:
            raise RuntimeError(f"{op.kind}: step {name!r} out of order (next planned: {expected!r})")
        result = do()
        op.done = [*op.done, name]
        op.save(update_fields=["done"])
        self._undo.append((name, undo))
        return result

    def skip(self, name: str) -> None:
        """Drop a planned step that turned out unnecessary, so the row's plan stays truthful."""
        op = self.operation
        op.planned = [step for step in op.planned if step != name]
        op.save(update_fields=["planned"])

    def __enter__(self) -> Journal:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, _tb: TracebackType | None
    ) -> None:
        op = self.operation
        if exc is None:
            op.state = Operation.State.DONE
        else:
            op.error = f"{type(exc).__name__}: {exc}"[:2000]
            op.state = Operation.State.UNDONE if self._rollback() else Operation.State.FAILED
        op.finished = timezone.now()
        op.save(update_fields=["state", "error", "undone", "finished"])

    def _rollback(self) -> bool:
        """Undo the done steps newest first; True if every undo succeeded. Never raises: the original
        error is what the caller must see; what could not be undone is in the row and the log."""
        op = self.operation
        complete = True
        for name, undo in reversed(self._undo):
            if undo is None:
                complete = False
                continue
            try:
                undo()
            except Exception:
                complete = False
                log.exception("%s %s: could not undo step %s", op.kind, op.target, name)
                continue
            op.undone = [*op.undone, name]
        return complete


def incomplete_operation(target: str) -> Operation | None:
    """The newest journaled operation on `target` if it left the object half-made (still running, or failed
    with an undo that did not complete); None when the newest one finished (done or fully undone).
    Only the newest counts: a later delete or re-create supersedes an old failure."""
    if not dit.valid_dn(target):
        return None
    latest = Operation.objects.filter(target=dit.normalize_dn(target)).order_by("-started").first()
    return latest if latest is not None and latest.incomplete else None
