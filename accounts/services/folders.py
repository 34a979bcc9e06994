"""The standard groupware folders ("Create Outlook folders"): names per language, Kolab folder types and
SPECIAL-USE flags.

Clients find a calendar or the sent folder by its annotation or flag, not by its name, so the names can
follow the user's language. Cyrus stores non-ASCII names in modified UTF-7; mailadmin/imap/ encodes them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from mailadmin import imap
from mailadmin.directory import InvalidName


@dataclass(frozen=True)
class StandardFolder:
    key: str
    folder_type: str  # /shared/vendor/kolab/folder-type
    special_use: str | None  # RFC 6154 flag, for the mail folders every client knows


# The fixed creation order: the groupware folders first, then the special mail folders.
STANDARD: tuple[StandardFolder, ...] = (
    StandardFolder("calendar", "event", None),
    StandardFolder("contacts", "contact", None),
    StandardFolder("tasks", "task", None),
    StandardFolder("notes", "note", None),
    StandardFolder("journal", "journal", None),
    StandardFolder("drafts", "mail.drafts", "\\Drafts"),
    StandardFolder("sent", "mail.sentitems", "\\Sent"),
    StandardFolder("trash", "mail.wastebasket", "\\Trash"),
    StandardFolder("junk", "mail.junkemail", "\\Junk"),
)

# Names as Outlook and Kolab clients create them in each language.
NAMES: dict[str, dict[str, str]] = {
    "en": {
        "calendar": "Calendar",
        "contacts": "Contacts",
        "tasks": "Tasks",
        "notes": "Notes",
        "journal": "Journal",
        "drafts": "Drafts",
        "sent": "Sent Items",
        "trash": "Deleted Items",
        "junk": "Junk",
    },
    "de": {
        "calendar": "Kalender",
        "contacts": "Kontakte",
        "tasks": "Aufgaben",
        "notes": "Notizen",
        "journal": "Journal",
        "drafts": "Entwürfe",
        "sent": "Gesendete Objekte",
        "trash": "Gelöschte Objekte",
        "junk": "Junk-E-Mail",
    },
    "fr": {
        "calendar": "Calendrier",
        "contacts": "Contacts",
        "tasks": "Tâches",
        "notes": "Notes",
        "journal": "Journal",
        "drafts": "Brouillons",
        "sent": "Éléments envoyés",
        "trash": "Éléments supprimés",
        "junk": "Courrier indésirable",
    },
}

LANGUAGES: tuple[tuple[str, object], ...] = (
    ("en", _("English")),
    ("de", _("German")),
    ("fr", _("French")),
)


@dataclass(frozen=True)
class PlannedFolder:
    name: str
    folder_type: str
    special_use: str | None


def check_language(language: str) -> str:
    if language not in NAMES:
        raise InvalidName("Choose one of the offered languages for the folders.", "folder_language")
    return language


def standard_folders(language: str) -> list[PlannedFolder]:
    """The folders to create for `language`, in creation order."""
    names = NAMES[check_language(language)]
    return [PlannedFolder(names[f.key], f.folder_type, f.special_use) for f in STANDARD]


def create_standard_folders(
    admin: imap.CyrusAdmin, uid: str, language: str, *, created: Callable[[str], None]
) -> None:
    """Create each folder with its flag, then annotate it. `created(name)` is called after each CREATE so
    the caller's undo knows exactly which folders exist if a later one fails."""
    for folder in standard_folders(language):
        admin.create_folder(uid, folder.name, special_use=folder.special_use)
        created(folder.name)
        admin.set_folder_type(uid, folder.name, folder.folder_type)


def ensure_standard_folders(admin: imap.CyrusAdmin, uid: str, language: str) -> None:
    """The standard folders exist with their types, whichever of them a crashed run had made already (the
    drift check finishing a user_create; Cyrus keeps the SPECIAL-USE flag given at creation)."""
    existing = set(admin.folders(uid))
    for folder in standard_folders(language):
        if folder.name not in existing:
            admin.create_folder(uid, folder.name, special_use=folder.special_use)
        admin.set_folder_type(uid, folder.name, folder.folder_type)
