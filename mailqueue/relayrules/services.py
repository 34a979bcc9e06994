"""Writes of the relay rules: each one audited and published to the policy service at once."""

from __future__ import annotations

from typing import Literal

import redis
from django.db import transaction

from mailadmin.actor import Actor
from mailadmin.audit.services import audit_record
from mailadmin.directory import dit
from mailadmin.permissions import Kind, Verb, require
from mailqueue.relayrules import store
from mailqueue.relayrules.engine import Rule
from mailqueue.relayrules.models import RelayRule


class RulesUnavailable(Exception):
    """Redis (where the policy service reads the rules) did not take the change; nothing was saved."""


def _check(actor: Actor) -> None:
    # Server-wide mail policy: administrators only (a domain administrator gets 404).
    require(actor, Verb.CONFIGURE, dit.base_dn(), kind=Kind.SERVER)


def _publish() -> None:
    """Inside the caller's transaction: if Redis refuses, the database change is rolled back too."""
    try:
        store.publish([r.to_rule() for r in RelayRule.objects.select_for_update().all()])
    except redis.RedisError as exc:
        raise RulesUnavailable(str(exc)) from exc


def _state(rule: RelayRule) -> dict[str, object]:
    return {
        "position": rule.position,
        "event": rule.event,
        "pattern": rule.pattern,
        "action": rule.action,
        "text": rule.text,
    }


def relayrule_create(*, actor: Actor, event: str, pattern: str, action: str, text: str = "") -> RelayRule:
    """Append a rule at the end of the list (validated by the same code the policy service runs)."""
    _check(actor)
    checked = Rule.make(id=0, position=0, event=event, pattern=pattern, action=action, text=text)
    with transaction.atomic():
        last = RelayRule.objects.select_for_update().order_by("-position").first()
        rule = RelayRule.objects.create(
            position=(last.position + 1) if last else 1,
            event=checked.event.value,
            pattern=checked.pattern,
            action=checked.action.value,
            text=checked.text,
        )
        _publish()
        audit_record(
            actor=actor, action="relayrule_create", target=f"relay rule {rule.pk}", after=_state(rule)
        )
    return rule


def relayrule_update(
    *, actor: Actor, rule_id: int, event: str, pattern: str, action: str, text: str = ""
) -> RelayRule:
    _check(actor)
    checked = Rule.make(id=rule_id, position=0, event=event, pattern=pattern, action=action, text=text)
    with transaction.atomic():
        rule = RelayRule.objects.select_for_update().get(pk=rule_id)
        before = _state(rule)
        rule.event, rule.pattern = checked.event.value, checked.pattern
        rule.action, rule.text = checked.action.value, checked.text
        rule.save()
        _publish()
        audit_record(
            actor=actor,
            action="relayrule_update",
            target=f"relay rule {rule.pk}",
            before=before,
            after=_state(rule),
        )
    return rule


def relayrule_delete(*, actor: Actor, rule_id: int) -> None:
    _check(actor)
    with transaction.atomic():
        rule = RelayRule.objects.select_for_update().get(pk=rule_id)
        before = _state(rule)
        rule.delete()
        _publish()
        audit_record(actor=actor, action="relayrule_delete", target=f"relay rule {rule_id}", before=before)


def relayrule_move(*, actor: Actor, rule_id: int, direction: Literal["up", "down"]) -> None:
    """Swap a rule with its neighbour (positions are renumbered 1..n on the way, so gaps never matter)."""
    _check(actor)
    with transaction.atomic():
        rules = list(RelayRule.objects.select_for_update().order_by("position", "id"))
        index = next((i for i, r in enumerate(rules) if r.pk == rule_id), None)
        if index is None:
            raise RelayRule.DoesNotExist(f"relay rule {rule_id}")
        other = index - 1 if direction == "up" else index + 1
        if not 0 <= other < len(rules):
            return
        rules[index], rules[other] = rules[other], rules[index]
        for number, rule in enumerate(rules, start=1):
            if rule.position != number:
                rule.position = number
                rule.save(update_fields=["position", "changed_at"])
        _publish()
        audit_record(
            actor=actor,
            action="relayrule_move",
            target=f"relay rule {rule_id}",
            after={"direction": direction, "position": other + 1},
        )


def relayrules_republish(*, actor: Actor) -> str:
    """Publish the database's rules again (after a Redis restart); returns the new version token."""
    _check(actor)
    with transaction.atomic():
        _publish()
        audit_record(actor=actor, action="relayrules_republish", target="relay rules")
    version = store.published_version()
    return version or ""


def relayrules_replace(*, actor: Actor, rules: list[dict[str, object]]) -> int:
    """Replace the whole list with `rules` (a backup's, in order), each checked like a new rule: one bad rule
    and nothing changes (one transaction, published once, rolled back if Redis refuses)."""
    _check(actor)
    checked = [
        Rule.make(
            id=0,
            position=0,
            event=str(r.get("event", "")),
            pattern=str(r.get("pattern", "")),
            action=str(r.get("action", "")),
            text=str(r.get("text", "")),
        )
        for r in rules
    ]
    with transaction.atomic():
        before = [_state(r) for r in RelayRule.objects.select_for_update().order_by("position")]
        RelayRule.objects.all().delete()
        for position, rule in enumerate(checked, 1):
            RelayRule.objects.create(
                position=position,
                event=rule.event.value,
                pattern=rule.pattern,
                action=rule.action.value,
                text=rule.text,
            )
        _publish()
        audit_record(
            actor=actor,
            action="relayrules_replace",
            target="relay rules",
            before={"rules": before},
            after={"rules": [_state(r) for r in RelayRule.objects.order_by("position")]},
        )
    return len(checked)
