"""The catalogue: rows for complete files in BACKUP_DIR, retention, deletion, and taking in an upload.

A row is written only after its file was renamed into place, and a file's name is always ours (from its
manifest, never from what a browser sent), so what the catalogue lists is complete and named as the manual
names sets.
"""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from backup import archive, naming
from backup.models import Backup, Retention


def directory() -> Path:
    path = Path(settings.BACKUP_DIR)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def file_of(backup: Backup) -> Path:
    if not naming.parse(backup.name):
        raise LookupError("not a backup name")
    return directory() / backup.name


def _domains(manifest: dict[str, Any]) -> list[str]:
    names = set()
    if manifest.get("domain"):
        names.add(str(manifest["domain"]).lower())
    users = manifest.get("users")
    if isinstance(users, dict):
        names.update(str(d).lower() for d in users.values() if d)
    return sorted(names)


def _scope(manifest: dict[str, Any]) -> str:
    if manifest.get("domain"):
        return str(manifest["domain"])
    users = manifest.get("users")
    if manifest.get("kind") == "mail" and isinstance(users, dict) and manifest.get("chosen_users"):
        return ", ".join(sorted(users))[:255]
    return ""


def register(path: Path, manifest: dict[str, Any], *, origin: str, created_by: str) -> Backup:
    created = parse_datetime(str(manifest.get("created", ""))) or timezone.now()
    domains = _domains(manifest)
    return Backup.objects.create(
        name=path.name,
        kind=str(manifest.get("kind", "")),
        scope=_scope(manifest),
        domains=("," + ",".join(domains) + ",") if domains else "",
        compression=archive.compression_of(path),
        size=path.stat().st_size,
        sha256=archive.file_sha256(path),
        manifest={k: v for k, v in manifest.items() if k != "members"},
        origin=origin,
        created_at=created,
        created_by=created_by[:255],
    )


def delete(backup: Backup) -> None:
    file_of(backup).unlink(missing_ok=True)
    backup.delete()


def apply_retention(kind: str, *, now: datetime | None = None) -> list[str]:
    """Delete the sets of `kind` the rule no longer keeps (made here or uploaded alike); their names."""
    rule = Retention.objects.filter(kind=kind).first()
    if rule is None or (not rule.keep_last and not rule.keep_days):
        return []
    now = now or timezone.now()
    removed = []
    for position, backup in enumerate(Backup.objects.filter(kind=kind).order_by("-created_at", "-id")):
        kept_by_count = bool(rule.keep_last) and position < rule.keep_last
        kept_by_age = bool(rule.keep_days) and backup.created_at >= now - timedelta(days=rule.keep_days)
        if not (kept_by_count or kept_by_age):
            removed.append(backup.name)
            delete(backup)
    return removed


def take_upload(path: Path, manifest: archive.Manifest, *, created_by: str) -> Backup:
    """Move a checked upload into the catalogue under the name its manifest gives (a number added when a set
    of that name is there already)."""
    data = manifest.data
    kind = manifest.kind
    if kind not in naming.KINDS:
        raise archive.BackupRefused("The manifest names no kind of backup this console makes.")
    created = parse_datetime(str(data.get("created", ""))) or timezone.now()
    users = data.get("users")
    chosen = sorted(users) if kind == "mail" and data.get("chosen_users") and isinstance(users, dict) else []
    try:
        name = naming.file_name(
            kind, created, archive.compression_of(path), domain=str(data.get("domain") or ""), users=chosen
        )
    except ValueError as exc:
        raise archive.BackupRefused(f"The manifest's scope is not usable: {exc}") from exc
    target = directory() / name
    n = 1
    while target.exists() or Backup.objects.filter(name=target.name).exists():
        n += 1
        stem, ext = name.split(".", 1)
        target = directory() / f"{stem}-{n}.{ext}"
    shutil.move(str(path), target)
    target.chmod(0o600)
    return register(target, dict(data), origin=Backup.Origin.UPLOADED, created_by=created_by)


def strays() -> list[Path]:
    """Files in the catalogue directory named like a set but not in the catalogue: copied in by hand (scp from
    another server), or left by a worker that died between the rename and the row."""
    known = set(Backup.objects.values_list("name", flat=True))
    return sorted(
        p
        for p in directory().iterdir()
        if naming.parse(p.name) and p.name not in known and p.is_file() and not p.is_symlink()
    )


def adopt(path: Path, limits: archive.Limits, *, created_by: str) -> Backup:
    """Check a stray file whole, like an upload, and list it under its own name (BackupRefused otherwise)."""
    manifest = archive.inspect(path, limits)
    if manifest.kind not in naming.KINDS:
        raise archive.BackupRefused("The manifest names no kind of backup this console makes.")
    path.chmod(0o600)
    return register(path, dict(manifest.data), origin=Backup.Origin.UPLOADED, created_by=created_by)
