"""Mail back into Cyrus from a backup set, for chosen users, in one of two ways:

- `folder` (new): into `Restored <date>` inside the live mailbox, the backup's folders below it. Nothing that
  is there now is touched; undoing is deleting that one folder tree.
- `in_place` (the manual's way): into the folders the messages came from. A message that is still there
  (Message-ID + Date + size, as the mail import counts them) is not added twice, so restoring puts back
  what was lost and changes nothing else; undoing removes exactly the UIDs the restore appended (UIDPLUS),
  then the folders it made. A mailbox that no longer exists is made first (the account must exist in the
  directory: restore the directory or the domain set first), with the backup's quota.

What the restore has done is kept in a journal file beside the catalogue, written as it goes; if the job
fails, is cancelled, or its worker is killed (`undo_interrupted` at the next worker start), the journal is
played backwards. The archive is read once, in order: each user's `mailbox.json` comes before their messages.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from backup import archive
from backup.making import Hooks
from backup.stackref import NoStack, open_stack
from mailadmin import cyrus, directory, imap
from mailadmin import mailheaders as headers
from mailadmin.configfiles import atomic_write
from mailadmin.directory import dit, subtree
from mailadmin.directory.names import check_login
from mailadmin.imap import MessageRefused, OwnerMailbox, mailbackup
from mailadmin.imap.owner import Folder
from mailadmin.imap_names import ImapError, check_folder_name

MODES = ("folder", "in_place")
JOURNAL_EVERY = 1.0  # seconds between journal writes while appending


@dataclass
class UserJournal:
    uid: str
    created_mailbox: bool = False
    top: list[str] | None = None  # folder mode: the Restored folder
    created: list[list[str]] = field(default_factory=list)  # in-place: folders the restore made
    appended: dict[str, list[int]] = field(default_factory=dict)  # "/"-joined folder -> UIDs
    # in place: each restored message also carries this keyword until its user is done, and every folder
    # gets into `touched` before its first message: so a worker killed between two journal writes still
    # leaves every restored message findable (SEARCH KEYWORD) and nothing is missed by the undo
    tag: str = ""
    touched: list[str] = field(default_factory=list)


@dataclass
class Journal:
    path: Path
    job: str
    users: list[UserJournal] = field(default_factory=list)
    # a domain set's directory part: (dn, its attributes before, base64, or None when the restore added it)
    ldap: list[tuple[str, dict[str, list[str]] | None]] = field(default_factory=list)
    _written: float = 0.0

    def save(self, *, force: bool = False) -> None:
        if not force and time.monotonic() - self._written < JOURNAL_EVERY:
            return
        data = {"job": self.job, "users": [u.__dict__ for u in self.users], "ldap": self.ldap}
        atomic_write(self.path, json.dumps(data), mode=0o600)
        self._written = time.monotonic()

    @classmethod
    def load(cls, path: Path) -> Journal:
        data = json.loads(path.read_text(encoding="utf-8"))
        users = [UserJournal(**u) for u in data.get("users", [])]
        ldap = [(str(dn), before) for dn, before in data.get("ldap", [])]
        return cls(path, str(data.get("job", "")), users, ldap)


@dataclass
class Tally:
    users: dict[str, dict[str, int]] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)


def restored_folder_name(when: datetime, existing: Iterable[Folder]) -> Folder:
    base = f"Restored {when:%Y-%m-%d}"
    taken = {f[0] for f in existing if f}
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base} ({n})"
    return (check_folder_name(name),)


class _UserRestore:
    def __init__(
        self,
        mailbox: OwnerMailbox,
        listing: dict[str, Any],
        mode: str,
        entry: UserJournal,
        save: Callable[[], None],
    ) -> None:
        self.mailbox = mailbox
        self.mode = mode
        self.entry = entry
        self.save = save
        self.folders: dict[int, Folder] = {}
        self.keys: dict[Folder, set[headers.Key]] = {}
        self.added = self.duplicates = self.refused = 0
        if mode == "folder":
            top = restored_folder_name(datetime.now(UTC), mailbox.folders())
            entry.top = list(top)
            save()  # written before the folder is made
            mailbox.ensure(top)
        self.problems: list[str] = []
        for item in listing.get("folders", []):
            parts = tuple(check_folder_name(p) for p in item.get("path", []))
            folder = (*(entry.top or ()), *parts)
            self.folders[int(item["n"])] = folder
            if folder and folder not in mailbox.folders():
                # every folder comes back, empty ones too; in place with its special use, type and ACL
                in_place = mode == "in_place"
                self.problems += mailbackup.create(
                    mailbox,
                    folder,
                    special=item.get("special") or () if in_place else (),
                    folder_type=item.get("type") if in_place else None,
                    acl=[tuple(a) for a in item.get("acl") or [] if len(a) == 2] if in_place else (),
                )
                if in_place:
                    entry.created.append(list(folder))
                    save()

    def _target(self, n: int) -> Folder:
        folder = self.folders.get(n)
        if folder is None:
            raise ValueError(f"message of folder {n}, which the mailbox listing does not have")
        if folder not in self.keys:
            if self.mode == "in_place":
                self.entry.touched.append("/".join(folder))
                self.save()  # before its first message goes in
            keys: set[headers.Key] = set()
            if self.mode == "in_place":
                for found, size, header in self.mailbox.keys(folder):
                    parsed = headers.fields(found)
                    keys.add(headers.key_of(parsed.get(b"message-id"), parsed.get(b"date"), size, header))
            self.keys[folder] = keys
        return folder

    def untag(self) -> None:
        """The restore of this user is complete: its keyword comes off the messages it carried."""
        for name in self.entry.touched:
            mailbackup.untag(self.mailbox, tuple(name.split("/")) if name else (), self.entry.tag)

    def message(self, n: int, data: bytes, flags: list[str], when: datetime) -> None:
        folder = self._target(n)
        key = headers.message_key(data)
        if key in self.keys[folder]:
            self.duplicates += 1
            return
        try:
            tagged = [*flags, self.entry.tag] if self.entry.tag else flags
            new_uid = mailbackup.append(self.mailbox, folder, data, flags=tagged, when=when)
        except MessageRefused:
            self.refused += 1
            raise
        self.keys[folder].add(key)
        self.entry.appended.setdefault("/".join(folder), []).append(new_uid)
        self.added += 1


def _member(name: str) -> tuple[str, str, int | None]:
    """mail/<uid>/mailbox.json -> (uid, "listing", None); mail/<uid>/<n>/<u>.eml -> (uid, "message", n)."""
    parts = name.split("/")
    if len(parts) == 3:
        return parts[1], "listing", None
    return parts[1], "message", int(parts[2])


def _open_mailbox(uid: str, listing: dict[str, Any], entry: UserJournal) -> None:
    """Make the mailbox when it is gone (the account must exist), with the backup's quota."""
    if imap.mailbox_exists(uid):
        return
    check_login(uid)
    found = list(directory.iter_paged(dit.base_dn(), f"(uid={directory.escape_filter(uid)})", ["uid"]))
    if not found:
        raise LookupError(
            f"{uid} has no account in the directory; restore the directory (or the domain) first"
        )
    quota = listing.get("quota_kib")
    imap.mailbox_create(uid, int(quota) if isinstance(quota, int) else None)
    entry.created_mailbox = True


