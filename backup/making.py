"""Making a backup set: configuration, LDAP, mail (all, one domain, chosen users), or a domain set (that
domain's directory subtree and its mailboxes together). Each is one file written by backup.archive.Writer, so
a failure, a Cancel or a killed worker leaves nothing in the catalogue.

Mail is read over IMAP as each mailbox's owner (mailadmin/imap/mailbackup.py): that is what keeps the owner's
\\Seen, and what makes a set restorable on another install (other host, other Cyrus paths). Each message is a
member `mail/<login>/<folder number>/<uid>.eml` whose tar time is the internal date and whose pax header holds
the flags; `mail/<login>/mailbox.json` (folders with special use and ACL, quota) comes first.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core import serializers
from django.utils import timezone

from backup import archive, naming, prefetch
from backup.services import users_domains
from backup.stackref import open_stack
from mailadmin import directory, imap
from mailadmin.configfiles import store
from mailadmin.configfiles.registry.catalog import REGISTRIES
from mailadmin.directory import dit
from mailadmin.imap import mailbackup
from mailadmin.imap_names import MailboxNotFound
from mailadmin.stack.versions import versions
from mailqueue import selectors as delivery

READERS = 3  # mailboxes read at once (their IMAP round trips overlap)

# The console's own rows that belong to its configuration (app label, model).
CONSOLE_MODELS = (
    ("relayrules", "RelayRule"),
    ("disclaimers", "Disclaimer"),
    ("configuration", "ConfigChange"),
    ("django_celery_beat", "CrontabSchedule"),
    ("django_celery_beat", "PeriodicTask"),
)


@dataclass
class Hooks:
    """What a job gives the work: progress (done, total), Cancel (raises), and its log."""

    progress: Callable[[int, int | None], None] = lambda done, total: None
    check_cancel: Callable[[], None] = lambda: None
    log: Callable[[str], None] = lambda text: None


@dataclass
class Counts:
    entries: int = 0
    mailboxes: int = 0
    messages: int = 0
    bytes: int = 0
    skipped: list[str] = field(default_factory=list)


def _limits() -> archive.Limits:
    return archive.Limits(
        max_members=int(settings.BACKUP_MAX_MEMBERS),
        max_expanded=int(settings.BACKUP_MAX_EXPANDED),
        max_ratio=int(settings.BACKUP_MAX_RATIO),
    )


def limits() -> archive.Limits:
    return _limits()


def make(
    what: str,
    *,
    compression: str,
    domain: str = "",
    users: Iterable[str] = (),
    made_by: str = "",
    hooks: Hooks | None = None,
) -> tuple[Path, dict[str, Any]]:
    """Write one backup set into BACKUP_DIR; its path and manifest."""
    hooks = hooks or Hooks()
    users = sorted(set(users))
    now = timezone.now()
    name = naming.file_name(what, now, compression, domain=domain, users=users)
    stem, ext = name.split(".", 1)
    n = 1
    while (Path(settings.BACKUP_DIR) / name).exists():  # two sets of one kind within a second
        n += 1
        name = f"{stem}-{n}.{ext}"
    counts = Counts()
    manifest: dict[str, Any] = {
        "kind": what,
        "created": now.isoformat(),
        "made_by": made_by,
        "versions": dict(versions()),
        "base_dn": dit.base_dn(),
        "domain": domain,
    }
    with archive.Writer(Path(settings.BACKUP_DIR), name, compression) as writer:
        if what == "cfg":
            _config(writer, hooks)
        if what in ("ldap", "domain"):
            with tempfile.TemporaryDirectory(prefix="ldap-", dir=settings.BACKUP_DIR) as tmp:
                _ldap(writer, Path(tmp), hooks, counts, subtree=dit.domain_dn(domain) if domain else None)
        if what in ("mail", "domain"):
            chosen = _mail_users(domain, users)
            manifest["users"] = chosen
            manifest["chosen_users"] = bool(users)
            _mail(writer, chosen, hooks, counts)
        hooks.check_cancel()
        manifest["counts"] = {
            "entries": counts.entries,
            "mailboxes": counts.mailboxes,
            "messages": counts.messages,
            "bytes": counts.bytes,
            "skipped": counts.skipped,
        }
        path = writer.commit(manifest)
    manifest["members_count"] = writer.count
    return path, dict(manifest, format=archive.FORMAT)


# --- configuration ----------------------------------------------------------------------------------------


def _config(writer: archive.Writer, hooks: Hooks) -> None:
    stack = open_stack()
    menu = stack.layout.menu
    for service in REGISTRIES:
        stored = store.load(menu, service)
        writer.add_bytes(
            f"config/values/{service}.json",
            json.dumps(
                {"version": stored.version, "values": stored.values}, indent=1, sort_keys=True
            ).encode(),
        )
        files = stack.service(service).render(stored.values)  # type: ignore[attr-defined]
        for file_name, text in sorted(files.items()):
            writer.add_bytes(f"config/files/{service}/{file_name}", text.encode())
        hooks.log(f"Configuration of {service}: {len(files)} file(s), {len(stored.values)} value(s) set")
    rows: dict[str, Any] = {}
    for app_label, model_name in CONSOLE_MODELS:
        try:
            model = apps.get_model(app_label, model_name)
        except LookupError:
            continue
        rows[f"{app_label}.{model_name}"] = json.loads(serializers.serialize("json", model.objects.all()))
    # what a restore puts back (Mail Delivery's settings); the rows above are the record (history, schedules)
    rows["delivery"] = delivery.delivery_settings()
    writer.add_bytes("config/console.json", json.dumps(rows, indent=1, sort_keys=True, default=str).encode())
    hooks.progress(1, 1)


# --- directory --------------------------------------------------------------------------------------------


def _ldap(writer: archive.Writer, tmp: Path, hooks: Hooks, counts: Counts, *, subtree: str | None) -> None:
    slapd = open_stack().service("slapd")
    data = tmp / "data.ldif"
    started = time.monotonic()
    counts.entries = slapd.dump(data, subtree=subtree)  # type: ignore[attr-defined]
    if subtree is not None and counts.entries == 0:
        raise LookupError(f"There is nothing under {subtree} to back up.")
    hooks.log(f"slapcat: {counts.entries} entries in {time.monotonic() - started:.1f} s")
    hooks.check_cancel()
    if subtree is None:
        config = tmp / "config.ldif"
        slapd.dump_config(config)  # type: ignore[attr-defined]
        writer.add_file("ldap/config.ldif", config)
        writer.add_file("ldap/data.ldif", data)
    else:
        writer.add_file("ldap/domain.ldif", data)
    counts.bytes += data.stat().st_size
    hooks.progress(counts.entries, counts.entries)


# --- mail -------------------------------------------------------------------------------------------------


def _mail_users(domain: str, users: list[str]) -> dict[str, str]:
    """login -> its domain ("" outside ou=domains) for every mailbox the set will hold."""
    if users:  # looked up by name, not by walking the directory
        return {u: d or "" for u, d in users_domains(users).items()}
    base = dit.domain_dn(domain) if domain else dit.domains_dn()
    with_mailbox = imap_user_mailboxes()
    chosen = {
        str(e.first("uid")): dit.domain_of(e.dn) or ""
        for e in directory.iter_paged(base, "(uid=*)", ["uid"])
        if e.first("uid") in with_mailbox
    }
    if not domain:  # mailboxes without a directory entry are backed up too (everything is everything)
        chosen.update({uid: "" for uid in with_mailbox if uid not in chosen})
    return dict(sorted(chosen.items()))


def imap_user_mailboxes() -> set[str]:
    with imap.admin_session() as admin:
        return set(admin.user_mailboxes())


@dataclass(frozen=True)
class _Member:
    name: str
    data: bytes
    mtime: float | None = None
    flags: str | None = None


def _mail(writer: archive.Writer, chosen: dict[str, str], hooks: Hooks, counts: Counts) -> None:
    """Every chosen mailbox into the archive, in order; the next ones are read ahead (backup/prefetch.py)."""
    total = len(chosen)
    hooks.progress(0, total)
    mailboxes = prefetch.ordered(chosen, _read_mailbox, size=lambda m: len(m.data), workers=READERS)
    for number, (uid, members) in enumerate(mailboxes, 1):
        hooks.check_cancel()
        messages = folders = 0
        last = time.monotonic()
        try:
            for member in members:
                pax = {archive.PAX_FLAGS: member.flags} if member.flags is not None else None
                writer.add_bytes(member.name, member.data, mtime=member.mtime, pax=pax)
                if member.flags is None:
                    folders = len(json.loads(member.data)["folders"])
                else:
                    messages += 1
                    counts.bytes += len(member.data)
                if time.monotonic() - last > 1:
                    hooks.check_cancel()
                    last = time.monotonic()
        except MailboxNotFound:
            counts.skipped.append(uid)
            hooks.log(f"{uid}: no mailbox, skipped")
        else:
            counts.messages += messages
            hooks.log(f"{uid}: {folders} folder(s), {messages} message(s)")
        counts.mailboxes += 1
        hooks.progress(number, total)


def _read_mailbox(uid: str) -> Iterator[_Member]:
    """One mailbox as archive members, its listing first (runs in a reader thread: IMAP only)."""
    with imap.owner_session(uid) as mailbox:
        folders = mailbackup.folders(mailbox)
        listing = {
            "login": uid,
            "quota_kib": mailbackup.quota_kib(mailbox),
            "folders": [
                {
                    "n": n,
                    "path": list(f.parts),
                    "special": list(f.special),
                    "acl": [list(a) for a in f.acl],
                    "type": f.folder_type,
                }
                for n, f in enumerate(folders)
            ],
        }
        yield _Member(f"mail/{uid}/mailbox.json", json.dumps(listing, indent=1).encode())
        for n, info in enumerate(folders):
            for message in mailbackup.messages(mailbox, info.parts):
                when = message.when.timestamp() if isinstance(message.when, datetime) else None
                yield _Member(
                    f"mail/{uid}/{n}/{message.uid}.eml", message.data, when, " ".join(message.flags)
                )
