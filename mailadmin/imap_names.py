"""Names, rights, errors and result types of the Cyrus gateway — no protocol code here.

Everything `mailadmin.imap` checks before a command goes out: folder names, ACL identifiers, rights, quotas.
Kept apart from `mailadmin/imap/` (the only package that imports imapclient) so that package is about the
protocol; `mailadmin.imap` re-exports all public names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailadmin.directory.names import InvalidName, check_domain
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


# --- public (shared) folders and their permissions (Mail Folders menu, FLD-01..05, SCX-01) -----------------

# The separator of the console's names; Cyrus runs with unixhierarchysep, so it is the server's too.
SEPARATOR = "/"
# One level of a public folder name (FLD-03): letters (any script), digits and underscore.
_SEGMENT_RE = re.compile(r"\w{1,64}")
MAX_DEPTH = 8
MAX_PATH = 400
# What the console calls the folder types of the manual, and the annotation value groupware clients read.
TYPE_VALUES = {
    "mail": "mail",
    "calendar": "event",
    "contacts": "contact",
    "tasks": "task",
    "notes": "note",
    "journal": "journal",
}
# RFC 4314 rights (Cyrus 3.6 also understands the obsolete c and d, which it maps onto k, x, t, e).
RIGHT_WORDS: dict[str, str] = {
    "l": "lookup",
    "r": "read",
    "s": "keep seen",
    "w": "write flags",
    "i": "insert",
    "p": "post",
    "k": "create folders",
    "x": "delete folder",
    "t": "delete messages",
    "e": "expunge",
    "a": "administer",
}
RIGHT_ORDER = "lrswipkxtea"
# The sets an administrator picks from (cyradm's names): what each one lets a user do.
RIGHT_SETS: dict[str, str] = {
    "read": "lrs",
    "post": "lrsp",
    "append": "lrsip",
    "write": "lrswipkxte",
    "all": "lrswipkxtea",
}
DEFAULT_PUBLIC_RIGHTS = "lrs"  # anyone on a global public folder; the domain's group on a domain's (SCX-01)
# `group:` + the entryUUID of a domain, organization or group container (docs/decisions/0007): slapd writes
# it in lower-case hex and keeps it across renames and moves, so ACL entries outlive a new name or place.
GROUP_PREFIX = "group:"
_GROUP_UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# The earlier form, `group:<container DN in lower case>`: still shown and removable, never written.
_GROUP_DN_RE = re.compile(r"[a-z0-9 ._@'&()!?:/-]+")
MAX_GROUP_ID = 400


def check_segment(name: str) -> str:
    """One level of a public folder name, as a person types it (FLD-03)."""
    if not isinstance(name, str) or not _SEGMENT_RE.fullmatch(name) or not name.isprintable():
        raise InvalidName(
            "A folder name may contain only letters, digits and the underscore (_), 1 to 64 characters.",
            "name",
        )
    if name.lower() in ("inbox", "user", "deleted"):
        raise InvalidName("INBOX, user and DELETED are names the mail server keeps for itself.", "name")
    return name


def check_public_path(path: str) -> str:
    """A public folder's full name: segments joined by `/` (FLD-03); the first may be a domain's root folder,
    named after the domain (SCX-01: a dotted first level is a domain name, never a folder a person named).
    """
    if not isinstance(path, str) or not path or len(path) > MAX_PATH:
        raise InvalidName(f"A folder name is 1 to {MAX_PATH} characters.", "name")
    parts = path.split(SEPARATOR)
    if len(parts) > MAX_DEPTH:
        raise InvalidName(f"Folders nest at most {MAX_DEPTH} levels deep.", "name")
    first, rest = parts[0], parts[1:]
    if "." in first:
        if check_domain(first, "name") != first:  # the console names roots in lower-case ASCII
            raise InvalidName("A domain's folder is named after the domain in lower case.", "name")
    else:
        check_segment(first)
    for part in rest:
        check_segment(part)
    return path


def check_rights_word(rights: str) -> str:
    """Rights letters in canonical order, each at most once; empty means "no rights"."""
    checked = check_rights(rights)
    if any(ch in "cd" for ch in checked):
        raise InvalidName("Use the RFC 4314 rights (k, x, t, e) instead of c and d.", "rights")
    return "".join(ch for ch in RIGHT_ORDER if ch in checked)


def rights_in_words(rights: str) -> list[str]:
    return [RIGHT_WORDS[ch] for ch in RIGHT_ORDER if ch in rights]


def group_identifier(entry_uuid: str) -> str:
    """`group:<entryUUID>` as ptloader names a container's group (ASCII lower case, as ptloader lowers it)."""
    lowered = "".join(ch.lower() if "A" <= ch <= "Z" else ch for ch in entry_uuid)
    return check_acl_identifier(GROUP_PREFIX + lowered, allow_anyone=False)


def group_uuid(who: str) -> str | None:
    """The container entryUUID a `group:<uuid>` identifier names; None for users, anyone and old DN groups."""
    if isinstance(who, str) and who.startswith(GROUP_PREFIX):
        rest = who[len(GROUP_PREFIX) :]
        if _GROUP_UUID_RE.fullmatch(rest):
            return rest
    return None


def check_acl_identifier(who: str, *, allow_anyone: bool = True, allow_dn_group: bool = False) -> str:
    """Who an ACL entry is for: a login name, `anyone`, or a group (`group:<container entryUUID>`).

    `allow_dn_group` also takes the earlier `group:<container DN>` form, so such entries can be removed; a DN
    may hold spaces, so identifiers go out as IMAP quoted strings: quotes, backslashes, line breaks and
    anything outside ASCII are refused here, before a command is built.
    """
    if not isinstance(who, str):
        raise InvalidName("Not a valid user or group for a permission.", "who")
    if who == "anyone":
        if not allow_anyone:
            raise InvalidName("'anyone' is not allowed here.", "who")
        return who
    if who.startswith(GROUP_PREFIX):
        if group_uuid(who) is not None:
            return who
        dn = who[len(GROUP_PREFIX) :]
        if (
            not allow_dn_group
            or len(who) > MAX_GROUP_ID
            or not _GROUP_DN_RE.fullmatch(dn.replace("=", "a").replace(",", "a"))
            or dn != dn.strip()
            or "=" not in dn
        ):
            raise InvalidName("Not a group the mail server can be given rights for.", "who")
        return who
    if who == "anonymous":
        raise InvalidName("Permissions for anonymous are not given by this console.", "who")
    return check_identifier(who)


@dataclass(frozen=True)
class PublicFolder:
    """One row of the folder tree: full name, flags from LIST, counts from STATUS (None if not counted)."""

    name: str
    has_children: bool
    selectable: bool = True
    messages: int | None = None
    size_bytes: int | None = None

    @property
    def leaf(self) -> str:
        return self.name.rsplit(SEPARATOR, 1)[-1]

    @property
    def parent(self) -> str:
        return self.name.rsplit(SEPARATOR, 1)[0] if SEPARATOR in self.name else ""

    @property
    def depth(self) -> int:
        return self.name.count(SEPARATOR)


@dataclass(frozen=True)
class FolderPage:
    folders: list[PublicFolder]
    total: int  # children of the parent, all pages
    offset: int
    limit: int


@dataclass(frozen=True)
class AclEntry:
    who: str
    rights: str

    @property
    def is_group(self) -> bool:
        return self.who.startswith(GROUP_PREFIX)

    @property
    def words(self) -> list[str]:
        return rights_in_words(self.rights)
