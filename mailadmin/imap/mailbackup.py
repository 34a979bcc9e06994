"""A user's mailbox read out for a backup and written back by a restore, as its owner (`owner_session`).

Read: every folder with its special use and ACL; every message with its flags (the owner's \\Seen, which is
why this runs as the owner) and internal date, fetched in batches, bodies with BODY.PEEK so reading marks
nothing. Write: APPEND with flags and date, which returns the new UID (UIDPLUS) so that a restore that fails
can take back exactly what it added (`remove`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from mailadmin.directory.names import InvalidName
from mailadmin.imap.annotations import get_folder_type, set_folder_type
from mailadmin.imap.owner import Folder, MessageRefused, OwnerMailbox, check_flags
from mailadmin.imap.wire import (
    IMAPClient,
    IMAPClientAbortError,
    IMAPClientError,
    failure,
    quote_id,
    quote_name,
)
from mailadmin.imap_names import FOLDER_TYPES, SPECIAL_USES, ImapError, check_acl_identifier, check_rights

BODY_BATCH = 200  # messages per FETCH of bodies at most
BATCH_BYTES = 8 * 1024 * 1024  # and at most this many bytes of them (one larger message goes alone)
_APPENDUID = re.compile(rb"\[APPENDUID (\d+) (\d+)\]")
_KEEP_FLAGS = re.compile(r"\\(?:Seen|Answered|Flagged|Draft)|\$?[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True)
class FolderInfo:
    parts: Folder
    special: tuple[str, ...]  # \Sent, \Trash, ...
    acl: tuple[tuple[str, str], ...]  # (identifier, rights)
    folder_type: str | None = None  # the groupware folder type (event, contact, ...)


@dataclass(frozen=True)
class Message:
    uid: int
    flags: tuple[str, ...]
    when: datetime | None
    data: bytes


def folders(mailbox: OwnerMailbox) -> list[FolderInfo]:
    """Every selectable folder of the mailbox, parents before children."""
    found = []
    for parts, flags in sorted(mailbox.folders().items()):
        lowered = {f.lower() for f in flags}
        if {"\\noselect", "\\nonexistent"} & lowered:
            continue
        special = tuple(
            sorted(f for f in flags if f.lower() in ("\\sent", "\\trash", "\\drafts", "\\junk", "\\archive"))
        )
        try:
            rows = mailbox.client.getacl(mailbox.name(parts))
        except IMAPClientAbortError:
            raise
        except IMAPClientError:
            rows = []
        acl = tuple(
            (
                who.decode() if isinstance(who, bytes) else str(who),
                r.decode() if isinstance(r, bytes) else str(r),
            )
            for who, r in rows
        )
        try:
            folder_type = get_folder_type(
                mailbox.client, mailbox.name(parts), label="/".join(parts) or "INBOX"
            )
        except ImapError:
            folder_type = None
        found.append(FolderInfo(parts, special, acl, folder_type))
    return found


def create(
    mailbox: OwnerMailbox,
    parts: Folder,
    *,
    special: Iterable[str] = (),
    folder_type: str | None = None,
    acl: Iterable[tuple[str, str]] = (),
) -> list[str]:
    """Make a folder as its owner sees it: its special use at creation (the owner's own, RFC 6154), its
    folder type and ACL after. What could not be set is returned as sentences (the folder is there)."""
    uses = [u for u in special if u in SPECIAL_USES][:1]
    args = [quote_name(mailbox.name(parts))]
    if uses:
        args.append(b"(USE (" + uses[0].encode("ascii") + b"))")
    try:
        mailbox.client._raw_command_untagged(b"CREATE", args, uid=False, response_name="CREATE")  # noqa: SLF001
    except IMAPClientAbortError:
        raise
    except IMAPClientError as exc:
        if "exists" not in str(exc).lower():
            raise ImapError(f"Cyrus did not create {'/'.join(parts)}: {failure(exc)}") from exc
    mailbox._known = None  # noqa: SLF001
    problems = []
    if folder_type in FOLDER_TYPES:
        try:
            set_folder_type(mailbox.client, mailbox.name(parts), folder_type, label="/".join(parts))
        except ImapError as exc:
            problems.append(str(exc))
    for who, rights in acl:
        if who == mailbox.uid:
            continue
        try:
            check_acl_identifier(who)
            check_rights(rights)
            mailbox.client._raw_command_untagged(  # noqa: SLF001
                b"SETACL", [quote_name(mailbox.name(parts)), quote_id(who), rights.encode("ascii")], uid=False
            )
        except (InvalidName, IMAPClientError) as exc:
            problems.append(f"ACL {who} on {'/'.join(parts)}: {exc}")
    return problems


def quota_kib(mailbox: OwnerMailbox) -> int | None:
    """The mailbox's storage limit in KiB as its owner sees it (None: no limit)."""
    try:
        _roots, quotas = mailbox.client.get_quota_root("INBOX")
    except IMAPClientAbortError:
        raise
    except IMAPClientError as exc:
        raise ImapError(f"Cyrus did not report the quota: {failure(exc)}") from exc
    for quota in quotas:
        if quota.resource.upper() == "STORAGE":
            return int(quota.limit)
    return None


def _batches(sizes: dict[int, int], *, count: int, size: int) -> Iterator[list[int]]:
    """UIDs in order, grouped so a FETCH of their bodies holds at most `count` messages and `size` bytes."""
    batch: list[int] = []
    held = 0
    for uid in sorted(sizes):
        if batch and (len(batch) >= count or held + sizes[uid] > size):
            yield batch
            batch, held = [], 0
        batch.append(uid)
        held += sizes[uid]
    if batch:
        yield batch


def messages(
    mailbox: OwnerMailbox, folder: Folder, *, batch: int = BODY_BATCH, batch_bytes: int = BATCH_BYTES
) -> Iterator[Message]:
    """The folder's messages in UID order, without marking any of them \\Seen. Bodies are fetched in
    batches bounded by count and by bytes (sizes asked first), so memory does not grow with message size."""
    client = mailbox.client
    client.select_folder(mailbox.name(folder), readonly=True)
    try:
        uids = sorted(client.search(["ALL"]))
        sizes: dict[int, int] = {}
        for start in range(0, len(uids), 5000):
            for uid, row in client.fetch(uids[start : start + 5000], ["RFC822.SIZE"]).items():
                sizes[int(uid)] = int(row.get(b"RFC822.SIZE", 0))
        for chunk in _batches(sizes, count=batch, size=batch_bytes):
            rows = client.fetch(chunk, ["FLAGS", "INTERNALDATE", "BODY.PEEK[]"])
            for uid in sorted(rows):
                row = rows[uid]
                data = row.get(b"BODY[]")
                if data is None:
                    continue  # expunged between SEARCH and FETCH
                flags = tuple(
                    sorted(
                        text
                        for f in row.get(b"FLAGS", ())
                        if _KEEP_FLAGS.fullmatch(text := f.decode() if isinstance(f, bytes) else str(f))
                    )
                )
                when = row.get(b"INTERNALDATE")
                yield Message(int(uid), flags, when if isinstance(when, datetime) else None, bytes(data))
    finally:
        client.unselect_folder()


def append(
    mailbox: OwnerMailbox, folder: Folder, data: bytes, *, flags: Iterable[str], when: datetime | None
) -> int:
    """APPEND one message; its new UID (0 when the server did not say). MessageRefused when Cyrus says no."""
    try:
        answer = mailbox.client.append(mailbox.name(folder), data, flags=check_flags(flags), msg_time=when)
    except IMAPClientAbortError:
        raise
    except IMAPClientError as exc:
        raise MessageRefused(failure(exc)) from exc
    found = _APPENDUID.search(answer if isinstance(answer, bytes) else str(answer).encode())
    return int(found.group(2)) if found else 0


@contextmanager
def _selected(mailbox: OwnerMailbox, folder: Folder, failed: str) -> Iterator[IMAPClient]:
    """The folder selected (read-write) for the block; Cyrus's refusal as ImapError("<failed>: <why>")."""
    client = mailbox.client
    try:
        client.select_folder(mailbox.name(folder))
        yield client
        client.unselect_folder()
    except IMAPClientAbortError:
        raise
    except IMAPClientError as exc:
        raise ImapError(f"{failed}: {failure(exc)}") from exc


def remove(mailbox: OwnerMailbox, folder: Folder, uids: Iterable[int]) -> None:
    """Take back messages a restore added (UID STORE \\Deleted + UID EXPUNGE of exactly those UIDs)."""
    wanted = sorted({u for u in uids if u > 0})
    if wanted:
        with _selected(mailbox, folder, "Cyrus did not remove the restored messages") as client:
            client.add_flags(wanted, [b"\\Deleted"], silent=True)
            client.uid_expunge(wanted)


def untag(mailbox: OwnerMailbox, folder: Folder, keyword: str) -> None:
    """Take a restore's keyword off every message of the folder that carries it."""
    if not keyword:
        return
    check_flags([keyword])
    with _selected(mailbox, folder, "Cyrus did not clear the restore's mark") as client:
        found = client.search(["KEYWORD", keyword])
        if found:
            client.remove_flags(found, [keyword.encode()], silent=True)


def remove_tagged(mailbox: OwnerMailbox, folder: Folder, keyword: str) -> None:
    """Take back every message of the folder that carries a restore's keyword (an interrupted restore)."""
    check_flags([keyword])
    mailbox._known = None  # noqa: SLF001
    if folder not in mailbox.folders():
        return
    with _selected(mailbox, folder, "Cyrus did not find the restored messages") as client:
        found = client.search(["KEYWORD", keyword])
    remove(mailbox, folder, found)


def delete_folder_tree(mailbox: OwnerMailbox, top: Folder) -> None:
    """Delete a folder and everything below it (children first): undoing a restore into a new folder."""
    if not top:
        raise ImapError("refusing to delete the INBOX tree")
    mailbox._known = None  # noqa: SLF001 — the list changed since it was read
    below = sorted((p for p in mailbox.folders() if p[: len(top)] == top), key=len, reverse=True)
    for parts in below:
        try:
            mailbox.client.delete_folder(mailbox.name(parts))
        except IMAPClientAbortError:
            raise
        except IMAPClientError as exc:
            raise ImapError(f"Cyrus did not delete {'/'.join(parts)}: {failure(exc)}") from exc
    mailbox._known = None  # noqa: SLF001
