"""Reusing slapd's sorted result between pages of a list (the VLV context ID of RFC 2891 / draft VLV).

slapd's sssvlv overlay sorts the whole result of a search for every sorted request: at 100,000 accounts that
is 300-400 ms, whatever page is asked for. A VLV response carries a context ID; sent back with the next
request on the same connection, slapd serves the page from the list it already sorted (2-10 ms).

That list does not see entries added, deleted or renamed after it was made, so a context is reused only
  - on the same connection, for the same base, filter, scope, sort keys and attributes;
  - for CONTEXT_SECONDS at most;
  - while no write went through the gateway since it was made, in any process: every write replaces a
    token in the shared cache (Redis in production), and a context made under another token is dropped.
Writes by other tools are seen after CONTEXT_SECONDS at the latest.

A context ID is the address of slapd's sort state (servers/slapd/overlays/sssvlv.c: `so_vcontext = so`), and
slapd frees the state of an EMPTY list as soon as it has answered, yet still sends its ID. The next sort on
the connection may be allocated at the same address, so that ID would then name another list: a list view
would show another container's entries (the browser's child list showed users and failed with a 500). So
the context of an empty list is never kept, and a kept one is checked on reuse: same size as when it was
made, entries inside the base (see `search.search_window`).
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Hashable
from weakref import WeakKeyDictionary

from django.core.cache import cache
from ldap.ldapobject import LDAPObject

CONTEXT_SECONDS = 30.0
_TOKEN_KEY = "mailadmin:directory:write-token"  # noqa: S105 — a cache key, not a secret
_fallback_token = uuid.uuid4().hex  # when the cache does not answer: this process's own writes only
_contexts: WeakKeyDictionary[LDAPObject, dict[Hashable, tuple[str, float, str]]] = WeakKeyDictionary()
# The size of each kept list: slapd's list never changes size, so an answer of another size is another list.
_sizes: WeakKeyDictionary[LDAPObject, dict[Hashable, int]] = WeakKeyDictionary()


def write_token() -> str:
    try:
        token = cache.get(_TOKEN_KEY)
        if token is None:
            token = uuid.uuid4().hex
            # add(): two processes racing here agree on one token.
            if not cache.add(_TOKEN_KEY, token, timeout=None):
                token = cache.get(_TOKEN_KEY) or token
        return str(token)
    except Exception:  # noqa: BLE001 — a cache outage must not break lists; contexts then die by age
        return _fallback_token


def invalidate() -> None:
    """Called after every write: sorted lists made before it are not reused."""
    global _fallback_token
    _fallback_token = uuid.uuid4().hex
    # A cache outage must not fail the write; the context age then bounds the staleness.
    with contextlib.suppress(Exception):
        cache.set(_TOKEN_KEY, uuid.uuid4().hex, timeout=None)


def context_for(conn: LDAPObject, key: Hashable, token: str) -> str | None:
    entry = _contexts.get(conn, {}).get(key)
    if entry is None:
        return None
    context_id, made, made_token = entry
    if made_token != token or time.monotonic() - made > CONTEXT_SECONDS:
        forget(conn, key)
        return None
    return context_id


def remember(
    conn: LDAPObject,
    key: Hashable,
    context_id: str | None,
    token: str,
    *,
    made: float | None,
    size: int,
) -> None:
    """Keep the context of a response for a list of `size` entries. `made` is when its sort was done (None:
    now, a fresh sort). An empty list's context is dropped: slapd has already freed it (module docstring)."""
    if not context_id or size <= 0:
        forget(conn, key)
        return
    _contexts.setdefault(conn, {})[key] = (context_id, time.monotonic() if made is None else made, token)
    _sizes.setdefault(conn, {})[key] = size


def forget(conn: LDAPObject, key: Hashable) -> None:
    _contexts.get(conn, {}).pop(key, None)
    _sizes.get(conn, {}).pop(key, None)


def size_of(conn: LDAPObject, key: Hashable) -> int | None:
    """The size of the kept list, if known."""
    return _sizes.get(conn, {}).get(key)
