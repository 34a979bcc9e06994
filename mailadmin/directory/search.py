"""Reading the directory: single entries, small searches, paged + server-side-sorted pages, VLV windows.

Sorting is slapd's sssvlv overlay (RFC 2891 sort, VLV). Without it the server refuses the critical sort
control; we then remember that for the URI, log it once, and page unsorted (`Page.sorted` is False).
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import ldap
from django.conf import settings
from ldap.controls import DecodeControlTuples, SimplePagedResultsControl
from ldap.controls.sss import SSSRequestControl, SSSResponseControl
from ldap.controls.vlv import VLVRequestControl, VLVResponseControl
from ldap.ldapobject import LDAPObject

from mailadmin.directory import vlv
from mailadmin.directory.connection import cookie_issued, cookie_take, dedicated, run, sort_state_added
from mailadmin.directory.dit import _parse
from mailadmin.directory.entries import Entry, Page, Window
from mailadmin.directory.errors import DirectoryPageExpired, DirectoryUnavailable, translate
from mailadmin.directory.names import escape_filter

log = logging.getLogger(__name__)

Scope = Literal["base", "one", "sub"]
_SCOPES = {"base": ldap.SCOPE_BASE, "one": ldap.SCOPE_ONELEVEL, "sub": ldap.SCOPE_SUBTREE}
NO_ATTRS = ["1.1"]  # RFC 4511: return no attributes, only DNs (cheap counts and existence checks)
MAX_PAGE = 1000

# Our naming and listing attributes (cn, sn, uid, o, ou, dc, mail) have equality rules but no ORDERING rule in
# their schema, so slapd answers "inappropriate matching" unless the sort key names one. Attributes that have
# their own ordering rule are listed here and sorted by it.
_OWN_ORDERING = frozenset({"mailquota", "createtimestamp", "modifytimestamp"})
_DEFAULT_ORDERING = "caseIgnoreOrderingMatch"
_sort_unsupported: set[str] = set()  # LDAP URIs whose server cannot sort


def filter_eq(attr: str, value: str) -> str:
    """`(attr=value)` with the value escaped (RFC 4515)."""
    return f"({attr}={escape_filter(value)})"


def filter_and(*parts: str) -> str:
    return parts[0] if len(parts) == 1 else "(&" + "".join(parts) + ")"


def filter_or(*parts: str) -> str:
    return parts[0] if len(parts) == 1 else "(|" + "".join(parts) + ")"


def _attrlist(attrs: Sequence[str] | None) -> list[str] | None:
    return list(attrs) if attrs is not None else None


def _entries(data: list[tuple[Any, Any]]) -> list[Entry]:
    # Search references (dn None) are skipped: the console's tree has no referrals.
    return [Entry.from_ldap(dn, raw) for dn, raw in data if dn is not None]


def sort_rules(sort: Sequence[str]) -> list[str]:
    """Sort keys like ("cn", "-uid") as RFC 2891 rules: `[-]attr[:orderingRule]`."""
    rules = []
    for key in sort:
        reverse, attr = key.startswith("-"), key.lstrip("-")
        if ":" not in attr and attr.lower() not in _OWN_ORDERING:
            attr = f"{attr}:{_DEFAULT_ORDERING}"
        rules.append(("-" if reverse else "") + attr)
    return rules


def _sort_possible(sort: Sequence[str] | None) -> bool:
    return bool(sort) and str(settings.LDAP_URI) not in _sort_unsupported


def _mark_unsorted() -> None:
    uri = str(settings.LDAP_URI)
    if uri not in _sort_unsupported:
        _sort_unsupported.add(uri)
        log.warning("directory %s cannot sort (load the sssvlv overlay); lists are paged unsorted", uri)


def get_entry(dn: str, attrs: Sequence[str] | None = None) -> Entry | None:
    """The entry at `dn`, or None if there is none (or `dn` is not a valid DN: treat guesses as absent).
    `dn=""` reads the root DSE."""
    if dn and _parse(dn) is None:
        return None

    def op(conn: LDAPObject) -> Entry | None:
        try:
            data = conn.search_ext_s(dn, ldap.SCOPE_BASE, "(objectClass=*)", _attrlist(attrs), sizelimit=1)
        except (ldap.NO_SUCH_OBJECT, ldap.INVALID_DN_SYNTAX):
            return None
        found = _entries(data)
        return found[0] if found else None

    return run(op, what="read", dn=dn)


def exists(dn: str) -> bool:
    return get_entry(dn, NO_ATTRS) is not None


def search(
    base: str,
    filterstr: str = "(objectClass=*)",
    attrs: Sequence[str] | None = None,
    scope: Scope = "sub",
    *,
    limit: int = 0,
) -> list[Entry]:
    """A small search, all results at once. More than the server's size limit (500 for non-root accounts)
    or than `limit` raises DirectorySizeLimit: use `search_page`/`iter_paged` for big sets."""

    def op(conn: LDAPObject) -> list[Entry]:
        return _entries(conn.search_ext_s(base, _SCOPES[scope], filterstr, _attrlist(attrs), sizelimit=limit))

    return run(op, what="search", dn=base)


def _paged_request(
    conn: LDAPObject,
    base: str,
    scope: Scope,
    filterstr: str,
    attrs: Sequence[str] | None,
    *,
    page_size: int,
    cookie: bytes,
    sort: Sequence[str] | None,
) -> tuple[list[Entry], bytes | None, int | None, bool]:
    """One round trip: (entries, next cookie, size estimate, sorted)."""
    paged = SimplePagedResultsControl(True, size=page_size, cookie=cookie)
    controls: list[Any] = [paged]
    if sort:
        controls.insert(0, SSSRequestControl(ordering_rules=sort_rules(sort), criticality=True))
    msgid = conn.search_ext(base, _SCOPES[scope], filterstr, _attrlist(attrs), serverctrls=controls)
    _type, data, _msgid, response = conn.result3(msgid)
    next_cookie: bytes | None = None
    estimate: int | None = None
    sorted_ = False
    for ctrl in response:
        if isinstance(ctrl, SimplePagedResultsControl):
            next_cookie = ctrl.cookie or None
            estimate = ctrl.size or None
        elif isinstance(ctrl, SSSResponseControl):
            sorted_ = ctrl.result == 0
    return _entries(data), next_cookie, estimate, sorted_


def _check_page_size(page_size: int) -> None:
    if not 0 < page_size <= MAX_PAGE:
        raise ValueError(f"page_size must be between 1 and {MAX_PAGE}")


def search_page(
    base: str,
    filterstr: str,
    attrs: Sequence[str] | None,
    *,
    page_size: int,
    cookie: bytes | None = None,
    sort: Sequence[str] | None = ("cn",),
    scope: Scope = "sub",
) -> Page:
    """One page (RFC 2696), sorted by the server (RFC 2891) when it can.

    Pass the returned `cookie` back with the same arguments for the next page, on the same thread and soon:
    slapd keeps the state per connection (and with sssvlv a foreign cookie silently restarts at page 1), so
    a cookie not issued on this thread's connection raises DirectoryPageExpired without asking the server.
    Views that page across requests use `search_window`.
    """
    _check_page_size(page_size)
    want_sort = sort if _sort_possible(sort) else None

    def op(conn: LDAPObject) -> Page:
        if cookie and not cookie_take(conn, cookie):
            raise DirectoryPageExpired("This page of results has expired; start again from the first page.")
        try:
            entries, next_cookie, estimate, sorted_ = _paged_request(
                conn, base, scope, filterstr, attrs, page_size=page_size, cookie=cookie or b"", sort=want_sort
            )
        except ldap.UNAVAILABLE_CRITICAL_EXTENSION:
            if not want_sort:
                raise
            _mark_unsorted()
            entries, next_cookie, estimate, sorted_ = _paged_request(
                conn, base, scope, filterstr, attrs, page_size=page_size, cookie=cookie or b"", sort=None
            )
        if want_sort and not sorted_:
            _mark_unsorted()
        if next_cookie:
            cookie_issued(conn, next_cookie)
        return Page(entries, next_cookie, estimate, sorted_)

    return run(
        op, what="search", dn=base, retry=cookie is None, uses_sort_slot=bool(want_sort) and not cookie
    )


def iter_paged(
    base: str,
    filterstr: str,
    attrs: Sequence[str] | None,
    *,
    page_size: int = 500,
    sort: Sequence[str] | None = None,
    scope: Scope = "sub",
) -> Generator[Entry, None, None]:
    """Every matching entry, fetched page by page on a private connection (for jobs and exports).

    Unsorted by default: sorting makes slapd hold every candidate in memory. Closing the generator early
    closes the connection, which frees the server-side state.
    """
    _check_page_size(page_size)
    want_sort = sort if _sort_possible(sort) else None
    with dedicated() as conn:
        cookie = b""
        while True:
            try:
                entries, next_cookie, _estimate, sorted_ = _paged_request(
                    conn, base, scope, filterstr, attrs, page_size=page_size, cookie=cookie, sort=want_sort
                )
            except ldap.UNAVAILABLE_CRITICAL_EXTENSION as exc:
                if not want_sort or cookie:
                    raise translate(exc, what="search", dn=base) from exc
                _mark_unsorted()
                want_sort = None
                continue
            except ldap.LDAPError as exc:
                raise translate(exc, what="search", dn=base) from exc
            if want_sort and not sorted_:
                _mark_unsorted()
            yield from entries
            if not next_cookie:
                return
            cookie = next_cookie


def count(base: str, filterstr: str, scope: Scope = "sub") -> int:
    """Number of matching entries: paged, DNs only, so it works past the size limit and moves little data."""

    def op(conn: LDAPObject) -> int:
        total, cookie = 0, b""
        while True:
            entries, next_cookie, _estimate, _sorted = _paged_request(
                conn, base, scope, filterstr, NO_ATTRS, page_size=MAX_PAGE, cookie=cookie, sort=None
            )
            total += len(entries)
            if not next_cookie:
                return total
            cookie = next_cookie

    return run(op, what="count", dn=base)


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


__all__ = [
    "NO_ATTRS",
    "count",
    "exists",
    "filter_and",
    "filter_eq",
    "filter_or",
    "get_entry",
    "iter_paged",
    "search",
    "search_page",
    "search_window",
    "sort_rules",
]
