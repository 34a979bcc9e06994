"""The Mail Folders menu as the Cyrus admin sees it (`Folders`, on an admin session): the public tree page
by page with counts, creating (typed), renaming and deleting folders, their ACLs and types; user folders."""

from __future__ import annotations

import uuid

from django.conf import settings

from mailadmin.directory.names import InvalidName
from mailadmin.imap.annotations import get_folder_type, set_folder_type
from mailadmin.imap.mailboxes import CyrusAdmin
from mailadmin.imap.wire import (
    QUOTABLE,
    IMAPClientError,
    decode_name,
    failure,
    parse_response,
    quote_id,
    quote_name,
)
from mailadmin.imap_names import (
    ADMIN_RIGHTS,
    RIGHT_ORDER,
    SEPARATOR,
    TYPE_VALUES,
    AclEntry,
    FolderPage,
    ImapError,
    MailboxExists,
    MailboxNotFound,
    MailboxSummary,
    PublicFolder,
    check_acl_identifier,
    check_folder_name,
    check_identifier,
    check_public_path,
    check_rights_word,
)

# Top-level names that are not public folders: the users' hierarchy and Cyrus's delayed-delete area.
_NOT_PUBLIC = frozenset({"user", "DELETED"})
# Where typed public folders are made before they are renamed into place (see Folders.create): not a valid
# login name, so no account can ever own it.
STAGING_USER = "_mailadmin-staging"


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
        quoted = [quote_name(p) for p in patterns if QUOTABLE.fullmatch(p)]
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
            counts[decode_name(parsed[0])] = (int(values.get(b"MESSAGES", 0)), int(values.get(b"SIZE", 0)))
        return rows, counts

    def _statuses(self, names: list[str]) -> dict[str, tuple[int, int]]:
        """MESSAGES and SIZE of each folder, one STATUS each. At 30,000 mailboxes one STATUS per folder of a
        page took a third of the time of one LIST-STATUS naming the same 50 folders (bench/folders.py):
        Cyrus walks the mailbox list once per pattern. A folder the admin may not read is left uncounted."""
        counts: dict[str, tuple[int, int]] = {}
        for name in names:
            if not QUOTABLE.fullmatch(name):
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
            raise ImapError(f"Cyrus did not create the folder {name}: {failure(exc)}") from exc
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
            raise ImapError(f"Cyrus did not rename the folder {name}: {failure(exc)}") from exc

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
                raise ImapError(f"Cyrus did not delete the folder {name}: {failure(exc)}") from exc

    def acl(self, mailbox: str) -> list[AclEntry]:
        try:
            pairs = self.client.getacl(mailbox)
        except IMAPClientError as exc:
            if "nonexistent" in str(exc).lower() or "does not exist" in str(exc).lower():
                raise MailboxNotFound(f"There is no folder {mailbox}.") from exc
            raise ImapError(f"Cyrus did not report the permissions of {mailbox}: {failure(exc)}") from exc
        # Cyrus reports the obsolete c and d next to k, x, t, e (RFC 4314 section 2.1.1); the console shows
        # and sets only the RFC 4314 letters.
        entries = [
            AclEntry(decode_name(who), "".join(ch for ch in RIGHT_ORDER if ch in decode_name(rights)))
            for who, rights in pairs
        ]
        return sorted(entries, key=lambda e: (e.who != "anyone", e.is_group, e.who))

    def set_acl(self, mailbox: str, who: str, rights: str) -> None:
        """SETACL with the identifier quoted by us (imapclient would send it as it is); "" removes it."""
        letters = check_rights_word(rights)
        # An entry for a group in the earlier `group:<DN>` form can still be removed, never given.
        ident = quote_id(check_acl_identifier(who, allow_dn_group=not letters))
        command = b"SETACL" if letters else b"DELETEACL"
        args = [quote_name(mailbox), ident] + ([letters.encode("ascii")] if letters else [])
        try:
            self.client._raw_command_untagged(command, args, uid=False)  # noqa: SLF001
        except IMAPClientError as exc:
            if "invalid identifier" in str(exc).lower():
                raise InvalidName(f"The mail server does not know {who}.", "who") from exc
            raise ImapError(f"Cyrus did not change the permissions of {mailbox}: {failure(exc)}") from exc

    def set_type(self, mailbox: str, value: str) -> None:
        set_folder_type(self.client, mailbox, value, label=mailbox)

    def get_type(self, mailbox: str) -> str | None:
        return get_folder_type(self.client, mailbox, label=mailbox)

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
        return [decode_name(name) for _flags, _sep, name in self.client.list_folders("", "*")]

    def user_mailbox(self, uid: str, folder: str) -> str:
        """The admin's name of a user's folder ("INBOX" is the mailbox itself), every level checked."""
        top = self.admin.mailbox(uid)
        if folder == "INBOX":
            return top
        parts = folder.split(SEPARATOR)
        for part in parts:
            check_folder_name(part)
        return top + self.admin.separator + self.admin.separator.join(parts)