def restore(
    path: Path,
    users: list[str],
    mode: str,
    *,
    limits: archive.Limits,
    journal: Journal,
    hooks: Hooks,
) -> Tally:
    if mode not in MODES:
        raise ValueError(f"unknown restore mode {mode!r}")
    wanted = set(users)
    tally = Tally()
    current: tuple[str, Any, _UserRestore] | None = None  # (uid, session context, restorer)
    done = 0
    hooks.progress(0, len(wanted))
    try:
        for item in archive.entries(path, limits):
            if not item.name.startswith("mail/") or item.fileobj is None:
                continue
            uid, what, n = _member(item.name)
            if uid not in wanted:
                continue
            if what == "listing":
                if current is not None:
                    _finish(current, tally, hooks)
                    done += 1
                    hooks.progress(done, len(wanted))
                    current = None
                hooks.check_cancel()
                listing = json.loads(item.fileobj.read())
                entry = UserJournal(
                    uid, tag=f"$Restore{journal.job.replace('-', '')[:12]}" if mode == "in_place" else ""
                )
                journal.users.append(entry)
                _open_mailbox(uid, listing, entry)
                journal.save(force=True)
                session = imap.owner_session(uid)
                mailbox = session.__enter__()
                try:
                    saver = partial(journal.save, force=True)
                    current = (uid, session, _UserRestore(mailbox, listing, mode, entry, saver))
                except BaseException:
                    session.__exit__(None, None, None)
                    raise
                journal.save(force=True)
                continue
            if current is None or current[0] != uid or n is None:
                raise ValueError(f"{item.name} comes before its mailbox listing")
            flags = [f for f in item.pax.get(archive.PAX_FLAGS, "").split() if f]
            when = datetime.fromtimestamp(item.mtime, UTC)
            try:
                current[2].message(n, item.fileobj.read(), flags, when)
            except MessageRefused as exc:
                tally.refused.append(f"{item.name}: {exc}")
            journal.save()
            if current[2].added % 200 == 0:
                hooks.check_cancel()
        if current is not None:
            _finish(current, tally, hooks)
            done += 1
            hooks.progress(done, len(wanted))
            current = None
    finally:
        if current is not None:
            current[1].__exit__(None, None, None)
        journal.save(force=True)
    return tally


