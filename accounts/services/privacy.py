"""Private containers (ACC-03): "Make private from rest of directory" on a domain, organization or group.

The flag is `mailPrivate: TRUE` on the container entry; slapd enforces it through ACLs the console renders
from the flagged containers (members inside see each other and public entries; outsiders see nothing)."""

from __future__ import annotations

from accounts.services.common import audited
from mailadmin import directory
from mailadmin.actor import Actor
from mailadmin.directory import DirectoryNotFound


def container_set_private(*, actor: Actor, dn: str, private: bool) -> None:
    entry = directory.get_entry(dn, ["objectClass", "mailPrivate"])
    if entry is None or not (entry.has_object_class("mailDomain") or entry.has_object_class("mailContainer")):
        raise DirectoryNotFound(f"There is no domain, organization or group {dn}.")
    before = entry.get("mailPrivate")

    def work() -> None:
        directory.modify(dn, [directory.replace("mailPrivate", True if private else None)])
        # TODO(ACC-03): render and apply the slapd ACLs for every private container.

    audited(actor, "container_set_private", dn, {"mailPrivate": private, "before": before}, work)
