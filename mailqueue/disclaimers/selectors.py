"""Disclaimer reads (selectors): the list with whether each owner is still in the directory, and one
disclaimer by id. Publishing state is `services.published_in_sync`."""

from __future__ import annotations

from dataclasses import dataclass

from mailadmin.directory import NO_ATTRS, DirectoryError, get_entry
from mailqueue.disclaimers.models import Disclaimer

MAX_LISTED = 1000


@dataclass(frozen=True)
class DisclaimerRow:
    item: Disclaimer
    exists: bool | None  # is the owner (user, group, organization, domain) still there; None: no answer


def disclaimer_owner_exists(*, dn: str) -> bool | None:
    try:
        return get_entry(dn, NO_ATTRS) is not None
    except DirectoryError:
        return None


def disclaimer_rows(*, limit: int = MAX_LISTED) -> list[DisclaimerRow]:
    """The disclaimers (by owner), each with whether its owner still exists: one base read per row."""
    return [
        DisclaimerRow(item, disclaimer_owner_exists(dn=item.owner_dn))
        for item in Disclaimer.objects.all()[:limit]
    ]


def disclaimer_get(*, disclaimer_id: int) -> Disclaimer | None:
    try:
        return Disclaimer.objects.get(pk=disclaimer_id)
    except Disclaimer.DoesNotExist:
        return None
