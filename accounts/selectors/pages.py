"""The long lists of the Accounts menu (selectors): the account browser's two lists, the role overviews and
the account search. Each page is one VLV window, sorted and cut by slapd, so no request reads more than a
page. A page number past the end (a stale link, a typed number) shows the last page; only then is a second
window asked for.

Bases, filters, sorts and attribute lists are the same values on every request: slapd's VLV context for a
list is kept per (base, filter, sort, scope, attributes) (mailadmin/directory/window.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from accounts.search import PAGE_SIZE as SEARCH_PAGE_SIZE
from accounts.search import RESULT_ATTRS, AccountQuery
from accounts.selectors.tree import CHILD_CONTAINERS_FILTER, KIND_FILTERS, OBJECTS_FILTER
from mailadmin import directory
from mailadmin.directory import DirectorySizeLimit, dit, escape_filter, filter_and
from mailadmin.directory.search import Scope
from mailadmin.permissions import Kind

PAGE_SIZE = 50
DOMAINS_FILTER = "(objectClass=mailDomain)"
OBJECT_ATTRS = ["objectClass", "cn", "uid", "mail", "mailEnabled"]
CHILD_ATTRS = ["objectClass", "dc", "o", "ou", "description", "mailPrivate"]
OBJECT_SORTS = {"cn": ("cn", "uid"), "uid": ("uid", "cn")}
# The naming attribute of the children of each level, which slapd sorts them by.
CHILD_SORT = {None: "dc", Kind.DOMAIN: "o", Kind.ORGANIZATION: "ou", Kind.GROUP: "ou"}


@dataclass(frozen=True)
class WindowPage:
    """One page of a list: its entries, the list's length, and which page this is (1-based)."""

    entries: list[directory.Entry]
    total: int
    page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))


def _window(
    base: str, filterstr: str, attrs: list[str], *, page: int, sort: tuple[str, ...], scope: Scope
) -> WindowPage:
    window = directory.search_window(
        base, filterstr, attrs, offset=(page - 1) * PAGE_SIZE, count=PAGE_SIZE, sort=sort, scope=scope
    )
    last = max(1, -(-window.total // PAGE_SIZE))
    if page > last:  # a stale or typed page number: show the last page rather than an empty one
        return _window(base, filterstr, attrs, page=last, sort=sort, scope=scope)
    return WindowPage(window.entries, window.total, page)


def container_children(*, base: str, kind: Kind | None, page: int) -> WindowPage:
    """The containers directly below `base` (of `kind`; None: the domains below ou=domains), by name."""
    filterstr = DOMAINS_FILTER if kind is None else CHILD_CONTAINERS_FILTER
    return _window(base, filterstr, CHILD_ATTRS, page=page, sort=(CHILD_SORT[kind],), scope="one")


def container_objects(*, base: str, sort: str, page: int) -> WindowPage:
    """The users, resources and contacts directly in the container `base`, sorted by `sort` (cn or uid)."""
    return _window(
        base, OBJECTS_FILTER, OBJECT_ATTRS, page=page, sort=OBJECT_SORTS.get(sort, ("cn",)), scope="one"
    )


def domain_list(*, find: str, page: int) -> WindowPage:
    """Every domain (administrators' overview), optionally those whose name starts with `find`."""
    filterstr = DOMAINS_FILTER
    if find:
        filterstr = filter_and(filterstr, f"(dc={escape_filter(find.lower())}*)")
    return _window(dit.domains_dn(), filterstr, ["dc"], page=page, sort=("dc",), scope="one")


def group_list(*, base: str, find: str, page: int) -> WindowPage:
    """The groups at any depth below `base`, optionally those whose name starts with `find`."""
    filterstr = KIND_FILTERS[Kind.GROUP]
    if find:
        filterstr = filter_and(filterstr, f"(ou={escape_filter(find)}*)")
    return _window(base, filterstr, ["ou"], page=page, sort=("ou",), scope="sub")


def domain_containers(*, domain_dn: str, limit: int) -> list[str] | None:
    """The DNs of every organization and group of a domain; None if there are more than `limit`."""
    try:
        found = directory.search(domain_dn, CHILD_CONTAINERS_FILTER, directory.NO_ATTRS, limit=limit)
    except DirectorySizeLimit:
        return None
    return [entry.dn for entry in found]


def account_search_page(
    *, query: AccountQuery, page: int, attrs: Sequence[str] = RESULT_ATTRS
) -> directory.Window:
    """Page `page` (1-based) of the search's results, sorted and cut by slapd (VLV)."""
    return directory.search_window(
        query.base,
        query.filter(),
        list(attrs),
        offset=(max(page, 1) - 1) * SEARCH_PAGE_SIZE,
        count=SEARCH_PAGE_SIZE,
        sort=query.sort_keys,
    )


def account_search_count(*, query: AccountQuery) -> int:
    """How many entries the search matches (paged, DNs only: past the size limit too)."""
    return directory.count(query.base, query.filter())
