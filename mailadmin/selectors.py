"""Reads of the console's own pages (selectors) that belong to no menu: the dashboard's inventory. The core
imports no app; what a menu reads lives in that app's selectors."""

from __future__ import annotations

from mailadmin import directory
from mailadmin.actor import Actor


def inventory_counts(*, actor: Actor) -> list[tuple[str, int]] | None:
    """How many domains, users, groups ... the actor's area holds (administrators: the whole tree; others:
    the domains, else the groups, they administer); [] for someone who administers nothing, None if the
    directory cannot be asked."""
    try:
        if actor.roles.administrator:
            return directory.counts()
        if actor.roles.domains:
            return directory.counts(bases=sorted(actor.roles.domains))
        if actor.roles.groups:
            return directory.counts(bases=sorted(actor.roles.groups))
    except directory.DirectoryError:
        return None
    return []
