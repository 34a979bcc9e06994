"""The drift check's journal pass: operations a process left half-done, finished or undone on request.

A journal row left `running` (its process died: a crash, a kill, a restart in the middle of a step) or
`failed` (a step failed and so did an undo) marks an object that is neither there nor gone. `journal_scan`
lists each one with what was done and what not, and what "finish" and "undo" would do; `journal_repair`
does the one a person chose, with the functions its kind declares (accounts/services/journal.py):

- finish: redo, in the planned order, every step that is not in effect (never run, or undone by the failed
  rollback). Redo functions look before they write, so the step that was running when the process died is
  simply done again. A step that needs what is never stored (a password) cannot be redone: undo instead.
- undo: revert, newest first, the step that was running when the process died (it may have happened) and
  every done step not undone yet. A deletion cannot be undone: finish instead.

A `running` row that may still be worked on (touched less than STALE_AFTER ago, and its process did not
record an interruption) is listed but left alone. A repair claims its row first (one conditional UPDATE),
so two checks never repair one row twice. Each repair writes an audit row with the row's state before;
the row ends `done` or `undone` with its resolution, or `failed` with the repair's error (try again, or
the other way).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from django.utils import timezone

from accounts.models import Operation
from accounts.services.journal import (
    INTERRUPTED,
    KINDS,
    JournalKind,
    abandoned,
    open_operations,
    superseded,
)
from mailadmin.actor import Actor
from mailadmin.audit.services import audited
from mailadmin.directory import InvalidName, dit

FINISH, UNDO = "finish", "undo"
ACTIONS = (FINISH, UNDO)
Say = Callable[[str, str], None]


@dataclass(frozen=True)
class HalfDone:
    """One half-done operation as the command and the page show it."""

    id: str
    kind: str
    target: str
    state: str
    actor: str
    started: str
    error: str
    done: list[str]
    not_done: list[str]
    left_behind: list[str]  # failed rows: done steps whose undo did not succeed
    busy: bool  # may still be worked on: shown, not repaired
    finish_steps: list[str]
    undo_steps: list[str]
    finish_refusal: str  # why it cannot be finished ("" if it can)
    undo_refusal: str

    @property
    def can_finish(self) -> bool:
        return not self.busy and not self.finish_refusal

    @property
    def can_undo(self) -> bool:
        return not self.busy and not self.undo_refusal

    def lines(self) -> list[str]:
        """What the command prints: the object, the steps done and not done, what each choice would do."""
        state = "in progress" if self.busy else self.state
        head = f"half-done {self.kind} {self.target}: {state} (started {self.started} by {self.actor or '?'})"
        lines = [head, f"  done: {', '.join(self.done) or '-'}; not done: {', '.join(self.not_done) or '-'}"]
        if self.error:
            lines.append(f"  error: {self.error}")
        finish = ", ".join(self.finish_steps) or "nothing left to do"
        undo = ", ".join(self.undo_steps) or "nothing to revert"
        lines.append(f"  finish: {self.finish_refusal or finish}")
        lines.append(f"  undo: {self.undo_refusal or undo}")
        lines.append(f"  operation {self.id}")
        return lines


@dataclass
class JournalReport:
    operation: str
    kind: str
    target: str
    action: str
    steps: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _in_effect(op: Operation) -> list[str]:
    return [step for step in op.done if step not in op.undone]


def _plan(op: Operation, kind: JournalKind | None, action: str) -> tuple[list[str], str]:
    """The steps `action` would run, in order, and why it cannot be done ("" if it can)."""
    if kind is None or any(step not in kind.steps for step in op.planned):
        return [], f"the console does not know how to {action} this {op.kind}."
    if action == FINISH:
        steps = [step for step in op.planned if step not in _in_effect(op)]
        stuck = [step for step in steps if kind.steps[step].redo is None]
        why = "cannot be redone (it needs what is never stored, such as a password): undo instead"
    else:
        running = op.remaining[:1] if op.state == Operation.State.RUNNING else []
        steps = [*running, *reversed(_in_effect(op))]
        stuck = [step for step in steps if kind.steps[step].undo is None]
        why = "cannot be undone (a deletion, or a password whose old value is gone): finish instead"
    if stuck:
        return steps, f"{', '.join(stuck)} {why}."
    return steps, ""


def describe(op: Operation) -> HalfDone:
    kind = KINDS.get(op.kind)
    finish_steps, finish_refusal = _plan(op, kind, FINISH)
    undo_steps, undo_refusal = _plan(op, kind, UNDO)
    return HalfDone(
        id=str(op.pk),
        kind=op.kind,
        target=op.target,
        state=op.state,
        actor=op.actor,
        started=timezone.localtime(op.started).strftime("%Y-%m-%d %H:%M:%S"),
        error=op.error,
        done=list(op.done),
        not_done=op.remaining,
        left_behind=op.left_behind if op.state == Operation.State.FAILED else [],
        busy=not abandoned(op),
        finish_steps=finish_steps,
        undo_steps=undo_steps,
        finish_refusal=finish_refusal,
        undo_refusal=undo_refusal,
    )


def journal_scan(*, domain: str | None = None) -> list[HalfDone]:
    """Every half-done operation, oldest first; `domain` narrows them to objects inside that domain."""
    return [describe(op) for op in open_operations(dit.domain_dn(domain) if domain else None)]


def _say_nothing(text: str, level: str = "info") -> None:
    return None


def _load(operation_id: str) -> Operation:
    try:
        key = uuid.UUID(str(operation_id))
    except ValueError as exc:
        raise InvalidName("This is not the id of a journaled operation.", "operation") from exc
    op = Operation.objects.filter(pk=key, parent=None).first()
    if op is None or not op.incomplete or superseded(op):
        raise InvalidName("This operation is not (or no longer) half-done.", "operation")
    return op


def journal_repair(*, actor: Actor, operation_id: str, action: str, say: Say = _say_nothing) -> JournalReport:
    """Finish or undo one half-done operation (see the module doc). InvalidName when it cannot be done now:
    unknown or repaired already, perhaps still running, or a step that cannot be redone / undone."""
    if action not in ACTIONS:
        raise InvalidName("Choose finish or undo.", "action")
    op = _load(operation_id)
    if not abandoned(op):
        raise InvalidName(
            "This operation may still be running (its last step is recent); check again in a few minutes.",
            "operation",
        )
    kind = KINDS.get(op.kind)
    steps, refusal = _plan(op, kind, action)
    if kind is None or refusal:
        raise InvalidName(f"It cannot be {'finished' if action == FINISH else 'undone'}: {refusal}", "action")
    before = {"operation": str(op.pk), "kind": op.kind, "state": op.state, "done": op.done}
    before.update({"undone": op.undone, "error": op.error})
    claimed = Operation.objects.filter(pk=op.pk, state=op.state, touched=op.touched, error=op.error).update(
        state=Operation.State.RUNNING, touched=timezone.now(), error=""
    )
    if not claimed:
        raise InvalidName("Another check is repairing this operation right now.", "operation")
    op.refresh_from_db()
    report = JournalReport(str(op.pk), op.kind, op.target, action)
    after = {"operation": str(op.pk), "kind": op.kind, "action": action, "steps": steps}
    audited(
        actor,
        f"reconcile_journal_{action}",
        op.target,
        after,
        lambda: _run(op, kind, action, steps, actor, report, say),
        before=before,
    )
    return report


def _run(
    op: Operation,
    kind: JournalKind,
    action: str,
    steps: list[str],
    actor: Actor,
    report: JournalReport,
    say: Say,
) -> None:
    try:
        for name in steps:
            step = kind.steps[name]
            do = step.redo if action == FINISH else step.undo
            if do is None:  # _plan refused these already
                raise InvalidName(f"The step {name} cannot be done this way.", "action")
            do(op.data, actor)
            undone = [s for s in op.undone if s != name]
            if action == FINISH:
                op.done, op.undone = ([*op.done] if name in op.done else [*op.done, name]), undone
            else:
                op.undone = [*undone, name]
            op.touched = timezone.now()
            op.save(update_fields=["done", "undone", "touched"])
            report.steps.append(name)
            say(f"{'redid' if action == FINISH else 'undid'} {name} of {op.kind} {op.target}", "info")
    except Exception as exc:
        op.state, op.error = (
            Operation.State.FAILED,
            f"{action} by the drift check: {type(exc).__name__}: {exc}",
        )
        op.touched = timezone.now()
        op.save(update_fields=["state", "error", "touched"])
        say(f"FAILED to {action} {op.kind} {op.target}: {exc}", "error")
        raise
    except BaseException as exc:
        op.error = f"{INTERRUPTED}{action} by the drift check: {type(exc).__name__}: {exc}"[:2000]
        op.save(update_fields=["error"])
        raise
    state = Operation.State.DONE if action == FINISH else Operation.State.UNDONE
    resolution = Operation.Resolution.FINISHED if action == FINISH else Operation.Resolution.UNDONE
    _close(op, state, resolution)


def _close(op: Operation, state: str, resolution: str) -> None:
    """The row and the rows run inside its steps (their outer step was redone or undone as a whole)."""
    now = timezone.now()
    op.state, op.resolution, op.finished, op.touched = state, resolution, now, now
    op.save(update_fields=["state", "resolution", "finished", "touched"])
    for child in op.children.filter(state__in=(Operation.State.RUNNING, Operation.State.FAILED)):
        _close(child, state, resolution)
