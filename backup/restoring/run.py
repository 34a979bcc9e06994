"""One restore from start to end, for the job and for `manage.py backup restore`: the restore lock, the
journal on disk, the whole file checked against its manifest first, the part of each kind, and on any
failure or Cancel everything it did taken back before it returns."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from backup import archive, catalogue, locks, making
from backup.making import Hooks
from backup.models import Backup
from backup.restoring import config as config_restore
from backup.restoring import directory as directory_restore
from backup.restoring import mail as mail_restore
from mailadmin.actor import Actor


def journal_path(key: str) -> Path:
    return catalogue.directory() / f".restore-{key}.journal"


def run(
    backup: Backup, actor: Actor, *, users: list[str], mode: str, key: str, hooks: Hooks
) -> dict[str, Any]:
    limits = making.limits()
    path = catalogue.file_of(backup)
    with locks.exclusive(f"the restore of {backup.name} ({key})"):
        journal = mail_restore.Journal(journal_path(key), key)
        journal.save(force=True)  # from here a killed worker's restore is found and undone
        try:
            result = _kinds(backup, actor, path, users, mode, limits, journal, hooks)
        except BaseException:
            if journal.users or journal.ldap:
                hooks.log("The restore stopped; taking back what it restored")
                mail_restore.undo(journal, log=hooks.log)
            journal.path.unlink(missing_ok=True)
            raise
        journal.path.unlink(missing_ok=True)
    return result


def _kinds(
    backup: Backup,
    actor: Actor,
    path: Path,
    users: list[str],
    mode: str,
    limits: archive.Limits,
    journal: mail_restore.Journal,
    hooks: Hooks,
) -> dict[str, Any]:
    hooks.log(f"Checking {backup.name} against its manifest")
    manifest = archive.inspect(path, limits)
    if manifest.kind != backup.kind:
        raise archive.BackupRefused("The file's manifest does not say what the catalogue says.")
    hooks.check_cancel()
    result: dict[str, Any] = {"name": backup.name}
    if backup.kind == Backup.Kind.CONFIG:
        result["services"] = config_restore.restore(path, actor, limits=limits, hooks=hooks)
        return result
    if backup.kind == Backup.Kind.LDAP:
        result["directory"] = directory_restore.restore_whole(path, limits=limits, hooks=hooks)
        return result
    if backup.kind == Backup.Kind.DOMAIN:
        domain = str(manifest.data.get("domain") or "")
        done = directory_restore.restore_domain(
            path, domain, limits=limits, hooks=hooks, journal=journal.ldap, save=journal.save
        )
        result["directory"] = {"added": done.added, "replaced": done.replaced}
        listed = manifest.data.get("users")
        users = users or sorted(listed.keys() if isinstance(listed, dict) else [])
    tally = mail_restore.restore(path, users, mode, limits=limits, journal=journal, hooks=hooks)
    result["mail"] = tally.users
    if tally.refused:
        result["refused"] = tally.refused[:100]
    return result
