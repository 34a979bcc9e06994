"""Which mail domain names this server hosts (as a domain or as an alias domain of one)."""

from __future__ import annotations

from collections.abc import Iterable

from mailadmin.directory import dit
from mailadmin.directory.names import InvalidName, check_domain
from mailadmin.directory.search import filter_and, filter_eq, filter_or, iter_paged

MAX_NAMES = 500  # one filter; callers ask about one page's worth of names


def hosted_domains(names: Iterable[str]) -> frozenset[str]:
    """Those of `names` that are hosted here, in one search (invalid names are simply not hosted)."""
    wanted: set[str] = set()
    for name in names:
        try:
            wanted.add(check_domain(name))
        except InvalidName:
            continue
    if not wanted:
        return frozenset()
    if len(wanted) > MAX_NAMES:
        raise ValueError(f"at most {MAX_NAMES} domain names at once")
    terms = [t for n in sorted(wanted) for t in (filter_eq("dc", n), filter_eq("mailDomainAlias", n))]
    found: set[str] = set()
    for entry in iter_paged(
        dit.domains_dn(), filter_and("(objectClass=mailDomain)", filter_or(*terms)), ["dc", "mailDomainAlias"]
    ):
        found.update(v.lower() for v in (*entry.values("dc"), *entry.values("mailDomainAlias")))
    return frozenset(found & wanted)
