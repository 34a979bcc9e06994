"""Connections to slapd: one pooled connection per thread (and per settings), plus fresh ones for user binds.

Settings are read at every call, so `override_settings` in tests and a changed stack take effect at once: the
pool key includes them. Each operation gets one reconnect if the server dropped the connection (idle timeout,
restart); every python-ldap exception leaves as a DirectoryError.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import os
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TypeVar

import ldap
from django.conf import settings
from ldap.controls import DecodeControlTuples
from ldap.controls.ppolicy import PasswordPolicyControl
from ldap.ldapobject import LDAPObject

from mailadmin.directory.errors import DirectoryRefused, DirectoryUnavailable, translate
from mailadmin.directory.names import InvalidName, check_password

log = logging.getLogger(__name__)
T = TypeVar("T")

# slapd's sssvlv keeps sort/VLV state per connection (olcSssVlvMaxPerConn, default 16) until the search
# finishes or the connection closes; a VLV request on a non-empty list always leaves its state behind. Recycle
# a pooled connection after this many sorted requests instead of hitting "Other sort requests already in
# progress". The server-wide limit (olcSssVlvMax) can still be reached by many connections together: then
# `search_window` answers unsorted (see there).
SORT_SLOTS_PER_CONNECTION = 12


@dataclass(frozen=True)
class Target:
    uri: str
    bind_dn: str
    password_digest: str = field(repr=False)
    starttls: bool
    timeout: float


@dataclass
class Conn:
    ldap: LDAPObject
    target: Target
    sort_ops: int = 0


# Paged-results cookies this process received, per connection. slapd ties paged state to the connection, and
# with sssvlv an unknown cookie silently restarts at page 1 instead of failing; so a cookie is only sent on
# the connection that issued it, and refused (DirectoryPageExpired) anywhere else.
_issued: weakref.WeakKeyDictionary[LDAPObject, dict[bytes, None]] = weakref.WeakKeyDictionary()
MAX_COOKIES_PER_CONNECTION = 64


def cookie_issued(conn: LDAPObject, cookie: bytes) -> None:
    cookies = _issued.setdefault(conn, {})
    cookies[cookie] = None
    while len(cookies) > MAX_COOKIES_PER_CONNECTION:
        del cookies[next(iter(cookies))]


def cookie_take(conn: LDAPObject, cookie: bytes) -> bool:
    """True (and forget it) if `cookie` was issued on `conn`."""
    cookies = _issued.get(conn, {})
    if cookie in cookies:
        del cookies[cookie]
        return True
    return False


@functools.lru_cache(maxsize=16)
def _digest(password: str) -> str:
    return hashlib.sha256(password.encode()).hexdigest()


def _target() -> tuple[Target, str]:
    password = str(settings.LDAP_ADMIN_PASSWORD or "")
    target = Target(
        uri=str(settings.LDAP_URI),
        bind_dn=str(settings.LDAP_ADMIN_DN),
        password_digest=_digest(password),
        starttls=bool(settings.LDAP_STARTTLS),
        timeout=float(settings.LDAP_TIMEOUT),
    )
    return target, password


def open_connection(uri: str, *, timeout: float, starttls: bool) -> LDAPObject:
    """An unbound connection with timeouts set (network connect and every synchronous operation)."""
    conn = ldap.initialize(uri)
    conn.set_option(ldap.OPT_PROTOCOL_VERSION, 3)
    conn.set_option(ldap.OPT_REFERRALS, 0)
    conn.set_option(ldap.OPT_NETWORK_TIMEOUT, timeout)
    conn.set_option(ldap.OPT_TIMEOUT, timeout)
    conn.timeout = timeout  # python-ldap's own default for result() in the *_s methods
    if starttls:
        conn.set_option(ldap.OPT_X_TLS_NEWCTX, 0)
        conn.start_tls_s()
    return conn


def _connect(target: Target, password: str) -> Conn:
    conn = open_connection(target.uri, timeout=target.timeout, starttls=target.starttls)
    try:
        conn.simple_bind_s(target.bind_dn, password)
    except ldap.INVALID_CREDENTIALS as exc:
        _close(conn)
        raise DirectoryUnavailable(
            "The console cannot log in to the directory: LDAP_ADMIN_DN or LDAP_ADMIN_PASSWORD is wrong.",
            permanent=True,
        ) from exc
    except ldap.LDAPError:
        _close(conn)
        raise
    return Conn(conn, target)


def _close(conn: LDAPObject) -> None:
    with contextlib.suppress(ldap.LDAPError):  # already gone; nothing to tell anyone
        conn.unbind_ext_s()


class _Pool(threading.local):
    def __init__(self) -> None:
        self.pid = os.getpid()
        self.conns: dict[Target, Conn] = {}


_pool = _Pool()
# Connections inherited across fork() (gunicorn --preload, Celery prefork) share their socket with the parent;
# unbinding them in the child would close the parent's session, so the child only forgets them. Keeping a
# reference stops python-ldap's destructor from sending an unbind.
_inherited: list[Conn] = []


def _acquire(target: Target, password: str) -> Conn:
    if _pool.pid != os.getpid():
        _inherited.extend(_pool.conns.values())
        _pool.conns = {}
        _pool.pid = os.getpid()
    conn = _pool.conns.get(target)
    if conn is None:
        conn = _connect(target, password)
        _pool.conns[target] = conn
    return conn


def _discard(conn: Conn) -> None:
    if _pool.conns.get(conn.target) is conn:
        del _pool.conns[conn.target]
    _close(conn.ldap)


def sort_state_added(conn: LDAPObject) -> None:
    """Count a sort state slapd kept on this thread's pooled `conn` that `run` did not foresee: a request
    meant to reuse a VLV context that slapd answered from a fresh sort (context gone, or busy)."""
    for pooled in _pool.conns.values():
        if pooled.ldap is conn:
            pooled.sort_ops += 1
            return


def sort_state_released(conn: LDAPObject) -> None:
    """Give back a sort state `run` counted that slapd did not keep: a sort whose result was empty (sssvlv
    frees its state at once). Without this a page with an empty list (an organization without groups)
    would use up the connection's states, and the pool would drop the connection and its sorted lists."""
    for pooled in _pool.conns.values():
        if pooled.ldap is conn:
            pooled.sort_ops = max(0, pooled.sort_ops - 1)
            return


