"""Windows of a sorted list by position (Virtual List View): page N of M on any connection.

slapd's sssvlv overlay sorts and keeps the sorted list per connection; `vlv` remembers the context IDs so the
next page of the same list is served from it. A context is reused only when the answer proves it is still
our list (same size, every entry inside the base): slapd hands a freed state's address to a later sort, and
the old ID then names another list. Without sssvlv, or when slapd has no sort state to give, the window is
cut from unsorted pages (correct but O(offset)).
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import ldap
from ldap.controls import DecodeControlTuples
from ldap.controls.sss import SSSRequestControl
from ldap.controls.vlv import VLVRequestControl, VLVResponseControl
from ldap.ldapobject import LDAPObject

from mailadmin.directory import vlv
from mailadmin.directory.connection import run, sort_state_added, sort_state_released
from mailadmin.directory.dit import _parse
from mailadmin.directory.entries import Entry, Window
from mailadmin.directory.errors import DirectoryUnavailable
from mailadmin.directory.search import (
    _SCOPES,
    MAX_PAGE,
    Scope,
    _attrlist,
    _entries,
    _mark_unsorted,
    _sort_possible,
    iter_paged,
    sort_rules,
)

log = logging.getLogger(__name__)


def search_window(
    base: str,
    filterstr: str,
    attrs: Sequence[str] | None,
    *,
    offset: int,
    count: int,
    sort: Sequence[str] = ("cn",),
    scope: Scope = "sub",
) -> Window:
    """Entries `offset` .. `offset+count-1` of the sorted result, and the total (Virtual List View).

    Stateless between calls, so a list view can show page N of M on any connection. An offset past the end
    gives no entries and the current total (the caller shows the last page). Needs sssvlv; without it, or
    when slapd has no sort state left to give (BUSY even on a fresh connection), this falls back to skipping
    through unsorted pages (correct but O(offset), `Window.sorted` False).
    """
    if offset < 0 or not 0 < count <= MAX_PAGE:
        raise ValueError(f"offset must be >= 0 and count between 1 and {MAX_PAGE}")
    if _sort_possible(sort):
        query = _VlvQuery(base, scope, filterstr, tuple(attrs) if attrs is not None else None, tuple(sort))
        key = (base.lower(), filterstr, query.sort, scope, query.attrs)
        token = vlv.write_token()

        def op(conn: LDAPObject) -> Window | None:
            context_id = vlv.context_for(conn, key, token)
            if context_id is not None:
                reused = _reuse(conn, query, key, token, context_id, offset=offset, count=count)
                if reused is not None:
                    return reused
                sort_state_added(conn)  # the fresh sort below takes a state `run` did not count
            answer = query.ask(conn, None, offset=offset, count=count)
            if answer is None:
                return None
            entries, total, new_id = answer
            if total == 0:
                sort_state_released(conn)  # slapd freed the state of an empty list at once
            vlv.remember(conn, key, new_id, token, made=None, size=total)
            return Window(entries, offset, total, True)

        def new_sort(conn: LDAPObject) -> bool:  # reusing a context takes no new sort state
            return vlv.context_for(conn, key, token) is None

        try:
            window = run(op, what="search", dn=base, uses_sort_slot=new_sort)
        except DirectoryUnavailable as exc:
            if not isinstance(exc.__cause__, ldap.BUSY):
                raise
            # Every sort state slapd allows (olcSssVlvMax) is held by other connections, and a fresh
            # connection of ours got none either. The server can sort: answer unsorted this once, unmarked.
            log.warning("directory: no sort state free on the server; %s listed unsorted", base)
            return _window_fallback(base, filterstr, attrs, offset=offset, count=count, scope=scope)
        if window is not None:
            return window
        _mark_unsorted()
    return _window_fallback(base, filterstr, attrs, offset=offset, count=count, scope=scope)


@dataclass(frozen=True)
class _VlvQuery:
    base: str
    scope: Scope
    filterstr: str
    attrs: tuple[str, ...] | None
    sort: tuple[str, ...]

    def ask(
        self, conn: LDAPObject, context_id: str | None, *, offset: int, count: int
    ) -> tuple[list[Entry], int, str | None] | None:
        """One sorted VLV request: (entries, size of the list, context ID of the answer); None if the server
        cannot sort. An offset past the end is sssvlv's offsetRangeError: no entries, and the size."""
        controls = [
            SSSRequestControl(ordering_rules=sort_rules(self.sort), criticality=True),
            # VLV offsets are 1-based; content_count=0 means "you tell me the total".
            VLVRequestControl(
                criticality=True,
                before_count=0,
                after_count=count - 1,
                offset=offset + 1,
                content_count=0,
                context_id=context_id,
            ),
        ]
        try:
            msgid = conn.search_ext(
                self.base, _SCOPES[self.scope], self.filterstr, _attrlist(self.attrs), serverctrls=controls
            )
            _type, data, _msgid, response = conn.result3(msgid)
        except ldap.UNAVAILABLE_CRITICAL_EXTENSION:
            return None
        except ldap.VLV_ERROR as exc:
            found = _vlv_control(exc)
            if found is None or offset < int(found.content_count):
                raise
            return [], int(found.content_count), found.context_id
        found = next((c for c in response if isinstance(c, VLVResponseControl)), None)
        if found is None:
            return None
        total = int(found.content_count)
        return (_entries(data) if offset < total else []), total, found.context_id


