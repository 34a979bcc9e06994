"""Acting on queued messages (DLV-02): Hold, Release, Requeue, Delete, Flush — checked, then audited.

An action names its messages either by id (picked on the page) or by a filter ("everything matching").
Picked ids are refused as a whole, before anything runs, unless every one of them looks like a queue id
and is in the queue *now* and visible to the actor (a domain administrator's foreign id is "unknown", the
same answer as an id that never existed). A filter is evaluated now, with the actor's scope. postsuper gets
the ids on standard input and its own per-id report is the result: its exit code says nothing.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Container, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from django.conf import settings
from django.utils.translation import gettext as _

from mailadmin import postfix, spool
from mailadmin.actor import Actor
from mailadmin.audit.services import audit_record
from mailqueue.selectors import QueuedMessage, QueueFilter, actor_scope, iter_queue, queue_find

MAX_PICKED = 500  # ids the page's checkboxes may carry; "everything matching" has no cap
MAX_IDS = 50_000  # ids pasted into "Act on queue IDs", and what one job takes
Tick = Callable[[int, "int | None"], None]  # (done, total or None while the pass over the queue goes on)


class QueueAction(StrEnum):
    """What can be done to queued messages (postsuper -h/-H/-r/-d, postqueue -i/-f)."""

    HOLD = "hold"
    RELEASE = "release"
    REQUEUE = "requeue"
    DELETE = "delete"
    FLUSH = "flush"


class QueueRefused(Exception):
    """The request names ids that are malformed, or not (or no longer) in the queue for this actor.
    Nothing was run."""

    def __init__(self, message: str, ids: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.ids = list(ids)


# What postsuper says, in the page's words ("547A816C placed on hold").
_OUTCOME = {
    "placed on hold": lambda: _("placed on hold"),
    "released from hold": lambda: _("released from hold"),
    "requeued": lambda: _("requeued"),
    "removed": lambda: _("deleted"),
    "flushed": lambda: _("scheduled for immediate delivery"),
}


@dataclass
class ActionReport:
    action: QueueAction
    done: dict[str, str]  # id -> what Postfix reported
    not_changed: list[str]  # in the queue when checked, but Postfix did not report a change
    warnings: list[str] = field(default_factory=list)
    everything: bool = False  # `postqueue -f`: the whole queue
    skipped: list[str] = field(default_factory=list)  # named, not in the queue, left out as asked

    def lines(self, limit: int = 20) -> list[str]:
        """Sentences for the page, one per message (capped)."""
        if self.everything:
            return [_("The whole queue: delivery attempted now.")]
        words = {what: _OUTCOME.get(what, lambda w=what: w)() for what in set(self.done.values())}
        out = [f"{qid} {words[what]}" for qid, what in itertools.islice(self.done.items(), limit)]
        if len(self.done) > limit:
            out.append(_("… and %(n)d more.") % {"n": len(self.done) - limit})
        if self.skipped:
            out.append(
                _("Left out, not in the queue: %(ids)s") % {"ids": ", ".join(self.skipped[:10])}
                + (" …" if len(self.skipped) > 10 else "")
            )
        return out

    def to_json(self) -> dict[str, object]:
        return {
            "action": self.action.value,
            "done": len(self.done),
            "not_changed": self.not_changed[:500],
            "skipped": self.skipped[:500],
            "warnings": self.warnings[:50],
        }


@dataclass(frozen=True)
class Picked:
    """Ids named by a person, checked against the queue as it is now."""

    ids: list[str]  # queued now and the actor's: these are acted on
    envelopes: dict[str, QueuedMessage]  # their listings, when the check read showq's (else empty)
    skipped: list[str] = field(default_factory=list)  # not in the queue (only when asked to skip them)


def check_picked(
    actor: Actor,
    ids: Iterable[str],
    *,
    limit: int = MAX_PICKED,
    skip_missing: bool = False,
    recheck: bool = True,
) -> Picked:
    """The named messages that are in the queue now and visible to the actor; QueueRefused (nothing runs)
    when one is malformed, or — unless `skip_missing` — not there (gone, never was, or another domain's).

    An administrator's ids are looked up in the spool directories (mailadmin.spool: names only, fast at any
    queue size); a domain administrator's need their envelopes (sender and recipients decide what is theirs),
    so those come from showq's listing, as do an administrator's when the spool may not be read.
    `recheck=False` (a job started right after its request checked the ids): an administrator's ids are taken
    as checked — postsuper names each id it changes, so one that has left since is reported "not changed" —
    while a domain administrator's scope is always evaluated again.
    """
    picked = list(dict.fromkeys(str(i) for i in ids))
    if not picked:
        raise QueueRefused(_("Select at least one message."))
    if len(picked) > limit:
        raise QueueRefused(_("Select at most %(n)d messages, or use the filter.") % {"n": limit})
    bad = [i for i in picked if not postfix.valid_queue_id(i)]
    if bad:
        raise QueueRefused(_("Not a queue ID: %(id)s") % {"id": bad[0][:40]}, bad)
    envelopes: dict[str, QueuedMessage] = {}
    present: Container[str] | None = None
    if actor_scope(actor) is None:
        if not recheck:
            return Picked(picked, envelopes)
        present = spool.queued(settings.POSTFIX_CONFIG_DIR, picked)
    if present is None:
        # A domain administrator's read-only messages (someone else's) count as not there: same answer.
        envelopes = {qid: m for qid, m in queue_find(actor, set(picked)).items() if m.actionable}
        present = envelopes
    missing = [i for i in picked if i not in present]
    if missing and (not skip_missing or len(missing) == len(picked)):
        raise QueueRefused(
            _("Not in the queue (delivered, deleted or unknown): %(ids)s") % {"ids": ", ".join(missing[:10])}
            + (" …" if len(missing) > 10 else ""),
            missing,
        )
    return Picked([i for i in picked if i in present], envelopes, missing)


def _domains(messages: Iterable[QueuedMessage], actor: Actor) -> list[str]:
    """The domains an audit row and a job are filed under: those of the messages (when their envelopes were
    read), limited to the actor's own for a domain administrator, and capped to what the column holds."""
    scope = actor_scope(actor)
    names: set[str] = set()
    for msg in messages:
        names |= msg.domains if scope is None else msg.domains & scope
        if len(names) > 40:
            break
    out, length = [], 2
    for name in sorted(names):
        length += len(name) + 1
        if length > 1000:
            break
        out.append(name)
    return out


