"""Changes made in the Configuration menu (CFG-01): propose (checked, staged, validated by the daemon, shown
as a diff), apply (renamed into place, reloaded, smoke-tested, rolled back by itself on failure), restore an
earlier version, and settle a hand edit (adopt it or overwrite it). Every apply leaves a history row and an
audit row with what changed, who did it, from where, and what the smoke test proved.

The daemons are those of the console's private stack (settings.STACK_DIR): the menu renders them with the
stack's own renderers, so a restart renders what the menu applied.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _

from configuration.models import ConfigChange
from mailadmin.actor import Actor
from mailadmin.audit.services import audit_record
from mailadmin.configfiles import store
from mailadmin.configfiles.change import flow
from mailadmin.configfiles.change.flow import ChangeRefused, DaemonRefused, Outcome, Proposal, StaleProposal
from mailadmin.configfiles.change.protocol import Managed
from mailadmin.configfiles.registry import Registry
from mailadmin.configfiles.registry.catalog import registry
from mailadmin.stack import Stack, StackError

log = logging.getLogger(__name__)

__all__ = [
    "ChangeRefused",
    "DaemonRefused",
    "Pending",
    "StaleProposal",
    "Unavailable",
    "apply",
    "hosted_domains_changed",
    "propose",
    "propose_restore",
    "propose_values",
    "stored_values",
]


class Unavailable(Exception):
    """The menu cannot reach the service (no private stack configured, or it is not running)."""


@dataclass(frozen=True)
class Pending:
    token: str
    proposal: Proposal
    kind: str


def target(service: str) -> tuple[Managed, Registry, Path]:
    """The running service, its registry and the menu's directory; Unavailable when there is none."""
    reg = registry(service)
    if reg is None:
        raise Unavailable(_("There is no service %(name)s.") % {"name": service})
    if not settings.STACK_DIR:
        raise Unavailable(
            _("The Configuration menu manages the console's own mail stack; none is configured (STACK_DIR).")
        )
    try:
        stack = Stack.open(str(settings.STACK_DIR))
        svc = stack.service(service)
    except StackError as exc:
        raise Unavailable(str(exc)) from exc
    return svc, reg, stack.layout.menu  # type: ignore[return-value]


def propose(service: str, changes: Mapping[str, str | None], *, kind: str = "edit") -> Pending:
    """Check, stage and validate; the proposal waits (its values in a 0600 file) for `apply`."""
    svc, reg, menu = target(service)
    proposal = flow.propose(svc, reg, menu, changes, replace_all=kind != "edit")
    return _pending(menu, proposal, kind)


def propose_restore(service: str, version: int) -> Pending:
    """The change back to an earlier version's values (version 0: nothing set), through the same flow."""
    svc, reg, menu = target(service)
    try:
        values = store.load_version(menu, service, version)
    except store.StoreError as exc:
        raise ChangeRefused({"version": str(exc)}) from exc
    proposal = flow.propose(svc, reg, menu, values, replace_all=True)
    return _pending(menu, proposal, f"restore {version}")


def propose_values(service: str, values: Mapping[str, str], *, kind: str) -> Pending:
    """The change to a whole set of values (a backup's): checked, staged and validated like any edit."""
    svc, reg, menu = target(service)
    proposal = flow.propose(svc, reg, menu, dict(values), replace_all=True)
    return _pending(menu, proposal, kind)


def stored_values(service: str) -> dict[str, str]:
    _svc, _reg, menu = target(service)
    return store.values(menu, service)


def propose_overwrite(service: str) -> Pending:
    """Write what the menu stores over a hand-edited file (the diff shows the edit going away)."""
    svc, reg, menu = target(service)
    proposal = flow.propose(svc, reg, menu, store.values(menu, service), replace_all=True)
    return _pending(menu, proposal, "overwrite hand edit")


