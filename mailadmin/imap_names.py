"""Names, rights, errors and result types of the Cyrus gateway — no protocol code here.

Everything `mailadmin.imap` checks before a command goes out: folder names, ACL identifiers, rights, quotas.
Split out of `mailadmin/imap.py` (the only module that imports imapclient) to keep that module about the
protocol; `mailadmin.imap` re-exports all public names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailadmin.directory.names import InvalidName
from mailadmin.errors import GatewayError

ADMIN_RIGHTS = "lrswipkxtea"  # what the console's admin needs on a user mailbox (append, expunge, delete)
_RIGHTS_RE = re.compile(r"[lrswipkxtecda]{0,20}")
_IDENTIFIER_RE = re.compile(r"(?:anyone|anonymous|[a-z0-9][a-z0-9._-]{0,63}(?:@[a-z0-9.-]{1,253})?)")
MAX_QUOTA_KIB = 2**53  # Cyrus stores quotas as 64-bit; keep well inside
# Kolab's folder-type annotation (Cyrus accepts it through annotation_definitions, see configfiles/cyrus.py).
# /shared: set by the admin, seen by the owner; an admin's /private value would be the admin's own.
FOLDER_TYPE_KEY = "/shared/vendor/kolab/folder-type"
FOLDER_TYPES = frozenset(
    {
        "mail",
        "event",
        "contact",
        "task",
        "note",
        "journal",
        "mail.drafts",
        "mail.sentitems",
        "mail.wastebasket",
        "mail.junkemail",
    }
)
SPECIAL_USES = frozenset({"\\Drafts", "\\Sent", "\\Trash", "\\Junk", "\\Archive"})
MAX_FOLDER = 200
# The separator, LIST wildcards and IMAP quoting characters; Cyrus refuses more (`!`, `^`, ...) on its own.
_FOLDER_FORBIDDEN = frozenset('/%*"\\')
MAX_SUMMARY_FOLDERS = 2000


class ImapError(GatewayError):
    """Base class of the Cyrus gateway's errors (see mailadmin.errors for `permanent`)."""


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


@dataclass(frozen=True)
class MailboxSummary:
    """What deleting a mailbox would destroy: its folders, their messages and bytes (STATUS MESSAGES SIZE)."""

    folders: int
    messages: int
    size_bytes: int
    complete: bool = True  # False if some folder could not be counted (or there were too many to count)


def check_identifier(who: str) -> str:
    """An ACL identifier: a login name (optionally @domain), `anyone` or `anonymous`."""
    if not isinstance(who, str) or not _IDENTIFIER_RE.fullmatch(who):
        raise InvalidName("Not a valid IMAP user name for an ACL.", "who")
    return who


def check_rights(rights: str) -> str:
    if not isinstance(rights, str) or not _RIGHTS_RE.fullmatch(rights):
        raise InvalidName("IMAP rights are letters from 'lrswipkxtecda'.", "rights")
    return rights


def check_folder_name(name: str) -> str:
    """One folder level below a mailbox ("Sent Items", "Entwürfe"): printable, no separator or wildcards."""
    if (
        not isinstance(name, str)
        or not name
        or len(name) > MAX_FOLDER
        or not name.isprintable()
        or name != name.strip()
        or any(ch in _FOLDER_FORBIDDEN for ch in name)
        or name.upper() == "INBOX"
    ):
        raise InvalidName(
            f"A folder name must be 1 to {MAX_FOLDER} printable characters without / % * \\ or quotes, "
            "and no leading or trailing space.",
            "folder",
        )
    return name


def check_quota(quota_kib: int) -> int:
    if isinstance(quota_kib, bool) or not isinstance(quota_kib, int) or not 0 <= quota_kib <= MAX_QUOTA_KIB:
        raise InvalidName("A quota is a whole number of KiB, 0 or more.", "quota")
    return quota_kib