def _reuse(
    conn: LDAPObject,
    query: _VlvQuery,
    key: Hashable,
    token: str,
    context_id: str,
    *,
    offset: int,
    count: int,
) -> Window | None:
    """The window from the list slapd sorted before (its context ID), or None: then sort afresh."""
    try:
        answer = query.ask(conn, context_id, offset=offset, count=count)
    except (ldap.SERVER_DOWN, ldap.CONNECT_ERROR, ldap.TIMEOUT):
        raise  # the connection itself is gone or in doubt: `run` replaces it
    except ldap.LDAPError as exc:
        # slapd refused the context: BUSY ("Other sort requests already in progress": sssvlv marks a list
        # idle only after it has sent the previous answer, so the next request can still find it in use),
        # or an error for an ID it cannot read. Nothing of it is worth keeping.
        log.info("directory: VLV context not reused (%s), sorting afresh", type(exc).__name__)
        vlv.forget(conn, key)
        return None
    if answer is None:
        vlv.forget(conn, key)
        return None
    entries, total, answered_id = answer
    if answered_id != context_id:
        # slapd no longer had that list and sorted afresh for this very request: a correct answer, and one
        # more sort state on the connection that `run` did not count.
        sort_state_added(conn)
        vlv.remember(conn, key, answered_id, token, made=None, size=total)
        return Window(entries, offset, total, True)
    if total != vlv.size_of(conn, key) or not _all_within(entries, query.base, query.scope):
        # The ID names another list (a freed state's address given to a later sort): never show that.
        log.warning("directory: a VLV context named another list; sorting %s afresh", query.base)
        vlv.forget(conn, key)
        return None
    return Window(entries, offset, total, True)


def _all_within(entries: Sequence[Entry], base: str, scope: Scope) -> bool:
    parent = _parse(base)
    if parent is None:
        return False
    for entry in entries:
        child = _parse(entry.dn)
        if child is None or child[len(child) - len(parent) :] != parent:
            return False
        depth = len(child) - len(parent)
        if (scope == "one" and depth != 1) or (scope == "base" and depth != 0):
            return False
    return True


def _vlv_control(exc: ldap.LDAPError) -> VLVResponseControl | None:
    raw = exc.args[0].get("ctrls") if exc.args and isinstance(exc.args[0], dict) else None
    for ctrl in DecodeControlTuples(raw or []):
        if isinstance(ctrl, VLVResponseControl):
            return ctrl
    return None


def _window_fallback(
    base: str, filterstr: str, attrs: Sequence[str] | None, *, offset: int, count: int, scope: Scope
) -> Window:
    picked: list[Entry] = []
    total = 0
    for entry in iter_paged(base, filterstr, attrs, page_size=MAX_PAGE, scope=scope):
        if offset <= total < offset + count:
            picked.append(entry)
        total += 1
    return Window(picked, offset, total, False)
