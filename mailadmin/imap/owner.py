"""A user's mailbox as its owner sees it, for the mail archive import (`owner_session(uid)`).

The console's Cyrus admin logs in with SASL PLAIN and the user as authorization identity: Cyrus lets its
admins act as any user. Acting as the owner (rather than appending into `user/<uid>` with the admin's own
rights) is what keeps the flags right: Cyrus keeps \\Seen per user, so a \\Seen set by the admin would be the
admin's and the owner would find every imported message unread. It also means the owner's quota, rights and
special-use folders are the ones that apply.

Folder names are given as levels below the INBOX (`()` is the INBOX), each checked by check_folder_name
before it is sent; flags against an allow-list.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import datetime

from mailadmin.directory.names import InvalidName
from mailadmin.imap.wire import IMAPClient, IMAPClientAbortError, IMAPClientError, decode_name, failure
from mailadmin.imap_names import ImapError, MailboxNotFound, check_folder_name

# System flags an import sets, and keywords such as $Forwarded (RFC 5788 registry style).
_SYSTEM_FLAGS = frozenset({"\\Seen", "\\Answered", "\\Flagged", "\\Draft"})
_KEYWORD = re.compile(r"\$?[A-Za-z0-9_-]{1,64}")
_FIELDS = b"BODY[HEADER.FIELDS (MESSAGE-ID DATE)]"
FETCH_BATCH = 1000


class MessageRefused(ImapError):
    """Cyrus refused one message (too large, over quota, NUL bytes, ...); the reason is Cyrus's."""


Folder = tuple[str, ...]


def check_flags(flags: Iterable[str]) -> list[bytes]:
    out = []
    for flag in sorted(flags):
        if flag not in _SYSTEM_FLAGS and not _KEYWORD.fullmatch(flag):
            raise InvalidName(f"Not a flag the import sets: {flag[:40]!r}.", "flags")
        out.append(flag.encode("ascii"))
    return out


class OwnerMailbox:
    """One logged-in session acting as the owner of a mailbox. Use `mailadmin.imap.owner_session(uid)`."""

    def __init__(self, client: IMAPClient, uid: str) -> None:
        self.client = client
        self.uid = uid
        personal = client.namespace().personal or ((b"INBOX/", b"/"),)
        prefix, sep = personal[0]
        self.prefix = prefix.decode() if isinstance(prefix, bytes) else str(prefix)
        self.separator = (sep.decode() if isinstance(sep, bytes) else str(sep)) or "/"
        self._known: dict[Folder, frozenset[str]] | None = None
        if () not in self.folders():
            raise MailboxNotFound(f"There is no mailbox for {uid}.")

    def name(self, folder: Folder) -> str:
        if not folder:
            return "INBOX"
        return self.prefix + self.separator.join(check_folder_name(p) for p in folder)

    def _parts(self, name: str) -> Folder | None:
        if name.upper() == "INBOX":
            return ()
        if self.prefix and not name.startswith(self.prefix):
            return None
        return tuple(name[len(self.prefix) :].split(self.separator))

    def folders(self) -> dict[Folder, frozenset[str]]:
        """Every folder of the mailbox with its LIST flags, special use (\\Sent, \\Trash, ...) included."""
        if self._known is None:
            data = self.client._raw_command_untagged(  # noqa: SLF001 — LIST RETURN (SPECIAL-USE), RFC 6154
                b"LIST", [b'""', b'"*"', b"RETURN", b"(SPECIAL-USE)"], uid=False, response_name="LIST"
            )
            known: dict[Folder, frozenset[str]] = {}
            for flags, _sep, raw in self.client._proc_folder_list([d for d in data if d is not None]):  # noqa: SLF001
                parts = self._parts(decode_name(raw) if isinstance(raw, bytes) else str(raw))
                if parts is not None:
                    known[parts] = frozenset(f.decode() if isinstance(f, bytes) else str(f) for f in flags)
            self._known = known
        return self._known

    def special_uses(self) -> dict[str, Folder]:
        """The user's folder for each special use ("\\Sent" -> ("Sent Items",)), the first one listed."""
        found: dict[str, Folder] = {}
        for parts, flags in sorted(self.folders().items()):
            for flag in flags:
                if flag.lower() in ("\\sent", "\\trash", "\\drafts", "\\junk", "\\archive"):
                    found.setdefault(flag[0] + flag[1:].capitalize(), parts)
        return found

    def ensure(self, folder: Folder) -> bool:
        """Create the folder and any missing level above it; True if something was created."""
        known = self.folders()
        created = False
        for depth in range(1, len(folder) + 1):
            level = folder[:depth]
            if level in known and not {"\\noselect", "\\nonexistent"} & {f.lower() for f in known[level]}:
                continue
            try:
                self.client.create_folder(self.name(level))
            except IMAPClientAbortError:
                raise
            except IMAPClientError as exc:
                if "exists" not in str(exc).lower():
                    shown = "/".join(level)
                    raise ImapError(f"Cyrus did not create the folder {shown}: {failure(exc)}") from exc
            known[level] = frozenset()
            created = True
        return created

    def keys(self, folder: Folder, *, batch: int = FETCH_BATCH) -> Iterator[tuple[bytes, int, bytes | None]]:
        """For each message already in the folder: its Message-ID and Date fields as stored, its size, and
        (only when it has no Message-ID) its whole header. Fetched in batches, never one by one."""
        if folder not in self.folders():
            return
        self.client.select_folder(self.name(folder), readonly=True)
        try:
            uids = self.client.search(["ALL"])
            for start in range(0, len(uids), batch):
                chunk = uids[start : start + batch]
                rows = self.client.fetch(chunk, ["RFC822.SIZE", "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID DATE)]"])
                missing = [
                    u for u, r in rows.items() if b"message-id" not in bytes(r.get(_FIELDS) or b"").lower()
                ]
                whole = self.client.fetch(missing, ["BODY.PEEK[HEADER]"]) if missing else {}
                for uid, row in rows.items():
                    header = whole.get(uid, {}).get(b"BODY[HEADER]") if uid in whole else None
                    yield bytes(row.get(_FIELDS) or b""), int(row.get(b"RFC822.SIZE", 0)), header
        finally:
            self.client.unselect_folder()

    def append(self, folder: Folder, data: bytes, *, flags: Iterable[str], when: datetime | None) -> None:
        """APPEND one message with its flags and internal date; MessageRefused when Cyrus says no."""
        name = self.name(folder)
        wire_flags = check_flags(flags)
        try:
            self.client.append(name, data, flags=wire_flags, msg_time=when)
        except IMAPClientAbortError:
            raise
        except IMAPClientError as exc:
            raise MessageRefused(failure(exc)) from exc
