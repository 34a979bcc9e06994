"""Cyrus IMAP, as its administrator: mailboxes, ACLs, quotas; and plain user logins for checks.

The only module that imports `imapclient`. imapclient quotes folder names but passes some arguments (ACL
identifiers and rights, the LOGIN user name via imaplib) as they are, so every name, identifier and right
is checked against an allow-list here before it is sent: CR/LF can never reach the wire.
Mailboxes are `user/<uid>` (unixhierarchysep) and quotas are in KiB, as Cyrus counts them.
imapclient has no METADATA (RFC 5464) nor CREATE-SPECIAL-USE (RFC 6154) call; those go through its raw
command path (which, unlike imaplib's, needs no `imaplib.Commands` entry) with names quoted here.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from imapclient import IMAPClient, imap_utf7
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError, LoginError
from imapclient.imapclient import Namespace
from imapclient.imapclient import Quota as IMAPQuota
from imapclient.response_parser import parse_response

from mailadmin.directory.names import InvalidName, check_login

# Re-exported: callers use `imap.ImapError`, `imap.check_folder_name`, ... as before the split.
from mailadmin.imap_names import (  # noqa: F401
    ADMIN_RIGHTS,
    DEFAULT_PUBLIC_RIGHTS,
    FOLDER_TYPE_KEY,
    FOLDER_TYPES,
    GROUP_PREFIX,
    MAX_FOLDER,
    MAX_QUOTA_KIB,
    MAX_SUMMARY_FOLDERS,
    RIGHT_ORDER,
    RIGHT_SETS,
    RIGHT_WORDS,
    SEPARATOR,
    SPECIAL_USES,
    TYPE_VALUES,
    AclEntry,
    FolderPage,
    ImapError,
    ImapUnavailable,
    MailboxExists,
    MailboxNotFound,
    MailboxSummary,
    PublicFolder,
    Quota,
    check_acl_identifier,
    check_folder_name,
    check_identifier,
    check_public_path,
    check_quota,
    check_rights,
    check_rights_word,
    check_segment,
    group_identifier,
    rights_in_words,
)


def _timeout() -> float:
    return float(getattr(settings, "IMAP_TIMEOUT", settings.LDAP_TIMEOUT))


def _open() -> IMAPClient:
    # imapclient defaults to ssl=True; the private stack listens in plain text on loopback.
    try:
        return IMAPClient(
            str(settings.IMAP_HOST),
            port=int(settings.IMAP_PORT),
            ssl=bool(settings.IMAP_SSL),
            timeout=_timeout(),
        )
    except (OSError, IMAPClientError) as exc:
        raise ImapUnavailable(
            f"The IMAP server {settings.IMAP_HOST}:{settings.IMAP_PORT} cannot be reached. "
            "Try again in a moment."
        ) from exc


def _quoted(name: str) -> bytes:
    # Folder names were checked (no quotes, backslashes or line breaks); modified UTF-7 makes them ASCII.
    return b'"' + imap_utf7.encode(name) + b'"'


def _failure(exc: Exception) -> str:
    # Cyrus answers "<command> failed: <reason>"; the reason alone reads well.
    text = str(exc)
    if isinstance(exc, IMAPClientError) and "failed:" in text:
        text = text.split("failed:", 1)[1]
    return " ".join(text.split())[:200]


class CyrusAdmin:
    """One logged-in admin session. Use `admin_session()`; the module functions open one per call."""

    def __init__(self, client: IMAPClient) -> None:
        self.client = client
        self.prefix, self.separator = self._user_namespace()

    def _user_namespace(self) -> tuple[str, str]:
        ns: Namespace = self.client.namespace()
        for prefix, sep in ns.other or ():
            prefix_s = prefix.decode() if isinstance(prefix, bytes) else str(prefix)
            sep_s = sep.decode() if isinstance(sep, bytes) else str(sep)
            if prefix_s.rstrip(sep_s) == "user":
                return prefix_s, sep_s
        return "user/", "/"

    def mailbox(self, uid: str) -> str:
        """`user/<uid>` for a valid login name."""
        check_login(uid)
        if self.separator == "." and "." in uid:
            # With the netnews separator a dot starts a sub-folder: user.a.b is folder "b" of user "a".
            raise InvalidName("This server needs unixhierarchysep: yes for login names with a dot.", "uid")
        return f"{self.prefix}{uid}"

    def exists(self, uid: str) -> bool:
        # Cyrus may list a deleted user's name as \Noselect while an intermediate folder lingers.
        return any(
            not {b"\\noselect", b"\\nonexistent"} & {flag.lower() for flag in flags}
            for flags, _sep, _name in self.client.list_folders("", self.mailbox(uid))
        )

    def create(self, uid: str, quota_kib: int | None = None) -> None:
        """The mailbox, the console admin's rights on it and its quota; nothing is left if a step fails."""
        if quota_kib is not None:
            check_quota(quota_kib)
        self.create_bare(uid)
        try:
            self.grant_admin(uid)
            if quota_kib is not None:
                self.set_quota(uid, quota_kib)
        except ImapError:
            self._delete_quietly(self.mailbox(uid))
            raise

    def create_bare(self, uid: str) -> None:
        """Only `CREATE user/<uid>` (callers that journal each step run grant_admin and set_quota)."""
        try:
            self.client.create_folder(self.mailbox(uid))
        except IMAPClientError as exc:
            if "exists" in str(exc).lower():
                raise MailboxExists(
                    f"A mailbox for {uid} already exists (left by a deleted account?). Delete it first or "
                    "choose another login name."
                ) from exc
            raise ImapError(f"Cyrus did not create the mailbox of {uid}: {_failure(exc)}") from exc

    def grant_admin(self, uid: str) -> None:
        # The admin is not allowed to append to or delete a user's mailbox until it grants itself the
        # rights; sub-folders created later inherit them.
        self.setacl(uid, str(settings.CYRUS_ADMIN), ADMIN_RIGHTS)

    def _delete_quietly(self, name: str) -> None:
        with contextlib.suppress(IMAPClientError):  # undo is best effort; the original error is what matters
            self.client.delete_folder(name)

    def delete(self, uid: str) -> None:
        name = self.mailbox(uid)
        if not self.exists(uid):
            raise MailboxNotFound(f"There is no mailbox for {uid}.")
        try:
            self.client.setacl(name, check_identifier(str(settings.CYRUS_ADMIN)), ADMIN_RIGHTS)
            self.client.delete_folder(name)
        except IMAPClientError as exc:
            raise ImapError(f"Cyrus did not delete the mailbox of {uid}: {_failure(exc)}") from exc

    def setacl(self, uid: str, who: str, rights: str) -> None:
        try:
            self.client.setacl(self.mailbox(uid), check_identifier(who), check_rights(rights))
        except IMAPClientError as exc:
            raise ImapError(
                f"Cyrus did not set the access rights on the mailbox of {uid}: {_failure(exc)}"
            ) from exc

    def set_quota(self, uid: str, quota_kib: int | None) -> None:
        """Set the STORAGE quota in KiB; None removes it."""
        name = self.mailbox(uid)
        try:
            if quota_kib is None:
                # imapclient cannot send an empty resource list; `SETQUOTA root ()` removes the quota.
                self.client._raw_command_untagged(  # noqa: SLF001
                    b"SETQUOTA", [f'"{name}"'.encode(), b"()"], uid=False, response_name="QUOTA"
                )
            else:
                self.client.set_quota([IMAPQuota(name, "STORAGE", 0, check_quota(quota_kib))])
        except IMAPClientError as exc:
            raise ImapError(f"Cyrus did not set the quota of {uid}: {_failure(exc)}") from exc

    def get_quota(self, uid: str) -> Quota | None:
        name = self.mailbox(uid)
        try:
            _roots, quotas = self.client.get_quota_root(name)
        except IMAPClientError as exc:
            if "nonexistent" in str(exc).lower() or "does not exist" in str(exc).lower():
                raise MailboxNotFound(f"There is no mailbox for {uid}.") from exc
            raise ImapError(f"Cyrus did not report the quota of {uid}: {_failure(exc)}") from exc
        for quota in quotas:
            if quota.resource.upper() == "STORAGE":
                return Quota(int(quota.usage), int(quota.limit))
        return None

    def user_mailboxes(self) -> set[str]:
        """Login names of every user mailbox, from one LIST (`%` stops at the separator: top level only)."""
        found: set[str] = set()
        for flags, _sep, name in self.client.list_folders("", self.prefix + "%"):
            if {b"\\noselect", b"\\nonexistent"} & {f.lower() for f in flags}:
                continue  # a deleted user's intermediate name, not a mailbox
            text = name.decode() if isinstance(name, bytes) else str(name)
            if text.startswith(self.prefix):
                found.add(text[len(self.prefix) :])
        return found

    def folders(self, uid: str) -> list[str]:
        """Folder names of the mailbox, relative to it: "INBOX", "Sent", "Archive/2024", ..."""
        name = self.mailbox(uid)
        found = [str(n) for _flags, _sep, n in self.client.list_folders("", name)]
        found += [str(n) for _flags, _sep, n in self.client.list_folders(name + self.separator, "*")]
        relative = []
        for folder in found:
            if folder == name:
                relative.append("INBOX")
            elif folder.startswith(name + self.separator):
                relative.append(folder[len(name) + 1 :].replace(self.separator, "/"))
        return sorted(set(relative), key=lambda f: (f != "INBOX", f.lower()))

    def folder_path(self, uid: str, folder: str) -> str:
        """The admin's name of a folder one level below the mailbox: `user/<uid>/<folder>`."""
        return f"{self.mailbox(uid)}{self.separator}{check_folder_name(folder)}"

    def create_folder(self, uid: str, folder: str, *, special_use: str | None = None) -> None:
        """A folder of the user's mailbox, with its SPECIAL-USE flag (\\Sent, ...) set at creation (RFC 6154).

        Cyrus keeps special-use per owner: created with USE, the owner sees it; an admin's later SETMETADATA
        /private/specialuse would be the admin's own and stay invisible to the user."""
        args = [_quoted(self.folder_path(uid, folder))]
        if special_use is not None:
            if special_use not in SPECIAL_USES:
                raise InvalidName("Not a special-use flag this console sets.", "special_use")
            args.append(b"(USE (" + special_use.encode("ascii") + b"))")
        try:
            self.client._raw_command_untagged(b"CREATE", args, uid=False, response_name="CREATE")  # noqa: SLF001
        except IMAPClientError as exc:
            if "exists" in str(exc).lower():
                raise MailboxExists(f"The folder {folder} of {uid} already exists.") from exc
            raise ImapError(f"Cyrus did not create the folder {folder} of {uid}: {_failure(exc)}") from exc

    def delete_folder(self, uid: str, folder: str) -> None:
        try:
            self.client.delete_folder(self.folder_path(uid, folder))
        except IMAPClientError as exc:
            raise ImapError(f"Cyrus did not delete the folder {folder} of {uid}: {_failure(exc)}") from exc

    def set_folder_type(self, uid: str, folder: str, folder_type: str) -> None:
        """Kolab's /shared/vendor/kolab/folder-type (event, contact, task, ...; RFC 5464 SETMETADATA)."""
        if folder_type not in FOLDER_TYPES:
            raise InvalidName("Not a known folder type.", "folder_type")
        entry = FOLDER_TYPE_KEY.encode() + b' "' + folder_type.encode() + b'"'
        try:
            self.client._raw_command_untagged(  # noqa: SLF001
                b"SETMETADATA", [_quoted(self.folder_path(uid, folder)), b"(" + entry + b")"], uid=False
            )
        except IMAPClientError as exc:
            raise ImapError(
                f"Cyrus did not set the folder type of {folder} of {uid}: {_failure(exc)}"
            ) from exc

    def folder_type(self, uid: str, folder: str) -> str | None:
        """The folder-type annotation of a folder ("INBOX" is the mailbox itself); None if unset."""
        name = self.mailbox(uid) if folder == "INBOX" else self.folder_path(uid, folder)
        try:
            data = self.client._raw_command_untagged(  # noqa: SLF001
                b"GETMETADATA",
                [_quoted(name), b"(" + FOLDER_TYPE_KEY.encode() + b")"],
                uid=False,
                response_name="METADATA",
            )
        except IMAPClientError as exc:
            raise ImapError(f"Cyrus did not report the folder type of {folder}: {_failure(exc)}") from exc
        for item in data:
            if item is None:
                continue
            parsed = parse_response(item if isinstance(item, list) else [item])
            values = parsed[1] if len(parsed) > 1 and isinstance(parsed[1], tuple) else ()
            for key, value in zip(values[::2], values[1::2], strict=False):
                if isinstance(key, bytes) and key.decode().lower() == FOLDER_TYPE_KEY and value is not None:
                    return value.decode() if isinstance(value, bytes) else str(value)
        return None

    def folder_types(self, uid: str) -> dict[str, str | None]:
        """Every folder of the mailbox ("INBOX", "Sent Items", ...) with its folder-type annotation."""
        return {folder: self.folder_type(uid, folder) for folder in self.folders(uid)}

    def summary(self, uid: str) -> MailboxSummary:
        """Folders, messages and bytes of the whole mailbox (for "also delete N messages, X MB")."""
        if not self.exists(uid):
            raise MailboxNotFound(f"There is no mailbox for {uid}.")
        name = self.mailbox(uid)
        names = [name] + [str(n) for _f, _s, n in self.client.list_folders(name + self.separator, "*")]
        complete = len(names) <= MAX_SUMMARY_FOLDERS
        messages = size = 0
        for folder in names[:MAX_SUMMARY_FOLDERS]:
            try:
                status = self.client.folder_status(folder, ["MESSAGES", "SIZE"])
            except IMAPClientError:
                complete = False  # e.g. a folder whose ACL the owner changed to keep the admin out
                continue
            messages += int(status.get(b"MESSAGES", 0))
            size += int(status.get(b"SIZE", 0))
        return MailboxSummary(len(names), messages, size, complete)


