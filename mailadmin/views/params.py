"""Request parameters every menu's views read the same way: a DN, and the account it names."""

from __future__ import annotations

from collections.abc import Iterable

from django.http import Http404, HttpRequest

from mailadmin import directory

MAX_DN = 1024


def dn_param(request: HttpRequest, name: str = "dn") -> str:
    """The DN in `?<name>=`; 404 for a missing, over-long or malformed one (nothing is asked of slapd)."""
    dn = request.GET.get(name, "")
    if not dn or len(dn) > MAX_DN or not directory.valid_dn(dn):
        raise Http404("No such object.")
    return dn


def account_or_404(dn: str, attrs: Iterable[str]) -> directory.Entry:
    """The account at `dn` with `attrs` (objectClass and uid always); 404 for anything else."""
    entry = directory.get_entry(dn, list({"objectClass", "uid", *attrs}))
    if entry is None or not directory.is_account(entry):
        raise Http404("No such account.")
    return entry
