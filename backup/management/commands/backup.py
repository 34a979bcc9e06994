"""`manage.py backup`: the Backup & restore menu from the shell, for the day the console itself is down and
for moving to a new install (SYS-03). The same code as the jobs: sets are written whole or not at all, files
are checked whole before use, a restore takes the restore lock, journals, and undoes itself on failure.

    manage.py backup create ldap|cfg|mail|domain [--domain D] [--user U ...] [--compression zstd|gzip|xz]
    manage.py backup list
    manage.py backup adopt          (list set files copied into the catalogue directory by hand)
    manage.py backup check FILE
    manage.py backup restore FILE|NAME [--user U ...] [--mode folder|in_place] --yes

It acts as the console itself (an administrator without a person); what it does is in the audit log.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from backup import archive, catalogue, making
from backup.making import Hooks
from backup.models import Backup
from backup.restoring import run as restore_run
from mailadmin.actor import Actor
from mailadmin.audit.services import audit_record


class Command(BaseCommand):
    help = "Make, list, check and restore backup sets (the Backup & restore menu, from the shell)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="make a backup set")
        create.add_argument("what", choices=["cfg", "ldap", "mail", "domain"])
        create.add_argument("--domain", default="")
        create.add_argument("--user", action="append", default=[], dest="users")
        create.add_argument("--compression", choices=sorted(archive.COMPRESSIONS), default="zstd")
        sub.add_parser("list", help="the catalogue")
        sub.add_parser("adopt", help="check files copied into the catalogue directory and list the good ones")
        check = sub.add_parser("check", help="check a file against its manifest")
        check.add_argument("file")
        restore = sub.add_parser("restore", help="restore a set (a catalogue name or a file)")
        restore.add_argument("file")
        restore.add_argument("--user", action="append", default=[], dest="users")
        restore.add_argument("--mode", choices=["folder", "in_place"], default="in_place")
        restore.add_argument("--yes", action="store_true", help="really restore")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "create":
            self._create(options)
        elif action == "list":
            for row in Backup.objects.all():
                when = f"{row.created_at:%Y-%m-%d %H:%M:%S}"
                self.stdout.write(f"{row.name}\t{row.kind}\t{row.scope or '-'}\t{row.size}\t{when}")
        elif action == "adopt":
            actor = Actor.system("manage.py backup")
            for path in catalogue.strays():
                try:
                    row = catalogue.adopt(path, making.limits(), created_by=actor.username)
                except (archive.BackupRefused, OSError) as exc:
                    self.stderr.write(f"{path.name}: not listed ({exc})")
                else:
                    self.stdout.write(f"{row.name}: listed")
        elif action == "check":
            manifest = self._check(Path(options["file"]))
            self.stdout.write(
                f"ok: {manifest.kind}, {len(manifest.members)} members, made {manifest.data.get('created')}"
            )
        else:
            self._restore(options)

    def _hooks(self) -> Hooks:
        return Hooks(log=lambda text: self.stdout.write(text))

    def _check(self, path: Path) -> archive.Manifest:
        try:
            return archive.inspect(path, making.limits())
        except (archive.BackupRefused, OSError) as exc:
            raise CommandError(f"{path}: {exc}") from exc

    def _create(self, options: dict[str, Any]) -> None:
        actor = Actor.system("manage.py backup")
        path, manifest = making.make(
            options["what"],
            compression=options["compression"],
            domain=options["domain"],
            users=options["users"],
            made_by=actor.username,
            hooks=self._hooks(),
        )
        row = catalogue.register(path, manifest, origin=Backup.Origin.MADE, created_by=actor.username)
        removed = catalogue.apply_retention(row.kind)
        audit_record(
            actor=actor, action="backup.create", target=row.name, after={"kind": row.kind, "size": row.size}
        )
        self.stdout.write(f"{catalogue.file_of(row)}")
        if removed:
            self.stdout.write(f"retention removed: {', '.join(removed)}")

    def _restore(self, options: dict[str, Any]) -> None:
        actor = Actor.system("manage.py backup")
        given = options["file"]
        row = Backup.objects.filter(name=given).first()
        if row is None:
            source = Path(given)
            manifest = self._check(source)
            copy = catalogue.directory() / f".incoming-{uuid.uuid4().hex}"
            shutil.copyfile(source, copy)
            row = catalogue.take_upload(copy, manifest, created_by=actor.username)
            self.stdout.write(f"taken into the catalogue as {row.name}")
        if not options["yes"]:
            raise CommandError("add --yes to restore (it changes live data)")
        if row.kind == Backup.Kind.MAIL and not options["users"]:
            options["users"] = sorted((row.manifest.get("users") or {}).keys())
        try:
            result = restore_run.run(
                row,
                actor,
                users=options["users"],
                mode=options["mode"],
                key=uuid.uuid4().hex,
                hooks=self._hooks(),
            )
        except Exception as exc:
            raise CommandError(f"the restore failed and was undone: {exc}") from exc
        audit_record(actor=actor, action="backup.restore", target=row.name, after={"users": options["users"]})
        self.stdout.write(f"restored: {result}")
