"""Groupware folders ("Create Outlook folders"): names per language, Kolab folder types and SPECIAL-USE
flags, made by the Cyrus admin and seen by the user; folder names pass an allow-list before any IMAP."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from accounts.services import folders
from mailadmin import imap
from mailadmin.directory import InvalidName
from tests.accounts import usertool

pytestmark = pytest.mark.django_db


def test_every_language_names_every_standard_folder_once() -> None:
    keys = {f.key for f in folders.STANDARD}
    for language, names in folders.NAMES.items():
        assert set(names) == keys, language
        assert len(set(names.values())) == len(keys), language
        for name in names.values():
            assert imap.check_folder_name(name) == name
    assert [f.name for f in folders.standard_folders("de")][:3] == ["Kalender", "Kontakte", "Aufgaben"]
    assert {f.special_use for f in folders.standard_folders("en")} == {
        None,
        "\\Drafts",
        "\\Sent",
        "\\Trash",
        "\\Junk",
    }
    with pytest.raises(InvalidName):
        folders.standard_folders("xx")


@pytest.mark.parametrize(
    "name",
    [
        "",
        "a/b",
        "x*",
        "50%",
        'say "hi"',
        "back\\slash",
        " lead",
        "trail ",
        "cr\r\nlf",
        "nul\x00",
        "f" * 300,
        "INBOX",
    ],
)
def test_folder_names_outside_the_allow_list_are_refused(name: str) -> None:
    with pytest.raises(InvalidName):
        imap.check_folder_name(name)


def test_french_folders_round_trip_through_modified_utf7(stack: object, unique: Callable[[str], str]) -> None:
    uid = unique("fr")
    imap.mailbox_create(uid)
    try:
        made: list[str] = []
        with imap.admin_session() as admin:
            folders.create_standard_folders(admin, uid, "fr", created=made.append)
        assert made == [f.name for f in folders.standard_folders("fr")]
        types = imap.folder_types(uid)
        assert types["Éléments envoyés"] == "mail.sentitems" and types["Tâches"] == "task"
        assert types["INBOX"] is None
        with imap.admin_session() as admin:
            with pytest.raises(imap.MailboxExists):
                admin.create_folder(uid, "Tâches")
            with pytest.raises(InvalidName):
                admin.set_folder_type(uid, "Tâches", "spaceship")
            with pytest.raises(InvalidName):
                admin.create_folder(uid, "Other", special_use="\\Important")
    finally:
        imap.mailbox_delete(uid)


def test_the_user_sees_the_flags_and_types(domain: str, unique: Callable[[str], str]) -> None:
    from accounts.services.users import user_create
    from mailadmin.actor import Actor
    from mailadmin.directory import dit

    uid = unique("see")
    user_create(
        actor=Actor.system("tests"),
        container_dn=dit.organization_dn(domain, domain),
        uid=uid,
        password="Folder-pass-1",
        last_name="See",
        groupware_folders=True,
    )
    listed = usertool.folders(uid, "Folder-pass-1")
    assert "\\Sent" in listed["INBOX/Sent Items"] and "\\Trash" in listed["INBOX/Deleted Items"]
    assert "\\Sent" not in listed["INBOX/Calendar"]
    with usertool.user_imap(uid, "Folder-pass-1") as client:
        assert usertool.folder_type(client, "INBOX/Contacts") == "contact"
        assert usertool.folder_type(client, "INBOX/Junk") == "mail.junkemail"
    summary = imap.mailbox_summary(uid)
    assert (summary.folders, summary.messages, summary.complete) == (10, 0, True)
