"""Request parameters every menu's views read the same way (the entries they name are read by selectors)."""

from __future__ import annotations

from django.http import Http404, HttpRequest

from mailadmin import directory

MAX_DN = 1024


def dn_param(request: HttpRequest, name: str = "dn") -> str:
    """The DN in `?<name>=`; 404 for a missing, over-long or malformed one (nothing is asked of slapd)."""
    dn = request.GET.get(name, "")
    if not dn or len(dn) > MAX_DN or not directory.valid_dn(dn):
        raise Http404("No such object.")
    return dn
