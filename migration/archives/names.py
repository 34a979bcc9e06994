"""Archive folder names onto the names Cyrus accepts in a user's mailbox.

- each level: characters Cyrus refuses (`! ^ ; < > { } | \\``), the separator, LIST wildcards, quotes and
  control characters become `_`; spaces at either end go; at most MAX_PART characters;
- the top: "Inbox" in any spelling is the INBOX; PST's "Top of Personal Folders" (and its kin) is dropped;
  Outlook's and other clients' "Sent Items", "Deleted Items", "Drafts", "Junk E-mail" go into the user's
  folder with that special use (\\Sent, \\Trash, ...) when there is one, whatever it is called;
- an "Into folder" chosen in the form puts the whole archive below that folder instead.
Levels are returned as a tuple relative to the user's INBOX (`()` is the INBOX itself); the gateway joins
them with the server's separator.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

from mailadmin.directory import InvalidName

MAX_PART = 100
MAX_NAME = 400
_REFUSED = re.compile(r'[!^;<>{}|`/%*"\\]')
_TOP_OF = ("top of personal folders", "top of outlook data file", "top of information store")
ALIASES: dict[str, frozenset[str]] = {
    "\\Sent": frozenset(
        {"sent", "sent items", "sent messages", "sent mail", "gesendet", "gesendete objekte",
         "gesendete elemente", "éléments envoyés"}
    ),
    "\\Trash": frozenset(
        {"trash", "deleted items", "deleted messages", "bin", "papierkorb", "gelöschte objekte",
         "gelöschte elemente", "éléments supprimés", "corbeille"}
    ),
    "\\Drafts": frozenset({"drafts", "draft", "entwürfe", "brouillons"}),
    "\\Junk": frozenset(
        {"junk", "junk e-mail", "junk email", "junk mail", "spam", "junk-e-mail", "courrier indésirable"}
    ),
}  # fmt: skip


class FolderRefused(InvalidName):
    """An archive folder that cannot become a Cyrus folder (its messages are refused, the rest goes on)."""


def clean_part(part: str) -> str:
    text = "".join("_" if unicodedata.category(ch) in ("Cc", "Cs") else ch for ch in part)
    text = _REFUSED.sub("_", text).strip()[:MAX_PART].strip()
    return text or "_"


def check_into(value: str) -> tuple[str, ...]:
    """The form's "Into folder" ("Archive/2019"): levels split at `/`, each cleaned; "" or INBOX: none."""
    parts = tuple(clean_part(p) for p in value.split("/") if p.strip())
    if parts and parts[0].casefold() == "inbox":
        parts = parts[1:]
    return tuple(p + "_" if p.upper() == "INBOX" else p for p in parts)


def map_folder(
    folder: tuple[str, ...],
    *,
    special: Mapping[str, tuple[str, ...]],
    into: tuple[str, ...] = (),
) -> tuple[str, ...]:
    """The user's folder (levels below INBOX) for an archive folder. `special`: the user's folders by
    special use ("\\Sent" -> ("Sent Items",)), as the gateway lists them."""
    parts = [clean_part(p) for p in folder]
    while parts and parts[0].casefold() in _TOP_OF:
        parts.pop(0)
    if parts and parts[0].casefold() == "inbox":
        parts.pop(0)
    elif parts and not into:
        top = parts[0].casefold()
        for use, names in ALIASES.items():
            if top in names and use in special:
                parts = [*special[use], *parts[1:]]
                break
    mapped = tuple(p + "_" if p.upper() == "INBOX" else p for p in (*into, *parts))
    if len("/".join(mapped)) > MAX_NAME:
        raise FolderRefused(
            f"The folder {'/'.join(folder)[:120]!r} is nested too deep for the mail server.", "folder"
        )
    return mapped


def decode_modified_utf7(name: str) -> str:
    """A Maildir++ folder name as Dovecot and Courier store it (IMAP's modified UTF-7, `Entw&APw-rfe`)."""
    import base64

    def one(match: re.Match[str]) -> str:
        body = match.group(1)
        if not body:
            return "&"
        padded = body.replace(",", "/") + "=" * (-len(body) % 4)
        try:
            return base64.b64decode(padded, validate=True).decode("utf-16-be")
        except (ValueError, UnicodeDecodeError):
            return match.group(0)

    return re.sub(r"&([A-Za-z0-9+,]*)-", one, name)