def propose_adopt(service: str) -> Pending:
    """Take the hand edit's values of the menu's parameters into the menu; lines for anything else are not
    kept (ChangeRefused names them, so nothing is lost silently)."""
    svc, reg, menu = target(service)
    changes, left_out = flow.adoptable(svc, reg, menu)
    if left_out:
        raise ChangeRefused(
            {
                name: _(
                    "is changed in the file but is not a parameter the menu may set; undo it by hand first"
                )
                for name in left_out
            }
        )
    values = flow.merged(store.values(menu, service), changes)
    proposal = flow.propose(svc, reg, menu, values, replace_all=True)
    return _pending(menu, proposal, "adopt hand edit")


def _pending(menu: Path, proposal: Proposal, kind: str) -> Pending:
    token = store.save_pending(
        menu,
        proposal.service,
        {"values": proposal.values, "base_version": proposal.base_version, "kind": kind},
    )
    return Pending(token=token, proposal=proposal, kind=kind)


def load_pending(service: str, token: str) -> Pending | None:
    """A proposal waiting for confirmation, validated again (the daemon may have changed since)."""
    svc, reg, menu = target(service)
    data = store.load_pending(menu, service, token)
    if data is None:
        return None
    values = data.get("values")
    base = data.get("base_version")
    kind = str(data.get("kind", "edit"))[:40]
    if not isinstance(values, dict) or not isinstance(base, int):
        return None
    if store.load(menu, service).version != base:
        raise StaleProposal(
            _("Someone else changed %(name)s meanwhile; look at the new values.") % {"name": service}
        )
    proposal = flow.propose(svc, reg, menu, {str(k): str(v) for k, v in values.items()}, replace_all=True)
    return Pending(token=token, proposal=proposal, kind=kind)


def apply(actor: Actor, service: str, token: str) -> tuple[Outcome, ConfigChange]:
    """Apply the proposal saved under `token`; the history and audit rows record how it went."""
    svc, reg, menu = target(service)
    pending = load_pending(service, token)
    if pending is None:
        raise StaleProposal(_("This confirmation has expired or was used already; make the change again."))
    proposal = pending.proposal
    outcome = flow.apply(svc, reg, menu, proposal)
    store.drop_pending(menu, token)
    if outcome.applied:
        result = ConfigChange.Outcome.APPLIED
    elif outcome.rollback_problem:
        result = ConfigChange.Outcome.ROLLBACK_FAILED
    else:
        result = ConfigChange.Outcome.ROLLED_BACK
    rows = [row.as_dict() for row in proposal.rows]
    row = ConfigChange.objects.create(
        service=service,
        version=outcome.version if outcome.applied else proposal.base_version + 1,
        base_version=proposal.base_version,
        outcome=result,
        kind=pending.kind,
        rows=rows,
        diff="".join(proposal.file_diffs.values())[:200_000],
        smoke=outcome.smoke[:4000],
        reason=(
            outcome.reason + (f"\nrollback: {outcome.rollback_problem}" if outcome.rollback_problem else "")
        )[:4000],
        actor=actor.username[:255],
        source_ip=actor.ip or None,
        seconds=outcome.seconds,
    )
    audit_record(
        actor=actor,
        action=f"config.{service}.{pending.kind.split()[0]}",
        target=f"config:{service}",
        before={str(r["name"]): r["running"] for r in rows},
        after={str(r["name"]): r["proposed"] for r in rows},
        ok=outcome.applied,
        detail=(outcome.smoke if outcome.applied else outcome.reason)[:1000],
    )
    return outcome, row


def hosted_domains_changed() -> None:
    """A domain was made, renamed or deleted: the content filter's list of local domains follows at once
    (amavis re-reads the file by itself), so mail to a new domain is scanned and tagged as inbound. The
    directory change stands whatever happens here; a failure is logged, and the next apply or stack start
    writes the list again."""
    if not settings.STACK_DIR:
        return
    try:
        svc = Stack.open(str(settings.STACK_DIR)).service("amavis")
        svc.publish_local_domains()  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - never undo a directory change for the filter's list
        log.warning("content filter: the local domains list was not updated", exc_info=True)
