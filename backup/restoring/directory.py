"""The directory back from a backup set: whole (staged database, swapped in by the stack's slapd) or one
domain's subtree (entries added or replaced under that domain only, undone entry by entry on failure)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings

from backup import archive
from backup.making import Hooks
from backup.stackref import open_stack
from mailadmin.directory import dit, subtree


def _extract(path: Path, member: str, into: Path, limits: archive.Limits) -> Path:
    out = into / Path(member).name
    for entry in archive.entries(path, limits):
        if entry.name == member and entry.fileobj is not None:
            with out.open("xb") as f:
                shutil.copyfileobj(entry.fileobj, f, 1024 * 1024)
    if not out.exists():
        raise LookupError(f"The backup has no {member}.")
    return out


def restore_whole(path: Path, *, limits: archive.Limits, hooks: Hooks) -> dict[str, Any]:
    slapd = open_stack().service("slapd")
    with tempfile.TemporaryDirectory(prefix="ldap-restore-", dir=settings.BACKUP_DIR) as tmp:
        ldif = _extract(path, "ldap/data.ldif", Path(tmp), limits)
        hooks.check_cancel()  # the last moment a Cancel is taken: the swap is short and not interrupted
        result: dict[str, Any] = slapd.restore_whole(ldif, say=hooks.log)  # type: ignore[attr-defined]
    return result


def restore_domain(
    path: Path,
    domain: str,
    *,
    limits: archive.Limits,
    hooks: Hooks,
    journal: list[tuple[str, dict[str, list[str]] | None]],
    save: Callable[..., None],
) -> subtree.Result:
    """Add or replace the domain's entries; each change goes into `journal` (JSON-ready) and is saved, so a
    killed worker's change is undone at the next start."""
    top = dit.domain_dn(domain)
    with tempfile.TemporaryDirectory(prefix="ldap-restore-", dir=settings.BACKUP_DIR) as tmp:
        ldif = _extract(path, "ldap/domain.ldif", Path(tmp), limits)
        records = subtree.plan(ldif, top)
    hooks.log(f"{len(records)} entries of {domain} checked")
    total = len(records)

    def tick(done: int) -> None:
        save()
        if done % 50 == 0 or done == total:
            hooks.progress(done, total)
            hooks.check_cancel()

    def changed(dn: str, before: subtree.Attrs | None) -> None:
        journal.append(subtree.journal_entry_json(dn, before))

    result = subtree.apply(records, tick=tick, changed=changed)
    save(force=True)
    hooks.log(
        f"Directory of {domain}: {result.added} added, {result.replaced} replaced, "
        f"{result.unchanged} unchanged"
    )
    return result
