"""mailadmin.imap against the stack's Cyrus: mailboxes, ACLs, quotas, folders, logins, and refused names.

(Kept beside the directory tests because users are made of both; move to tests/imap/ when it grows.)
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from django.conf import settings

from mailadmin import imap
from mailadmin.directory import InvalidName


@pytest.fixture
def uid(stack: object) -> str:
    return f"mb{uuid.uuid4().hex[:10]}"


def test_mailbox_lifecycle(uid: str) -> None:
    assert not imap.mailbox_exists(uid)
    imap.mailbox_create(uid, quota_kib=2048)
    assert imap.mailbox_exists(uid)
    assert imap.quota_get(uid) == imap.Quota(usage_kib=0, limit_kib=2048)
    assert imap.folders(uid) == ["INBOX"]
    with imap.admin_session() as admin:
        acl = dict(admin.client.getacl(admin.mailbox(uid)))
        assert set(imap.ADMIN_RIGHTS) <= set(acl[settings.CYRUS_ADMIN.encode()].decode())
        admin.client.create_folder(admin.mailbox(uid) + "/Sent")
        admin.client.create_folder(admin.mailbox(uid) + "/Archive")
        admin.client.create_folder(admin.mailbox(uid) + "/Archive/2024")
    assert imap.folders(uid) == ["INBOX", "Archive", "Archive/2024", "Sent"]
    imap.quota_set(uid, 4096)
    assert imap.quota_get(uid) == imap.Quota(0, 4096)
    imap.quota_set(uid, None)
    assert imap.quota_get(uid) is None
    with pytest.raises(imap.MailboxExists, match="already exists"):
        imap.mailbox_create(uid)
    imap.mailbox_delete(uid)
    assert not imap.mailbox_exists(uid)
    with pytest.raises(imap.MailboxNotFound):
        imap.mailbox_delete(uid)


def test_admin_can_append_to_a_new_mailbox(uid: str) -> None:
    imap.mailbox_create(uid)
    try:
        with imap.admin_session() as admin:
            admin.client.append(admin.mailbox(uid), b"Subject: hello\r\n\r\nbody\r\n")
            admin.client.select_folder(admin.mailbox(uid))
            assert len(admin.client.search("ALL")) == 1
    finally:
        imap.mailbox_delete(uid)


HOSTILE = ["a\r\nb", 'x" "y', "user/other", "../x", "*", "%", "a b", "", "A", "a" * 65, "x\x00"]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_mailbox_names_never_reach_cyrus(name: str, stack: object) -> None:
    for call in (imap.mailbox_create, imap.mailbox_delete, imap.mailbox_exists, imap.quota_get, imap.folders):
        with pytest.raises(InvalidName):
            call(name)
    with pytest.raises(InvalidName):
        imap.quota_set(name, 1)


@pytest.mark.parametrize("who", ["a\r\nb", "x y", "anyone\r\n. LOGOUT", "", "Admin"])
def test_hostile_acl_identifiers_and_rights_are_refused(who: str, uid: str) -> None:
    imap.mailbox_create(uid)
    try:
        with imap.admin_session() as admin:
            with pytest.raises(InvalidName):
                admin.setacl(uid, who, "lr")
            with pytest.raises(InvalidName):
                admin.setacl(uid, "anyone", "lr\r\nx")
            admin.setacl(uid, "anyone", "lr")
            assert dict(admin.client.getacl(admin.mailbox(uid)))[b"anyone"] == b"lr"
    finally:
        imap.mailbox_delete(uid)


def test_quota_values_are_checked(uid: str) -> None:
    for bad in (-1, 1.5, True, "10"):
        with pytest.raises(InvalidName, match="quota"):
            imap.quota_set(uid, bad)  # type: ignore[arg-type]


def test_login_check(stack: object, unique: Callable[[str], str]) -> None:
    assert imap.login_check(settings.CYRUS_ADMIN, settings.CYRUS_ADMIN_PASSWORD)
    assert not imap.login_check(settings.CYRUS_ADMIN, "wrong")
    assert not imap.login_check(unique("nobody"), "whatever")
    # refused before anything is sent: these could not be put on the wire safely
    assert not imap.login_check("a\r\nb", "x")
    assert not imap.login_check(settings.CYRUS_ADMIN, "pw\r\nA1 LOGOUT")
    assert not imap.login_check(settings.CYRUS_ADMIN, "")


def test_unreachable_server_is_a_temporary_error(stack: object) -> None:
    from django.test import override_settings

    with override_settings(IMAP_PORT=1), pytest.raises(imap.ImapUnavailable) as info:
        imap.mailbox_exists("someone")
    assert info.value.permanent is False
