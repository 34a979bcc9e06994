"""A user's mailbox as the Cyrus admin sees it (`CyrusAdmin`, one logged-in session): create and delete it,
its ACL and quota, its folders with their special-use flags and types, and what it holds."""

from __future__ import annotations

import contextlib

from django.conf import settings

from mailadmin.directory.names import InvalidName, check_login
from mailadmin.imap.annotations import get_folder_type, set_folder_type
from mailadmin.imap.wire import IMAPClient, IMAPClientError, IMAPQuota, Namespace, failure, quote_name
from mailadmin.imap_names import (
    ADMIN_RIGHTS,
    FOLDER_TYPES,
    MAX_SUMMARY_FOLDERS,
    SPECIAL_USES,
    ImapError,
    MailboxExists,
    MailboxNotFound,
    MailboxSummary,
    Quota,
    check_folder_name,
    check_identifier,
    check_quota,
    check_rights,
)


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
            raise ImapError(f"Cyrus did not create the mailbox of {uid}: {failure(exc)}") from exc

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
            raise ImapError(f"Cyrus did not delete the mailbox of {uid}: {failure(exc)}") from exc

    def setacl(self, uid: str, who: str, rights: str) -> None:
        try:
            self.client.setacl(self.mailbox(uid), check_identifier(who), check_rights(rights))
        except IMAPClientError as exc:
            raise ImapError(
                f"Cyrus did not set the access rights on the mailbox of {uid}: {failure(exc)}"
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
            raise ImapError(f"Cyrus did not set the quota of {uid}: {failure(exc)}") from exc

    def get_quota(self, uid: str) -> Quota | None:
        name = self.mailbox(uid)
        try:
            _roots, quotas = self.client.get_quota_root(name)
        except IMAPClientError as exc:
            if "nonexistent" in str(exc).lower() or "does not exist" in str(exc).lower():
                raise MailboxNotFound(f"There is no mailbox for {uid}.") from exc
            raise ImapError(f"Cyrus did not report the quota of {uid}: {failure(exc)}") from exc
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
        args = [quote_name(self.folder_path(uid, folder))]
        if special_use is not None:
            if special_use not in SPECIAL_USES:
                raise InvalidName("Not a special-use flag this console sets.", "special_use")
            args.append(b"(USE (" + special_use.encode("ascii") + b"))")
        try:
            self.client._raw_command_untagged(b"CREATE", args, uid=False, response_name="CREATE")  # noqa: SLF001
        except IMAPClientError as exc:
            if "exists" in str(exc).lower():
                raise MailboxExists(f"The folder {folder} of {uid} already exists.") from exc
            raise ImapError(f"Cyrus did not create the folder {folder} of {uid}: {failure(exc)}") from exc

    def delete_folder(self, uid: str, folder: str) -> None:
        try:
            self.client.delete_folder(self.folder_path(uid, folder))
        except IMAPClientError as exc:
            raise ImapError(f"Cyrus did not delete the folder {folder} of {uid}: {failure(exc)}") from exc

    def set_folder_type(self, uid: str, folder: str, folder_type: str) -> None:
        """Kolab's /shared/vendor/kolab/folder-type (event, contact, task, ...; RFC 5464 SETMETADATA)."""
        if folder_type not in FOLDER_TYPES:
            raise InvalidName("Not a known folder type.", "folder_type")
        set_folder_type(self.client, self.folder_path(uid, folder), folder_type, label=f"{folder} of {uid}")

    def folder_type(self, uid: str, folder: str) -> str | None:
        """The folder-type annotation of a folder ("INBOX" is the mailbox itself); None if unset."""
        name = self.mailbox(uid) if folder == "INBOX" else self.folder_path(uid, folder)
        return get_folder_type(self.client, name, label=folder)

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
