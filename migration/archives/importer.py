"""Messages into a user's mailbox through the Cyrus gateway, each once.

For each archive folder the user's folder is worked out (names.py) and made on first use; what it already
holds is read once, in batches (Message-ID, Date, size; a hash of the header for messages without
Message-ID), and a message whose key is there already is skipped. So running the same archive again adds
nothing, and neither does a message an archive holds twice. A message Cyrus refuses (too large, over
quota, NUL bytes) is logged and the run goes on; a broken connection ends the run (running it again picks
up where it stopped, thanks to the keys).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from mailadmin import mailheaders as headers
from mailadmin.imap import MessageRefused, OwnerMailbox
from mailadmin.imap_names import ImapError
from migration.archives.names import FolderRefused, map_folder
from migration.archives.readers import ArchiveMessage

MAX_LOGGED_REFUSALS = 200  # log lines about single messages; the summary counts them all
TICK_SECONDS = 0.5  # how often progress is written and Cancel looked at (between two messages)

Folder = tuple[str, ...]


@dataclass
class Tally:
    added: int = 0
    duplicates: int = 0
    refused: int = 0
    folders: dict[str, int] = field(default_factory=dict)  # user's folder -> messages added
    created: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "duplicates": self.duplicates,
            "refused": self.refused,
            "folders": dict(sorted(self.folders.items())),
            "created": self.created,
        }

    def summary(self) -> str:
        return (
            f"{len(self.folders)} folder(s), {self.added} message(s) added, {self.duplicates} skipped as "
            f"already there, {self.refused} refused."
        )


@dataclass
class Hooks:
    """What the job gives the import: progress (bytes read), Cancel (raises), and its log."""

    progress: Callable[[int], None] = lambda done: None
    check_cancel: Callable[[], None] = lambda: None
    log: Callable[[str, str], None] = lambda text, level: None


class MailImport:
    def __init__(self, mailbox: OwnerMailbox, *, into: Folder = (), hooks: Hooks | None = None) -> None:
        self.mailbox = mailbox
        self.into = into
        self.hooks = hooks or Hooks()
        self.tally = Tally()
        self.special = mailbox.special_uses()
        self._targets: dict[Folder, Folder | FolderRefused] = {}
        self._keys: dict[Folder, set[headers.Key]] = {}
        self._logged = 0

    def refuse(self, where: str, reason: str) -> None:
        self.tally.refused += 1
        if self._logged < MAX_LOGGED_REFUSALS:
            self._logged += 1
            self.hooks.log(f"Refused {where}: {reason}", "warning")
        elif self._logged == MAX_LOGGED_REFUSALS:
            self._logged += 1
            self.hooks.log("More messages were refused; the summary counts them.", "warning")

    def _target(self, folder: Folder) -> Folder | FolderRefused:
        if folder not in self._targets:
            try:
                target = map_folder(folder, special=self.special, into=self.into)
                if self.mailbox.ensure(target):
                    self.tally.created.append("/".join(target) or "INBOX")
                self._keys[target] = self._existing(target)
                self._targets[folder] = target
            except FolderRefused as exc:
                self._targets[folder] = exc
            except ImapError as exc:
                self._targets[folder] = FolderRefused(str(exc), "folder")
        return self._targets[folder]

    def _existing(self, target: Folder) -> set[headers.Key]:
        keys = self._keys.get(target)
        if keys is None:
            keys = set()
            for found, size, header in self.mailbox.keys(target):
                parsed = headers.fields(found)
                keys.add(headers.key_of(parsed.get(b"message-id"), parsed.get(b"date"), size, header))
        return keys

    def one(self, message: ArchiveMessage) -> None:
        target = self._target(message.folder)
        if isinstance(target, FolderRefused):
            self.refuse(message.where, str(target))
            return
        if message.data is None:
            self.refuse(message.where, f"it is larger ({message.size} bytes) than the import takes")
            return
        data = headers.crlf(message.data)
        if not data.strip():
            self.refuse(message.where, "it is empty")
            return
        key = headers.message_key(data)
        keys = self._keys[target]
        if key in keys:
            self.tally.duplicates += 1
            return
        try:
            self.mailbox.append(target, data, flags=message.flags, when=message.when)
        except MessageRefused as exc:
            self.refuse(message.where, f"the mail server said: {exc}")
            return
        keys.add(key)
        self.tally.added += 1
        name = "/".join(target) or "INBOX"
        self.tally.folders[name] = self.tally.folders.get(name, 0) + 1

    def run(self, messages: Iterable[ArchiveMessage]) -> Tally:
        last = time.monotonic()
        done = 0
        for message in messages:
            now = time.monotonic()
            if now - last >= TICK_SECONDS:
                self.hooks.check_cancel()
                self.hooks.progress(done)
                last = now
            self.one(message)
            done = message.done
        self.hooks.progress(done)
        return self.tally
