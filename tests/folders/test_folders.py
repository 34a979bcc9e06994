"""Mail Folders (FLD-01 … FLD-05, SCX-01), proven by what Cyrus does for users logged in over IMAP with their
own passwords: LIST, SELECT, GETMETADATA, and the ACLs Cyrus holds."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

import pytest
from django.test import Client

from accounts.services.users import user_create
from tests.folders.conftest import (
    ACTOR,
    PASSWORD,
    Company,
    acl_of,
    all_public,
    can_select,
    cyrus,
    folder_name,
    imap_as,
    listed,
)

pytestmark = pytest.mark.django_db
FOLDER_TYPE = b"/shared/vendor/kolab/folder-type"


def create(
    client: Client, name: str, *, parent: str = "", domain: str = "", folder_type: str = "mail"
) -> None:
    response = client.post(
        "/folders/create/", {"parent": parent, "domain": domain, "name": name, "folder_type": folder_type}
    )
    assert response.status_code == 302, response.content.decode().split("<main")[-1][:3000]


def set_rights(client: Client, folder: str, *, who: str = "", group: str = "", preset: str = "read") -> None:
    response = client.post(
        "/folders/permissions/", {"folder": folder, "who": who, "group": group, "preset": preset, "set": "1"}
    )
    assert response.status_code == 302, response.content.decode().split("<main")[-1][:3000]


def remove_rights(client: Client, folder: str, who: str, **extra: str) -> None:
    response = client.post("/folders/permissions/", {"folder": folder, "remove": who, **extra})
    assert response.status_code == 302


def type_as_user(uid: str, folder: str) -> str | None:
    with imap_as(uid) as client:
        data = client._raw_command_untagged(  # noqa: SLF001
            b"GETMETADATA",
            [b'"' + folder.encode() + b'"', b"(" + FOLDER_TYPE + b")"],
            uid=False,
            response_name="METADATA",
        )
    text = b" ".join(d for d in data if isinstance(d, bytes))
    return text.split(FOLDER_TYPE, 1)[1].strip(b' ")(').decode() if FOLDER_TYPE in text else None


def test_a_created_folder_is_listed_for_a_plain_user_with_its_type(
    admin_client: Client, company: Callable[[], Company], account: Callable[..., str]
) -> None:
    name = folder_name("Cal")
    create(admin_client, name, folder_type="calendar")
    user = account(company().org_dn)
    assert name in listed(user)
    assert type_as_user(user, name) == "event"
    assert acl_of(name)["anyone"] == "lrs"
    assert can_select(user, name)
    page = admin_client.get("/folders/")
    assert name in page.content.decode()


def test_a_domains_folders_are_seen_by_its_users_only(
    admin_client: Client, company: Callable[[], Company], account: Callable[..., str]
) -> None:
    own, other = company(), company()
    name = folder_name("Team")
    create(admin_client, name, domain=own.domain, folder_type="contacts")
    insider, outsider = account(own.org_dn), account(other.org_dn)
    global_name = folder_name("All")
    create(admin_client, global_name)

    seen_inside, seen_outside = listed(insider), listed(outsider)
    assert f"{own.domain}/{name}" in seen_inside
    assert global_name in seen_inside and global_name in seen_outside
    assert not any(f.startswith(own.domain) for f in seen_outside)
    assert not can_select(outsider, f"{own.domain}/{name}")
    assert "anyone" not in acl_of(own.domain)
    assert "anyone" not in acl_of(f"{own.domain}/{name}")
    assert type_as_user(insider, f"{own.domain}/{name}") == "contact"


def test_a_right_removed_in_the_console_makes_select_fail(
    admin_client: Client, company: Callable[[], Company], account: Callable[..., str]
) -> None:
    name = folder_name("Priv")
    create(admin_client, name)
    user = account(company().org_dn)
    set_rights(admin_client, name, who=user, preset="read")
    remove_rights(admin_client, name, "anyone")
    assert can_select(user, name)
    remove_rights(admin_client, name, user)
    assert not can_select(user, name)
    assert name not in listed(user)


def test_a_group_right_works_for_a_member_added_afterwards(
    admin_client: Client,
    company: Callable[[], Company],
    account: Callable[..., str],
    group: Callable[[str], str],
) -> None:
    firm = company()
    team = group(firm.org_dn)
    name = folder_name("Grp")
    create(admin_client, name)
    remove_rights(admin_client, name, "anyone")
    set_rights(admin_client, name, group=team, preset="append")
    assert any(who.startswith("group:") and rights == "lrsip" for who, rights in acl_of(name).items())

    outsider = account(firm.org_dn)  # same domain, not in the group
    member = account(team)  # joins the group after the right was given: no ACL is written for it
    assert can_select(member, name)
    assert not can_select(outsider, name)
    with imap_as(member) as client:
        client.append(name, b"From: a@b.test\r\nSubject: hi\r\n\r\nbody\r\n")  # insert is part of "append"


def test_rename_and_delete_say_what_goes(admin_client: Client) -> None:
    name = folder_name("Old")
    create(admin_client, name)
    create(admin_client, "Sub", parent=name)
    with cyrus() as client:
        client.setacl(f"{name}/Sub", "cyrus", "lrswipkxtea")
        client.append(f"{name}/Sub", b"Subject: one\r\n\r\nx\r\n")
        client.append(f"{name}/Sub", b"Subject: two\r\n\r\nx\r\n")
    new = folder_name("New")
    response = admin_client.post("/folders/rename/", {"folder": name, "name": new})
    assert response.status_code == 302
    assert {new, f"{new}/Sub"} <= all_public() and name not in all_public()

    page = admin_client.get("/folders/delete/?" + urlencode({"folder": new}))
    assert page.status_code == 200
    assert "2 folder(s) and 2 messages" in page.content.decode()
    response = admin_client.post("/folders/delete/", {"folder": new})
    assert response.status_code == 302, response.content.decode().split("<main")[-1][:2000]
    assert not {new, f"{new}/Sub"} & all_public()


def test_a_users_folders_from_the_user_page(admin_client: Client, personas: object, login: Callable) -> None:
    user = personas.user  # type: ignore[attr-defined]
    detail = admin_client.get("/accounts/users/?" + urlencode({"dn": user.dn}))
    assert "/folders/user/?dn=" in detail.content.decode()
    with imap_as(user.uid, user.password) as client:
        client.append("INBOX", b"Subject: count me\r\n\r\nhello\r\n")
    page = admin_client.get("/folders/user/?" + urlencode({"dn": user.dn}))
    assert page.status_code == 200
    text = page.content.decode()
    assert "INBOX" in text and "quota" in text.lower()
    perms = admin_client.get("/folders/permissions/?" + urlencode({"user": user.dn, "folder": "INBOX"}))
    assert perms.status_code == 200
    assert "lookup" in perms.content.decode()
    assert user.uid in perms.content.decode()


def test_the_admin_sets_rights_on_a_users_folder(
    admin_client: Client, company: Callable[[], Company], account: Callable[..., str]
) -> None:
    firm = company()
    owner, reader = account(firm.org_dn), account(firm.org_dn)
    from mailadmin.directory import dit

    owner_dn = dit.account_dn(firm.org_dn, owner)
    assert not can_select(reader, f"user/{owner}")
    response = admin_client.post(
        "/folders/permissions/",
        {"user": owner_dn, "folder": "INBOX", "who": reader, "preset": "read", "set": "1"},
    )
    assert response.status_code == 302
    assert can_select(reader, f"user/{owner}")


def test_new_user_created_afterwards_via_service_is_a_member(
    admin_client: Client, company: Callable[[], Company], group: Callable[[str], str]
) -> None:
    """The same as above through the account service with its defaults (the path the console takes)."""
    firm = company()
    team = group(firm.org_dn)
    name = folder_name("Late")
    create(admin_client, name)
    remove_rights(admin_client, name, "anyone")
    set_rights(admin_client, name, group=team, preset="read")
    uid = "late" + name[-6:].lower()
    user_create(actor=ACTOR, container_dn=team, uid=uid, password=PASSWORD, last_name="Late")
    assert name in listed(uid)


def test_the_tree_pages_a_big_level(admin_client: Client) -> None:
    parent = folder_name("Big")
    create(admin_client, parent)
    with cyrus() as client:
        for i in range(55):
            client.create_folder(f"{parent}/C_{i:02d}")
    first = admin_client.get("/folders/?" + urlencode({"parent": parent})).content.decode()
    second = admin_client.get("/folders/?" + urlencode({"parent": parent, "page": 2})).content.decode()
    assert "C_00" in first and "C_49" in first and "C_50" not in first
    assert "C_50" in second and "C_54" in second and "C_49" not in second
    assert "Page 1 of 2 (55 folders)" in first
