"""The rules as the policy service reads them: a JSON snapshot in Redis plus a version token.

The database is the source of truth; every change publishes the whole ordered list (it is small), a new
token and a pub/sub message in one MULTI/EXEC, so the policy service sees either the old list or the new
one. The service reloads on the message (and reads the token now and then, in case one was lost).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Sequence

import redis
from django.conf import settings

from mailqueue.relayrules.engine import PatternError, Rule

RULES_KEY = "mailadmin:relayrules:rules"
VERSION_KEY = "mailadmin:relayrules:version"
CHANNEL = "mailadmin:relayrules:changed"


def encode(rules: Iterable[Rule], version: str) -> str:
    return json.dumps({"version": version, "rules": [r.to_json() for r in rules]}, separators=(",", ":"))


def decode(raw: str | bytes) -> tuple[str, list[Rule]]:
    """Rules from a snapshot; a rule that no longer validates is skipped (never half-applied)."""
    data = json.loads(raw)
    rules = []
    for item in data.get("rules", []):
        try:
            rules.append(
                Rule.make(
                    id=int(item["id"]),
                    position=int(item["position"]),
                    event=str(item["event"]),
                    pattern=str(item["pattern"]),
                    action=str(item["action"]),
                    text=str(item.get("text", "")),
                )
            )
        except (KeyError, ValueError, TypeError, PatternError):
            continue
    return str(data.get("version", "")), rules


def client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)


def publish(rules: Sequence[Rule]) -> str:
    """Write the snapshot and a fresh token atomically; return the token."""
    version = secrets.token_hex(8)
    with client() as conn, conn.pipeline(transaction=True) as pipe:
        pipe.set(RULES_KEY, encode(rules, version))
        pipe.set(VERSION_KEY, version)
        pipe.publish(CHANNEL, version)
        pipe.execute()
    return version


def publish_from_db() -> str:
    from mailqueue.relayrules.models import RelayRule

    return publish([r.to_rule() for r in RelayRule.objects.all()])


def published_version() -> str | None:
    with client() as conn:
        raw = conn.get(VERSION_KEY)
    return raw.decode() if isinstance(raw, bytes) else None