def queue_act(
    *,
    actor: Actor,
    action: QueueAction,
    ids: Iterable[str] | None = None,
    flt: QueueFilter | None = None,
    tick: Tick | None = None,
    skip_missing: bool = False,
    recheck: bool = True,
) -> ActionReport:
    """Do `action` to the messages named by `ids` (checked: check_picked) or matching `flt` (evaluated now, in
    the actor's scope), and write one audit entry (`queue_<action>`):

    - hold: Postfix keeps them until they are released; release: back to the deferred queue;
    - requeue: through address rewriting again, and retried (under a new queue id);
    - delete: removed from the queue, no bounce sent;
    - flush: delivery attempted now, per message (`postqueue -i`), or the whole queue (`postqueue -f`) when an
      administrator flushes everything with no filter.
    """
    if (ids is None) == (flt is None):
        raise ValueError("name the messages by ids or by a filter, not both")
    skipped: list[str] = []
    if ids is not None:
        picked = check_picked(actor, ids, limit=MAX_IDS, skip_missing=skip_missing, recheck=recheck)
        targets, envelopes, skipped = picked.ids, picked.envelopes, picked.skipped
    else:
        assert flt is not None  # noqa: S101 — checked above
        # The whole pass first, then postsuper: measured, overlapping the two gained nothing here (they
        # compete for the same disk and CPUs), and a pass that fails half-way must not have acted already.
        envelopes = {m.queue_id: m for m in iter_queue(actor, flt) if m.actionable}
        targets = list(envelopes)
    total = len(targets)
    if tick is not None:
        tick(0, total)
    config = settings.POSTFIX_CONFIG_DIR
    everything = False
    warnings: list[str] = []
    done: dict[str, str] = {}
    if action is QueueAction.FLUSH:
        if flt is not None and flt.empty and actor.roles.administrator:
            postfix.postqueue_flush(config)  # the manual's "flush the queue": one request to qmgr
            everything = True
        else:
            for n, qid in enumerate(targets, 1):
                postfix.postqueue_flush(config, qid)
                done[qid] = "flushed"
                if tick is not None and n % 50 == 0:
                    tick(n, total)
    else:
        report = postfix.postsuper(
            config,
            action.value,
            targets,
            tick=(lambda n: tick(n, total)) if tick is not None else None,
        )
        done, warnings = report.done, report.warnings
    result = ActionReport(
        action=action,
        done=done,
        not_changed=[] if everything else [i for i in targets if i not in done],
        warnings=warnings,
        everything=everything,
        skipped=skipped,
    )
    audit_record(
        actor=actor,
        action=f"queue_{action.value}",
        target=("(whole queue)" if everything else ", ".join(list(done or targets)[:20]))[:1024],
        domains=_domains(envelopes.values(), actor),
        after={
            "count": len(done),
            "ids": list(done)[:200],
            "not_changed": result.not_changed[:200],
            "skipped": skipped[:200],
            "filter": flt.to_params() if flt is not None else None,
        },
        ok=not result.not_changed,
        detail="; ".join(warnings)[:2000],
    )
    if tick is not None:
        tick(total, total)
    return result


def delivery_settings_replace(
    *, actor: Actor, relay_rules: list[dict[str, object]], disclaimers: list[dict[str, object]]
) -> list[str]:
    """Mail Delivery's settings as a backup had them: the relay rules and the disclaimers, both or neither
    (one transaction; each rule and text checked as in its page). A disclaimer whose owner is gone from the
    directory is left out; the sentences returned say which."""
    from django.db import transaction

    from mailqueue.disclaimers.services import DisclaimerError, disclaimers_replace, resolve_owner
    from mailqueue.relayrules.services import relayrules_replace

    kept, notes = [], []
    for item in disclaimers:
        try:
            resolve_owner(str(item.get("owner_dn", "")))
        except DisclaimerError:
            notes.append(
                f"disclaimer of {item.get('owner_dn')}: its owner is gone from the directory; left out"
            )
            continue
        kept.append(item)
    with transaction.atomic():
        relayrules_replace(
            actor=actor, rules=sorted(relay_rules, key=lambda r: int(str(r.get("position", 0))))
        )
        disclaimers_replace(actor=actor, items=kept)
    return notes
