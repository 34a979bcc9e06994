"""Idempotent directory writes for finishing or undoing journal steps (accounts/services/journal.py).

Each looks before it writes: run twice, or after the step it repeats had already happened before the
process died, it changes nothing the second time. A service's own first run uses the strict writes
(`directory.add` refuses an entry that exists: it may be someone else's); these are for the drift check and
for undoing what the operation itself did.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from typing import Any

from mailadmin import directory
from mailadmin.directory import DirectoryNotFound, acl, dit
from mailadmin.directory.entries import AttrValues


def added(dn: str, attrs: Mapping[str, AttrValues]) -> None:
    if not directory.exists(dn):
        directory.add(dn, attrs)


def deleted(dn: str) -> None:
    with contextlib.suppress(DirectoryNotFound):  # nothing to delete is what was wanted
        directory.delete(dn)


def readded(saved: Mapping[str, Any]) -> None:
    """Put back a deleted entry from its saved attributes (`{"dn": ..., "attrs": ...}`). A private container
    gets its access rule before it is visible again (the order container_set_private keeps)."""
    dn, attrs = str(saved["dn"]), saved["attrs"]
    if directory.exists(dn):
        return
    private = [v.upper() for v in attrs.get("mailprivate", attrs.get("mailPrivate", []))] == ["TRUE"]
    if private:
        acl.access_apply([*acl.private_containers(), dn])
    directory.add(dn, attrs)


def replaced(dn: str, values: Mapping[str, AttrValues | None]) -> None:
    """Set each attribute to its value (None: remove it). Replace is idempotent by nature."""
    if values:
        directory.modify(dn, [directory.replace(attr, value) for attr, value in values.items()])


def attributes_after(data: Mapping[str, Any], _actor: object) -> None:
    """Redo of a journaled modify: data["dn"] gets the values in data["after"]."""
    replaced(data["dn"], data["after"])


def attributes_before(data: Mapping[str, Any], _actor: object) -> None:
    """Undo of a journaled modify: data["dn"] gets back the values in data["before"]."""
    replaced(data["dn"], data["before"])


def _holds(current: Iterable[str], value: str, dn_valued: bool) -> bool:
    if dn_valued:
        return any(dit.same_dn(v, value) for v in current)
    return value.lower() in {v.lower() for v in current}


def values(
    dn: str, attr: str, *, present: Iterable[str] = (), absent: Iterable[str] = (), dn_valued: bool = False
) -> None:
    """`present` values are there and `absent` ones are not, whatever was there before."""
    entry = directory.get_entry(dn, [attr])
    if entry is None:
        raise DirectoryNotFound(f"The entry {dn} does not exist.")
    current = entry.values(attr)
    drop = [v for v in current if any(_holds([v], a, dn_valued) for a in absent)]
    add = [v for v in dict.fromkeys(present) if not _holds(current, v, dn_valued)]
    directory.modify(dn, directory.value_changes(attr, drop=drop, add=add))


def renamed(dn: str, new_dn: str, new_rdn: str, new_parent: str | None = None) -> None:
    """`dn` is at `new_dn` (rdn `new_rdn`, under `new_parent` if it moves): renamed unless it is there."""
    if dit.same_dn(dn, new_dn):  # a case-only rename: both spellings name the one entry
        if directory.exists(dn):
            directory.rename(dn, new_rdn)
        return
    if directory.exists(new_dn):
        return
    directory.rename(dn, new_rdn, new_parent)
