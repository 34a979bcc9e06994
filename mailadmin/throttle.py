"""Login throttling, kept in the cache (Redis in production), counted before the directory is asked.

Two counters per attempt: one for the (login name, client address) pair and one for the address alone. Each
attempt takes its place in both counters *before* the LDAP bind, so a hundred guesses sent at once get no
more binds than the limit allows; a successful login gives the places back. Counting by pair, not by login
name alone, means a guesser elsewhere can lock nobody out but themselves: the administrator's own browser
keeps its own count. Decision 0011 (with slapd's ppolicy lockout, which the administrators' policy leaves
off).
"""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache


def _key(kind: str, *parts: str) -> str:
    value = "\n".join(p.strip().lower() for p in parts)
    digest = hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()[:32]
    return f"login-fail:{kind}:{digest}"


def _take(key: str) -> int:
    """Add one to the counter (made with the window as its lifetime on first use); the new count."""
    window = settings.LOGIN_THROTTLE_WINDOW
    cache.add(key, 0, timeout=window)
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        return 1


@dataclass(frozen=True)
class Attempt:
    """One login attempt's places in the counters."""

    pair_key: str
    ip_key: str | None


def login_attempt(*, username: str, ip: str) -> Attempt | None:
    """Take a place for one login attempt; None when the pair or the address has used up its attempts (then
    the directory must not be asked)."""
    attempt = Attempt(_key("pair", username, ip), _key("ip", ip) if ip else None)
    blocked = _take(attempt.pair_key) > settings.LOGIN_THROTTLE_FAILURES
    if attempt.ip_key is not None and _take(attempt.ip_key) > settings.LOGIN_THROTTLE_IP_FAILURES:
        blocked = True
    return None if blocked else attempt


def login_succeeded(attempt: Attempt) -> None:
    """The password was right: the pair starts again, and the address gets its place back."""
    cache.delete(attempt.pair_key)
    if attempt.ip_key is not None:
        with contextlib.suppress(ValueError):  # expired meanwhile: nothing to give back
            cache.decr(attempt.ip_key)


def throttle_minutes() -> int:
    return max(1, settings.LOGIN_THROTTLE_WINDOW // 60)
