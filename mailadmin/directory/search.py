"""Reading the directory: single entries, small searches, paged + server-side-sorted pages, VLV windows.

Sorting is slapd's sssvlv overlay (RFC 2891 sort, VLV). Without it the server refuses the critical sort
control; we then remember that for the URI, log it once, and page unsorted (`Page.sorted` is False).
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Sequence
from typing import Any, Literal

import ldap
from django.conf import settings
from ldap.controls import SimplePagedResultsControl
from ldap.controls.sss import SSSRequestControl, SSSResponseControl
from ldap.ldapobject import LDAPObject

from mailadmin.directory.connection import cookie_issued, cookie_take, dedicated, run
from mailadmin.directory.dit import _parse
from mailadmin.directory.entries import Entry, Page
from mailadmin.directory.errors import DirectoryPageExpired, translate
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
    "sort_rules",
]