def _reconstruct(uid: str, hooks: Hooks) -> None:
    """The manual's last step: Cyrus checks the restored mailbox's files and indexes (reconstruct -r) and
    counts its quota usage again. Skipped, with a line, when the console has no stack of its own."""
    try:
        svc = open_stack().service("cyrus")
    except NoStack:
        hooks.log(f"{uid}: not reconstructed (no console stack)")
        return
    conf, bin_dir = str(svc.layout.imapd_conf), str(svc.bin_dir)  # type: ignore[attr-defined]
    root = f"user/{uid}"
    outcomes = cyrus.reconstruct_outcomes(root, cyrus.reconstruct(conf, [root], bin_dir=bin_dir))
    cyrus.quota_fix(conf, [root], bin_dir=bin_dir)
    bad = [f"{o.folder}: {o.outcome}" for o in outcomes if o.outcome not in ("ok", "repaired")]
    if bad:
        hooks.log(f"{uid}: reconstruct reported {'; '.join(bad[:10])}")


def _finish(current: tuple[str, Any, _UserRestore], tally: Tally, hooks: Hooks) -> None:
    uid, session, restorer = current
    restorer.save()  # every appended UID on disk before the keyword that also finds them goes
    restorer.untag()
    session.__exit__(None, None, None)
    _reconstruct(uid, hooks)
    tally.users[uid] = {
        "added": restorer.added,
        "duplicates": restorer.duplicates,
        "refused": restorer.refused,
    }
    where = "/".join(restorer.entry.top) if restorer.entry.top else "their folders"
    hooks.log(
        f"{uid}: {restorer.added} message(s) restored into {where}, {restorer.duplicates} already there"
    )


def undo(journal: Journal, *, log: Any = lambda text: None) -> None:
    """Play the journal backwards: what the restore added goes, what it made goes; the rest is untouched."""
    for entry in reversed(journal.users):
        try:
            if entry.created_mailbox:
                imap.mailbox_delete(entry.uid)
                log(f"{entry.uid}: the mailbox the restore made was removed")
                continue
            with imap.owner_session(entry.uid) as mailbox:
                if entry.top:
                    mailbackup.delete_folder_tree(mailbox, tuple(entry.top))
                    log(f"{entry.uid}: removed {'/'.join(entry.top)}")
                    continue
                for folder, uids in entry.appended.items():
                    mailbackup.remove(mailbox, tuple(folder.split("/")) if folder else (), uids)
                for folder in entry.touched if entry.tag else ():
                    mailbackup.remove_tagged(mailbox, tuple(folder.split("/")) if folder else (), entry.tag)
                for created in sorted(entry.created, key=len, reverse=True):
                    mailbackup.delete_folder_tree(mailbox, tuple(created))
                taken = sum(len(u) for u in entry.appended.values())
                log(f"{entry.uid}: {taken} restored message(s) taken back")
        except (ImapError, OSError) as exc:
            log(f"{entry.uid}: could not undo ({exc}); see the journal {journal.path}")
            raise
    if journal.ldap:
        subtree.undo(subtree.journal_from_json(journal.ldap))
        log(f"{len(journal.ldap)} directory entries put back as they were")
    journal.path.unlink(missing_ok=True)
