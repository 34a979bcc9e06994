"""Cyrus IMAP, as its administrator: mailboxes, ACLs, quotas; and plain user logins for checks.

The only package that imports `imapclient` (in `wire`, its one door to the library). imapclient quotes
folder names but passes some arguments (ACL identifiers and rights, the LOGIN user name via imaplib) as they
are, so every name, identifier and right is checked against an allow-list (mailadmin/imap_names.py)
before it is sent: CR/LF can never reach the wire.
Mailboxes are `user/<uid>` (unixhierarchysep) and quotas are in KiB, as Cyrus counts them.
imapclient has no METADATA (RFC 5464) nor CREATE-SPECIAL-USE (RFC 6154) call; those go through its raw
command path (which, unlike imaplib's, needs no `imaplib.Commands` entry) with names quoted here.

This module opens every connection (`_open`, the one place tests replace to prove none is opened) and holds
the sessions and one-call helpers; the work is done by
- `mailboxes`: `CyrusAdmin`, a user's mailbox (create, delete, ACL, quota, folders, types, summary);
- `mailfolders`: `Folders`, the Mail Folders menu (public tree, ACLs, types, a user's folders);
- `annotations`: folder types (METADATA); `wire`: quoting, decoding, Cyrus's refusals.
Callers use `imap.X` and `from mailadmin.imap import X` as before the split.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings

from mailadmin.directory.names import InvalidName, check_login
from mailadmin.imap.mailboxes import CyrusAdmin
from mailadmin.imap.mailfolders import STAGING_USER, Folders
from mailadmin.imap.owner import MessageRefused, OwnerMailbox
from mailadmin.imap.wire import IMAPClient, IMAPClientAbortError, IMAPClientError, LoginError, failure
from mailadmin.imap_names import (
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

__all__ = [
    "ADMIN_RIGHTS",
    "DEFAULT_PUBLIC_RIGHTS",
    "FOLDER_TYPES",
    "FOLDER_TYPE_KEY",
    "GROUP_PREFIX",
    "MAX_FOLDER",
    "MAX_QUOTA_KIB",
    "MAX_SUMMARY_FOLDERS",
    "POOL_IDLE_SECONDS",
    "RIGHT_ORDER",
    "RIGHT_SETS",
    "RIGHT_WORDS",
    "SEPARATOR",
    "SPECIAL_USES",
    "STAGING_USER",
    "TYPE_VALUES",
    "AclEntry",
    "CyrusAdmin",
    "FolderPage",
    "Folders",
    "ImapError",
    "ImapUnavailable",
    "MailboxExists",
    "MailboxNotFound",
    "MailboxSummary",
    "MessageRefused",
    "OwnerMailbox",
    "PublicFolder",
    "Quota",
    "admin_session",
    "check_acl_identifier",
    "check_folder_name",
    "check_identifier",
    "check_public_path",
    "check_quota",
    "check_rights",
    "check_rights_word",
    "check_segment",
    "drop_pooled_sessions",
    "folder_types",
    "folders",
    "folders_session",
    "group_identifier",
    "login_check",
    "mailbox_create",
    "mailbox_delete",
    "mailbox_exists",
    "mailbox_summary",
    "owner_session",
    "quota_get",
    "quota_set",
    "rights_in_words",
]

# Kept admin sessions of the folder pages (see folders_session), one per thread.
_POOL = threading.local()
POOL_IDLE_SECONDS = 60.0


def _timeout() -> float:
    return float(getattr(settings, "IMAP_TIMEOUT", settings.LDAP_TIMEOUT))


def _open() -> IMAPClient:
    # imapclient defaults to ssl=True; the private stack listens in plain text on loopback.
    try:
        client = IMAPClient(
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
    # imapclient writes some commands in two pieces (the line, then its CRLF; an APPEND's line, then the
    # literal): with Nagle's algorithm the second piece waits for the server's delayed ACK, 40 ms a command.
    with contextlib.suppress(OSError):
        client.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return client


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
        raise ImapError(f"Cyrus refused a command: {failure(exc)}") from exc
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
        raise ImapError(f"Cyrus refused a command: {failure(exc)}") from exc
    finally:
        _logout(client)


@contextmanager
def owner_session(uid: str) -> Iterator[OwnerMailbox]:
    """The mailbox of `uid` as its owner sees it, opened by the console's admin acting for the owner (SASL
    PLAIN with `uid` as authorization identity; see mailadmin/imap/owner.py). MailboxNotFound without one."""
    check_login(uid)  # before connecting: a refused name costs no round trip
    client = _open()  # without Nagle (see _open): an APPEND's literal does not wait for a delayed ACK
    try:
        try:
            client.plain_login(
                check_identifier(str(settings.CYRUS_ADMIN)), str(settings.CYRUS_ADMIN_PASSWORD), uid
            )
        except LoginError as exc:
            raise ImapUnavailable(
                f"The console cannot act for {uid} in Cyrus (CYRUS_ADMIN must be one of Cyrus's admins).",
                permanent=True,
            ) from exc
        yield OwnerMailbox(client, uid)
    except (OSError, IMAPClientAbortError) as exc:
        raise ImapUnavailable("The connection to the IMAP server broke off. Try again in a moment.") from exc
    except IMAPClientError as exc:  # a command not wrapped more precisely in OwnerMailbox
        raise ImapError(f"Cyrus refused a command: {failure(exc)}") from exc
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
