"""The users an export lists (selectors): every match of an account search, or every user in a container and
below, read page by page (no whole result is ever held) with the attributes of the import's columns.

The actor's scope is checked before anything is read, the same way the pages check it: a search base must
be one `base_allowed` gives the actor, a container one they may view. Anything else is DirectoryNotFound
(the view's 404), whether it exists or not. Only users are listed: resources and contacts are not what an
account import makes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from accounts.search import AccountQuery, base_allowed
from accounts.selectors.tree import KIND_FILTERS, get_container
from mailadmin import directory
from mailadmin.actor import Actor
from mailadmin.directory import DirectoryNotFound, filter_and
from mailadmin.permissions import Kind, Verb, can

EXPORT_ATTRS = (
    "uid",
    "givenName",
    "sn",
    "cn",
    "initials",
    "mail",
    "mailAlias",
    "mailForward",
    "mailEnabled",
)
PAGE = 500


def account_export_entries(
    *,
    actor: Actor,
    attrs: tuple[str, ...],
    query: Mapping[str, str] | None = None,
    container_dn: str | None = None,
) -> Iterator[directory.Entry]:
    """The users of the search `query` (AccountQuery's parameters, as the search page's links carry them) or
    of the container `container_dn` (and below), with EXPORT_ATTRS and `attrs`. Exactly one of the two.

    Checks run now (InvalidName for a bad query, DirectoryNotFound outside the actor's scope); the entries
    are read while the caller iterates.
    """
    users = KIND_FILTERS[Kind.USER]
    wanted = list(dict.fromkeys((*EXPORT_ATTRS, *attrs)))
    if query is not None and container_dn is None:
        built = AccountQuery.build(query)
        if not base_allowed(actor, built.base):
            raise DirectoryNotFound("No such place.")
        return directory.iter_paged(
            built.base, filter_and(built.filter(), users), wanted, page_size=PAGE, sort=built.sort_keys
        )
    if container_dn is not None and query is None:
        if not directory.valid_dn(container_dn) or not can(actor, Verb.VIEW, container_dn):
            raise DirectoryNotFound("No such object.")
        entry, _kind = get_container(container_dn)
        return directory.iter_paged(entry.dn, users, wanted, page_size=PAGE, sort=("uid",))
    raise ValueError("Export a search or a container, not both or neither.")
