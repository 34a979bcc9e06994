"""URLs of the Aliases menu: each view module keeps its own `urlpatterns`; this file only joins them."""

from __future__ import annotations

from aliases.views import addresses, aliases, explain, system

urlpatterns = [
    *aliases.urlpatterns,
    *system.urlpatterns,
    *addresses.urlpatterns,
    *explain.urlpatterns,
]
