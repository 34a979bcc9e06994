"""Cyrus IMAP, as its administrator: mailboxes, ACLs, quotas; and plain user logins for checks.

The only module that imports `imapclient`. imapclient quotes folder names but passes some arguments (ACL
identifiers and rights, the LOGIN user name via imaplib) as they are, so every name, identifier and right
is checked against an allow-list here before it is sent: CR/LF can never reach the wire.
Mailboxes are `user/<uid>` (unixhierarchysep) and quotas are in KiB, as Cyrus counts them.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError, LoginError
from imapclient.imapclient import Namespace
from imapclient.imapclient import Quota as IMAPQuota

from mailadmin.directory.names import InvalidName, check_login

ADMIN_RIGHTS = "lrswipkxtea"  # what the console's admin needs on a user mailbox (append, expunge, delete)
_RIGHTS_RE = re.compile(r"[lrswipkxtecda]{0,20}")
_IDENTIFIER_RE = re.compile(r"(?:anyone|anonymous|[a-z0-9][a-z0-9._-]{0,63}(?:@[a-z0-9.-]{1,253})?)")
MAX_QUOTA_KIB = 2**53  # Cyrus stores quotas as 64-bit; keep well inside


class ImapError(Exception):
    """Base class; `permanent=False` means trying again later may succeed."""

    def __init__(self, message: str, permanent: bool = True) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent

    def __str__(self) -> str:
        return self.message


class ImapUnavailable(ImapError):
    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message, permanent)


class MailboxExists(ImapError):
    pass


class MailboxNotFound(ImapError):
    pass


@dataclass(frozen=True)
class Quota:
    usage_kib: int
    limit_kib: int


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


def check_identifier(who: str) -> str:
    """An ACL identifier: a login name (optionally @domain), `anyone` or `anonymous`."""
    if not isinstance(who, str) or not _IDENTIFIER_RE.fullmatch(who):
        raise InvalidName("Not a valid IMAP user name for an ACL.", "who")
    return who


def check_rights(rights: str) -> str:
    if not isinstance(rights, str) or not _RIGHTS_RE.fullmatch(rights):
        raise InvalidName("IMAP rights are letters from 'lrswipkxtecda'.", "rights")
    return rights


def _check_quota(quota_kib: int) -> int:
    if isinstance(quota_kib, bool) or not isinstance(quota_kib, int) or not 0 <= quota_kib <= MAX_QUOTA_KIB:
        raise InvalidName("A quota is a whole number of KiB, 0 or more.", "quota")
    return quota_kib


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
        name = self.mailbox(uid)
        if quota_kib is not None:
            _check_quota(quota_kib)
        try:
            self.client.create_folder(name)
        except IMAPClientError as exc:
            if "exists" in str(exc).lower():
                raise MailboxExists(
                    f"A mailbox for {uid} already exists (left by a deleted account?). Delete it first or "
                    "choose another login name."
                ) from exc
            raise ImapError(f"Cyrus did not create the mailbox of {uid}: {_failure(exc)}") from exc
        try:
            # The admin is not allowed to append to or delete a user's mailbox until it grants itself the
            # rights; sub-folders created later inherit them.
            self.setacl(uid, str(settings.CYRUS_ADMIN), ADMIN_RIGHTS)
            if quota_kib is not None:
                self.set_quota(uid, quota_kib)
        except ImapError:
            self._delete_quietly(name)
            raise

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
                self.client.set_quota([IMAPQuota(name, "STORAGE", 0, _check_quota(quota_kib))])
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