# --- public folders, user folders, permissions (Mail Folders menu) ------------------------------------------

# Top-level names that are not public folders: the users' hierarchy and Cyrus's delayed-delete area.
_NOT_PUBLIC = frozenset({"user", "DELETED"})
# Where typed public folders are made before they are renamed into place (see Folders.create): not a valid
# login name, so no account can ever own it.
STAGING_USER = "_mailadmin-staging"
# Kept admin sessions of the folder pages (see folders_session), one per thread.
_POOL = threading.local()
POOL_IDLE_SECONDS = 60.0
_QUOTABLE = re.compile(r'[^"\\\x00-\x1f\x7f]*')


def _quoted_id(who: str) -> bytes:
    # Checked by check_acl_identifier (ASCII, no quotes, backslashes or controls): a quoted string is safe.
    return b'"' + who.encode("ascii") + b'"'


def _text(value: object) -> str:
    # parse_response gives bytes, or an int for an all-digit folder name.
    if isinstance(value, bytes):
        return imap_utf7.decode(value)
    return str(value)


class Folders:
    """Public folders, a user's folders and ACLs, on an admin session (`folders_session()`)."""

    def __init__(self, admin: CyrusAdmin) -> None:
        self.admin = admin
        self.client = admin.client

    # LIST-EXTENDED with several exact names and RETURN (STATUS ...) (RFC 5258, 5819): one round trip for
    # a whole page of counts instead of one STATUS per folder.
    def _list(
        self, patterns: list[str], *, status: bool
    ) -> tuple[list[PublicFolder], dict[str, tuple[int, int]]]:
        quoted = [_quoted(p) for p in patterns if _QUOTABLE.fullmatch(p)]
        if not quoted:
            return [], {}
        # Cyrus flags HasChildren / HasNoChildren on a plain LIST; RETURN (CHILDREN) only costs time.
        args = [b'""', b"(" + b" ".join(quoted) + b")"]
        if status:
            args += [b"RETURN", b"(STATUS (MESSAGES SIZE))"]
        try:
            data = self.client._raw_command_untagged(b"LIST", args, uid=False, response_name="LIST")  # noqa: SLF001
        finally:
            raw_status = self.client._imap.untagged_responses.pop("STATUS", [])  # noqa: SLF001
        rows: list[PublicFolder] = []
        for flags, _sep, name in self.client._proc_folder_list([d for d in data if d is not None]):  # noqa: SLF001
            lowered = {f.lower() for f in flags}
            rows.append(
                PublicFolder(
                    name=str(name),
                    has_children=b"\\haschildren" in lowered,
                    selectable=not ({b"\\noselect", b"\\nonexistent"} & lowered),
                )
            )
        counts: dict[str, tuple[int, int]] = {}
        for item in raw_status:
            if item is None:
                continue
            parsed = parse_response(item if isinstance(item, list) else [item])
            if len(parsed) < 2 or not isinstance(parsed[-1], tuple):
                continue
            values = dict(zip(parsed[-1][::2], parsed[-1][1::2], strict=False))
            counts[_text(parsed[0])] = (int(values.get(b"MESSAGES", 0)), int(values.get(b"SIZE", 0)))
        return rows, counts

    def _statuses(self, names: list[str]) -> dict[str, tuple[int, int]]:
        """MESSAGES and SIZE of each folder, one STATUS each. At 30,000 mailboxes one STATUS per folder of a
        page took a third of the time of one LIST-STATUS naming the same 50 folders (bench/folders.py):
        Cyrus walks the mailbox list once per pattern. A folder the admin may not read is left uncounted."""
        counts: dict[str, tuple[int, int]] = {}
        for name in names:
            if not _QUOTABLE.fullmatch(name):
                continue
            try:
                status = self.client.folder_status(name, ["MESSAGES", "SIZE"])
            except IMAPClientError:
                continue
            counts[name] = (int(status.get(b"MESSAGES", 0)), int(status.get(b"SIZE", 0)))
        return counts

    def children(self, parent: str, *, offset: int = 0, limit: int = 50) -> FolderPage:
        """One level of the public tree below `parent` ("" = the top), a page of it with counts."""
        if parent:
            check_public_path(parent)
        rows, _counts = self._list([f"{parent}{SEPARATOR}%" if parent else "%"], status=False)
        if not parent:
            rows = [r for r in rows if r.name not in _NOT_PUBLIC]
        rows.sort(key=lambda r: r.name.casefold())
        page = rows[offset : offset + limit]
        counts = self._statuses([r.name for r in page if r.selectable])
        folders = [
            PublicFolder(r.name, r.has_children, r.selectable, *counts.get(r.name, (None, None)))
            for r in page
        ]
        return FolderPage(folders, len(rows), offset, limit)

    def get(self, name: str) -> PublicFolder | None:
        rows, counts = self._list([name], status=True)
        for row in rows:
            if row.name == name:
                return PublicFolder(
                    row.name, row.has_children, row.selectable, *counts.get(name, (None, None))
                )
        return None

    def summary(self, mailbox: str) -> MailboxSummary:
        """A folder and everything below it: what deleting it would destroy."""
        rows, counts = self._list([mailbox, mailbox + SEPARATOR + "*"], status=True)
        names = [r.name for r in rows if r.selectable]
        complete = all(n in counts for n in names)
        return MailboxSummary(
            len(names),
            sum(counts.get(n, (0, 0))[0] for n in names),
            sum(counts.get(n, (0, 0))[1] for n in names),
            complete,
        )

    def create(self, name: str, *, folder_type: str, acl: list[tuple[str, str]]) -> None:
        """CREATE the folder with its type, then apply `acl` (`(who, rights)`; "" removes an entry).

        Cyrus 3.6 aborts on SETMETADATA of a shared mailbox (cyrus-imapd#4611, fixed in 3.8). A typed folder
        is therefore made in the console's staging mailbox (`user/_mailadmin-staging/...`, where SETMETADATA
        works), typed there and RENAMEd into place; the annotation moves with it. Such a folder starts with
        the staging ACL (the admin only), so callers pass the whole ACL it should have. If a step fails the
        folder is deleted again."""
        check_public_path(name)
        value = TYPE_VALUES.get(folder_type)
        if value is None:
            raise InvalidName("Not a known folder type.", "folder_type")
        checked = [(check_acl_identifier(who), check_rights_word(r)) for who, r in acl]
        if self.get(name) is not None:
            raise MailboxExists(f"The folder {name} already exists.")
        try:
            if value == "mail":  # no annotation: mail is what a folder without one is
                self.client.create_folder(name)
                # the rights a typed folder gets from staging: count, fill (migrations) and delete it later
                self.client.setacl(name, check_identifier(str(settings.CYRUS_ADMIN)), ADMIN_RIGHTS)
            else:
                self._create_typed(name, value)
        except IMAPClientError as exc:
            if "exists" in str(exc).lower():
                raise MailboxExists(f"The folder {name} already exists.") from exc
            raise ImapError(f"Cyrus did not create the folder {name}: {_failure(exc)}") from exc
        try:
            for who, rights in checked:
                self.set_acl(name, who, rights)
        except (ImapError, InvalidName):  # InvalidName: Cyrus did not know an identifier
            self.admin._delete_quietly(name)  # noqa: SLF001
            raise

    def _create_typed(self, name: str, value: str) -> None:
        staging = self.admin.prefix + STAGING_USER
        if not self.client.folder_exists(staging):
            self.client.create_folder(staging)
            self.client.setacl(staging, check_identifier(str(settings.CYRUS_ADMIN)), ADMIN_RIGHTS)
        temporary = f"{staging}{self.admin.separator}{uuid.uuid4().hex}"
        self.client.create_folder(temporary)
        try:
            self.set_type(temporary, value)
            self.client.rename_folder(temporary, name)
        except (IMAPClientError, ImapError):
            self.admin._delete_quietly(temporary)  # noqa: SLF001
            raise

    def rename(self, name: str, new_name: str) -> None:
        check_public_path(name)
        check_public_path(new_name)
        try:
            self.client.rename_folder(name, new_name)
        except IMAPClientError as exc:
            if "exists" in str(exc).lower():
                raise MailboxExists(f"The folder {new_name} already exists.") from exc
            raise ImapError(f"Cyrus did not rename the folder {name}: {_failure(exc)}") from exc

    def delete(self, mailbox: str) -> None:
        """The folder and every folder below it (deepest first: Cyrus deletes one mailbox per DELETE)."""
        rows, _counts = self._list([mailbox + SEPARATOR + "*"], status=False)
        admin = check_identifier(str(settings.CYRUS_ADMIN))
        below = sorted((r.name for r in rows), key=lambda n: n.count(SEPARATOR), reverse=True)
        for name in [*below, mailbox]:
            try:
                # Even an admin needs the x right to delete a shared folder (like a user's mailbox).
                self.client.setacl(name, admin, ADMIN_RIGHTS)
                self.client.delete_folder(name)
            except IMAPClientError as exc:
                if "nonexistent" in str(exc).lower() or "does not exist" in str(exc).lower():
                    continue  # an intermediate name that was never a mailbox
                raise ImapError(f"Cyrus did not delete the folder {name}: {_failure(exc)}") from exc

    def acl(self, mailbox: str) -> list[AclEntry]:
        try:
            pairs = self.client.getacl(mailbox)
        except IMAPClientError as exc:
            if "nonexistent" in str(exc).lower() or "does not exist" in str(exc).lower():
                raise MailboxNotFound(f"There is no folder {mailbox}.") from exc
            raise ImapError(f"Cyrus did not report the permissions of {mailbox}: {_failure(exc)}") from exc
        # Cyrus reports the obsolete c and d next to k, x, t, e (RFC 4314 section 2.1.1); the console shows
        # and sets only the RFC 4314 letters.
        entries = [
            AclEntry(_text(who), "".join(ch for ch in RIGHT_ORDER if ch in _text(rights)))
            for who, rights in pairs
        ]
        return sorted(entries, key=lambda e: (e.who != "anyone", e.is_group, e.who))

    def set_acl(self, mailbox: str, who: str, rights: str) -> None:
        """SETACL with the identifier quoted by us (imapclient would send it as it is); "" removes it."""
        letters = check_rights_word(rights)
        # An entry for a group in the earlier `group:<DN>` form can still be removed, never given.
        ident = _quoted_id(check_acl_identifier(who, allow_dn_group=not letters))
        command = b"SETACL" if letters else b"DELETEACL"
        args = [_quoted(mailbox), ident] + ([letters.encode("ascii")] if letters else [])
        try:
            self.client._raw_command_untagged(command, args, uid=False)  # noqa: SLF001
        except IMAPClientError as exc:
            if "invalid identifier" in str(exc).lower():
                raise InvalidName(f"The mail server does not know {who}.", "who") from exc
            raise ImapError(f"Cyrus did not change the permissions of {mailbox}: {_failure(exc)}") from exc

    def set_type(self, mailbox: str, value: str) -> None:
        if value not in FOLDER_TYPES:
            raise InvalidName("Not a known folder type.", "folder_type")
        entry = FOLDER_TYPE_KEY.encode() + b' "' + value.encode() + b'"'
        try:
            self.client._raw_command_untagged(  # noqa: SLF001
                b"SETMETADATA", [_quoted(mailbox), b"(" + entry + b")"], uid=False
            )
        except IMAPClientError as exc:
            raise ImapError(f"Cyrus did not set the folder type of {mailbox}: {_failure(exc)}") from exc

    def get_type(self, mailbox: str) -> str | None:
        return _folder_type(self.client, mailbox)

    def user_rows(self, uid: str) -> list[PublicFolder]:
        """A user's mailbox and folders with counts; names relative to the mailbox ("INBOX", "Sent", ...)."""
        top = self.admin.mailbox(uid)
        rows, counts = self._list([top, top + self.admin.separator + "*"], status=True)
        out = []
        for row in rows:
            relative = "INBOX" if row.name == top else row.name[len(top) + 1 :]
            out.append(
                PublicFolder(relative, row.has_children, row.selectable, *counts.get(row.name, (None, None)))
            )
        return sorted(out, key=lambda r: (r.name != "INBOX", r.name.casefold()))

    def all_names(self) -> list[str]:
        """Every mailbox the admin sees, public and users' (whole-server sweeps, e.g. folders/upgrade.py)."""
        return [_text(name) for _flags, _sep, name in self.client.list_folders("", "*")]

    def user_mailbox(self, uid: str, folder: str) -> str:
        """The admin's name of a user's folder ("INBOX" is the mailbox itself), every level checked."""
        top = self.admin.mailbox(uid)
        if folder == "INBOX":
            return top
        parts = folder.split(SEPARATOR)
        for part in parts:
            check_folder_name(part)
        return top + self.admin.separator + self.admin.separator.join(parts)


