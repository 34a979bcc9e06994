"""Writing the audit log. Every service that changes the directory, the daemons or the queue calls
`audit_record` (Zulip's discipline: the action function writes the audit row too)."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from mailadmin.actor import Actor
from mailadmin.audit.models import AuditEntry
from mailadmin.directory import dit

# Never store these in before/after, whatever a caller passes.
_SECRET_KEYS = frozenset({"userpassword", "password", "new_password", "old_password", "bind_pw", "secret"})


def _scrub(data: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if data is None:
        return None
    clean: dict[str, Any] = {}
    for key, value in data.items():
        if key.lower() in _SECRET_KEYS:
            clean[key] = "(hidden)"
        elif isinstance(value, bytes):
            clean[key] = value.decode("utf-8", "replace")
        elif isinstance(value, (list, tuple, set, frozenset)):
            clean[key] = [v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in value]
        else:
            clean[key] = value
    return clean


def target_key(target: str) -> str:
    """The normalized DN of a target that is a DN (an entry of the tree), else ""."""
    if "=" not in target or not dit.valid_dn(target):
        return ""
    return dit.normalize_dn(target)[:1024]


def _ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def audit_record(
    *,
    actor: Actor,
    action: str,
    target: str = "",
    domains: Iterable[str] = (),
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    ok: bool = True,
    detail: str = "",
) -> AuditEntry:
    names = sorted({d.strip().lower() for d in domains if d and d.strip()})
    return AuditEntry.objects.create(
        target_key=target_key(target),
        actor=actor.username[:255],
        actor_dn=actor.dn[:1024],
        source_ip=_ip(actor.ip),
        action=action[:100],
        target=target[:1024],
        domains=("," + ",".join(names) + ",") if names else "",
        before=_scrub(before),
        after=_scrub(after),
        ok=ok,
        detail=detail,
    )


def audited(
    actor: Actor,
    action: str,
    target: str,
    after: Mapping[str, Any],
    work: Callable[[], object],
    *,
    before: Mapping[str, Any] | None = None,
) -> None:
    """Run `work`, then write the audit row for its success or (then re-raise) its failure. `target` is the
    DN the change is about; the row belongs to its domain."""
    domains = dit.domains_of(target)
    try:
        work()
    except Exception as exc:
        audit_record(
            actor=actor,
            action=action,
            target=target,
            domains=domains,
            before=before,
            after=after,
            ok=False,
            detail=str(exc)[:1000],
        )
        raise
    audit_record(actor=actor, action=action, target=target, domains=domains, before=before, after=after)