def close_all() -> None:
    """Close this thread's pooled connections (tests, shutdown, after a settings change)."""
    for conn in list(_pool.conns.values()):
        _discard(conn)


def run(
    op: Callable[[LDAPObject], T],
    *,
    what: str,
    dn: str = "",
    retry: bool = True,
    uses_sort_slot: bool | Callable[[LDAPObject], bool] = False,
) -> T:
    """Run `op` on this thread's admin connection, reconnecting once if the server went away.

    `retry=False` for operations bound to the connection's state (a paged-results cookie): on a new
    connection they could only fail. A retried write may already have been applied before the connection
    dropped; slapd then answers "already exists"/"no such object", which surfaces as a typed error.
    """
    target, password = _target()
    attempts = 2 if retry else 1
    for attempt in range(1, attempts + 1):
        conn: Conn | None = None
        try:
            conn = _acquire(target, password)
            # A callable tells per connection: a request that reuses a VLV context takes no new slot.
            if uses_sort_slot is True or (callable(uses_sort_slot) and uses_sort_slot(conn.ldap)):
                if conn.sort_ops >= SORT_SLOTS_PER_CONNECTION:
                    _discard(conn)
                    conn = _acquire(target, password)
                conn.sort_ops += 1
            return op(conn.ldap)
        except (ldap.SERVER_DOWN, ldap.CONNECT_ERROR, ldap.BUSY) as exc:
            # BUSY here is sssvlv's "Other sort requests already in progress": a fresh connection has none.
            if conn is not None:
                _discard(conn)
            if attempt == attempts:
                raise translate(exc, what=what, dn=dn) from exc
            log.info("directory: %s, reconnecting (%s)", type(exc).__name__, what)
        except ldap.TIMEOUT as exc:
            if conn is not None:
                _discard(conn)  # the answer may still arrive and would confuse the next operation
            raise translate(exc, what=what, dn=dn) from exc
        except ldap.LDAPError as exc:
            raise translate(exc, what=what, dn=dn) from exc
    raise AssertionError("unreachable")  # pragma: no cover


@contextmanager
def dedicated() -> Iterator[LDAPObject]:
    """A private admin connection for long work (paged iteration in jobs) that must not share state."""
    target, password = _target()
    try:
        conn = _connect(target, password)
    except ldap.LDAPError as exc:
        raise translate(exc, what="connect") from exc
    try:
        yield conn.ldap
    finally:
        _close(conn.ldap)


_PPOLICY_BIND_ERRORS = {
    0: "The password has expired; ask an administrator to set a new one.",
    1: "The account is locked after too many failed logins; ask an administrator to unlock it.",
}


@contextmanager
def user_connection(dn: str, password: str) -> Iterator[LDAPObject]:
    """A fresh connection bound as `dn` (never pooled: it carries a user's identity)."""
    try:
        check_password(password)  # before sending: an empty password is an anonymous bind that succeeds
    except InvalidName as exc:
        raise DirectoryRefused("Wrong login name or password.") from exc
    target, _ = _target()
    try:
        conn = open_connection(target.uri, timeout=target.timeout, starttls=target.starttls)
    except ldap.LDAPError as exc:
        raise translate(exc, what="connect") from exc
    try:
        try:
            conn.simple_bind_s(dn, password, serverctrls=[PasswordPolicyControl()])
        except ldap.INVALID_CREDENTIALS as exc:
            raise DirectoryRefused(_bind_failure(exc)) from exc
        except ldap.INVALID_DN_SYNTAX as exc:
            raise DirectoryRefused("Wrong login name or password.") from exc
        except ldap.LDAPError as exc:
            raise translate(exc, what="login", dn=dn) from exc
        yield conn
    finally:
        _close(conn)


def _bind_failure(exc: ldap.LDAPError) -> str:
    raw = exc.args[0].get("ctrls") if exc.args and isinstance(exc.args[0], dict) else None
    if raw:
        try:
            for ctrl in DecodeControlTuples(raw):
                if isinstance(ctrl, PasswordPolicyControl) and ctrl.error in _PPOLICY_BIND_ERRORS:
                    return _PPOLICY_BIND_ERRORS[ctrl.error]
        except Exception:  # noqa: S110 - a malformed control must not hide the real answer
            pass
    return "Wrong login name or password."


def bind_as(dn: str, password: str) -> None:
    """Check a user's own credentials on a fresh connection; raises DirectoryRefused if they are wrong."""
    with user_connection(dn, password):
        pass


__all__ = [
    "Conn",
    "Target",
    "bind_as",
    "close_all",
    "dedicated",
    "open_connection",
    "run",
    "sort_state_added",
    "sort_state_released",
    "user_connection",
]
