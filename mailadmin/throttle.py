"""Login throttling per account and per client address, kept in the cache (Redis in production).

slapd's ppolicy locks an account after repeated failures too; this throttle answers first, without
asking the directory, so a password-guessing run cannot even reach the bind."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache


def _key(kind: str, value: str) -> str:
    digest = hashlib.sha256(value.strip().lower().encode("utf-8", "replace")).hexdigest()[:32]
    return f"login-fail:{kind}:{digest}"


def _count(key: str) -> int:
    return int(cache.get(key, 0) or 0)


def _bump(key: str) -> None:
    window = settings.LOGIN_THROTTLE_WINDOW
    if cache.add(key, 1, timeout=window):
        return
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)


def throttle_blocked(*, username: str, ip: str) -> bool:
    return _count(_key("user", username)) >= settings.LOGIN_THROTTLE_FAILURES or (
        bool(ip) and _count(_key("ip", ip)) >= settings.LOGIN_THROTTLE_IP_FAILURES
    )


def throttle_failed(*, username: str, ip: str) -> None:
    _bump(_key("user", username))
    if ip:
        _bump(_key("ip", ip))


def throttle_succeeded(*, username: str) -> None:
    cache.delete(_key("user", username))


def throttle_minutes() -> int:
    return max(1, settings.LOGIN_THROTTLE_WINDOW // 60)