def _folder_type(client: IMAPClient, mailbox: str) -> str | None:
    try:
        data = client._raw_command_untagged(  # noqa: SLF001
            b"GETMETADATA",
            [_quoted(mailbox), b"(" + FOLDER_TYPE_KEY.encode() + b")"],
            uid=False,
            response_name="METADATA",
        )
    except IMAPClientError as exc:
        raise ImapError(f"Cyrus did not report the folder type of {mailbox}: {_failure(exc)}") from exc
    for item in data:
        if item is None:
            continue
        parsed = parse_response(item if isinstance(item, list) else [item])
        values = parsed[1] if len(parsed) > 1 and isinstance(parsed[1], tuple) else ()
        for key, value in zip(values[::2], values[1::2], strict=False):
            if isinstance(key, bytes) and key.decode().lower() == FOLDER_TYPE_KEY and value is not None:
                return value.decode() if isinstance(value, bytes) else str(value)
    return None


@contextmanager
def folders_session() -> Iterator[Folders]:
    """An admin session for the folder pages, kept open per thread between requests.

    Connecting, logging in (Cyrus asks ptloader about the admin) and NAMESPACE cost more than listing one
    level of the tree, so each worker thread keeps its logged-in session; a session that broke off or was
    idle too long is dropped and a new one opened. A command that fails keeps the session (Cyrus answered);
    a broken connection drops it.
    """
    cached: tuple[CyrusAdmin, float] | None = getattr(_POOL, "session", None)
    _POOL.session = None  # taken: a failure below must not hand a broken session to the next caller
    admin: CyrusAdmin | None = None
    if cached is not None and time.monotonic() - cached[1] < POOL_IDLE_SECONDS:
        admin = cached[0]
        try:
            admin.client.noop()
        except (OSError, IMAPClientError):
            _logout(admin.client)
            admin = None
    elif cached is not None:
        _logout(cached[0].client)
    if admin is None:
        admin = _login_admin()
    try:
        yield Folders(admin)
    except (OSError, IMAPClientAbortError) as exc:
        _logout(admin.client)
        raise ImapUnavailable("The connection to the IMAP server broke off. Try again in a moment.") from exc
    except IMAPClientError as exc:
        _POOL.session = (admin, time.monotonic())
        raise ImapError(f"Cyrus refused a command: {_failure(exc)}") from exc
    except BaseException:
        _POOL.session = (admin, time.monotonic())
        raise
    _POOL.session = (admin, time.monotonic())


def _login_admin() -> CyrusAdmin:
    client = _open()
    try:
        client.login(check_identifier(str(settings.CYRUS_ADMIN)), str(settings.CYRUS_ADMIN_PASSWORD))
        return CyrusAdmin(client)
    except LoginError as exc:
        _logout(client)
        raise ImapUnavailable(
            "The console cannot log in to Cyrus: CYRUS_ADMIN or CYRUS_ADMIN_PASSWORD is wrong.",
            permanent=True,
        ) from exc
    except (OSError, IMAPClientError) as exc:
        _logout(client)
        raise ImapUnavailable("The IMAP server did not complete the login. Try again in a moment.") from exc


def drop_pooled_sessions() -> None:
    """Forget this thread's kept session (tests that must see every connection being opened)."""
    cached = getattr(_POOL, "session", None)
    _POOL.session = None
    if cached is not None:
        _logout(cached[0].client)


@contextmanager
def admin_session() -> Iterator[CyrusAdmin]:
    """A logged-in admin session for several operations in a row (reconcile jobs, bulk creation)."""
    client = _open()
    try:
        try:
            client.login(check_identifier(str(settings.CYRUS_ADMIN)), str(settings.CYRUS_ADMIN_PASSWORD))
        except LoginError as exc:
            raise ImapUnavailable(
                "The console cannot log in to Cyrus: CYRUS_ADMIN or CYRUS_ADMIN_PASSWORD is wrong.",
                permanent=True,
            ) from exc
        yield CyrusAdmin(client)
    except (OSError, IMAPClientAbortError) as exc:
        raise ImapUnavailable("The connection to the IMAP server broke off. Try again in a moment.") from exc
    except IMAPClientError as exc:  # a command not wrapped more precisely above
        raise ImapError(f"Cyrus refused a command: {_failure(exc)}") from exc
    finally:
        _logout(client)


def mailbox_create(uid: str, quota_kib: int | None = None) -> None:
    check_login(uid)  # before connecting: a refused name costs no round trip
    with admin_session() as admin:
        admin.create(uid, quota_kib)


def mailbox_delete(uid: str) -> None:
    check_login(uid)  # before connecting: a refused name costs no round trip
    with admin_session() as admin:
        admin.delete(uid)


def mailbox_exists(uid: str) -> bool:
    check_login(uid)  # before connecting: a refused name costs no round trip
    with admin_session() as admin:
        return admin.exists(uid)


def quota_set(uid: str, quota_kib: int | None) -> None:
    check_login(uid)  # before connecting: a refused name costs no round trip
    with admin_session() as admin:
        admin.set_quota(uid, quota_kib)


def quota_get(uid: str) -> Quota | None:
    check_login(uid)  # before connecting: a refused name costs no round trip
    with admin_session() as admin:
        return admin.get_quota(uid)


def folders(uid: str) -> list[str]:
    check_login(uid)  # before connecting: a refused name costs no round trip
    with admin_session() as admin:
        return admin.folders(uid)


def folder_types(uid: str) -> dict[str, str | None]:
    check_login(uid)  # before connecting: a refused name costs no round trip
    with admin_session() as admin:
        return admin.folder_types(uid)


def mailbox_summary(uid: str) -> MailboxSummary:
    check_login(uid)  # before connecting: a refused name costs no round trip
    with admin_session() as admin:
        return admin.summary(uid)


def login_check(user: str, password: str) -> bool:
    """Can `user` log in over IMAP with `password` (Cyrus → saslauthd → LDAP)? False for a refused login.

    Names and passwords that could not be sent safely (imaplib puts the LOGIN user name on the wire as it is)
    are refused here without contacting the server. ImapUnavailable if the server cannot be reached.
    """
    try:
        check_login(user)
    except InvalidName:
        return False
    if not password or len(password) > 256 or any(ch in password for ch in "\x00\r\n"):
        return False
    client = _open()
    try:
        client.login(user, password)
        return True
    except LoginError:
        return False
    except (OSError, IMAPClientError) as exc:
        raise ImapUnavailable("The IMAP server did not complete the login. Try again in a moment.") from exc
    finally:
        _logout(client)


def _logout(client: IMAPClient) -> None:
    # LOGOUT is valid in every state, also after a refused LOGIN; the session is over either way.
    with contextlib.suppress(OSError, IMAPClientError):
        client.logout()
