"""The user page (ACC-08) and its actions, proven with the daemons: a disabled user cannot log in over IMAP
and Postfix refuses mail to them with 550; enabled again, both work. Quota through Cyrus's GETQUOTAROOT."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

import pytest
from django.test import Client

from accounts.services.users import user_create
from mailadmin import imap
from mailadmin.actor import Actor
from mailadmin.directory import dit
from tests import ldaptool
from tests.accounts import usertool
from tests.conftest import Persona, Personas

pytestmark = pytest.mark.django_db
Login = Callable[[Persona], Client]
PASSWORD = "Detail-pass-12"


def url(name: str, dn: str) -> str:
    return f"/accounts/users/{name}?" + urlencode({"dn": dn})


@pytest.fixture
def user(domain: str, unique: Callable[[str], str]) -> tuple[str, str, str]:
    uid = unique("dora")
    dn = user_create(
        actor=Actor.system("tests"),
        container_dn=dit.organization_dn(domain, domain),
        uid=uid,
        password=PASSWORD,
        last_name="Detail",
        first_name="Dora",
        quota_kib=4096,
        groupware_folders=True,
        person={"title": "Engineer", "department": "R&D"},
    )
    return uid, dn, f"{uid}@{domain}"


def test_the_page_shows_attributes_status_quota_and_folders(
    personas: Personas, login: Login, user: tuple[str, str, str]
) -> None:
    uid, dn, address = user
    page = login(personas.admin).get(url("", dn)).content.decode()
    for text in (
        "Dora Detail",
        address,
        "Engineer",
        "R&amp;D",
        "enabled",
        f"user/{uid}",
        "0 KiB of 4096 KiB",
    ):
        assert text in page, text
    for text in ("Sent Items", "mail.sentitems", "Calendar", "event", "View Mail Folders"):
        assert text in page, text
    for action in ("user_edit", "user_quota", "user_delete", "password-reset"):
        assert action.replace("user_", "users/") in page or action in page, action


def test_role_badges(personas: Personas, login: Login) -> None:
    client = login(personas.admin)
    assert (
        "Domain administrator of a.test" in client.get(url("", personas.domain_admin_a.dn)).content.decode()
    )
    assert "Group administrator" in client.get(url("", personas.group_admin.dn)).content.decode()
    assert "Administrator" in client.get(url("", personas.admin.dn)).content.decode()


def test_disable_stops_imap_and_mail_enable_brings_them_back(
    personas: Personas, login: Login, user: tuple[str, str, str]
) -> None:
    uid, dn, address = user
    assert imap.login_check(uid, PASSWORD) and usertool.rcpt(address) == 250
    client = login(personas.admin)
    assert client.get(url("disable/", dn)).status_code == 405
    response = client.post(url("disable/", dn))
    assert response.status_code == 302
    assert ldaptool.attribute(dn, "mailEnabled") == ["FALSE"]
    assert not imap.login_check(uid, PASSWORD)
    assert usertool.rcpt(address) == 550
    page = client.get(response["Location"]).content.decode()
    assert "is disabled" in page and ">disabled<" in page
    # htmx answers with the status block only.
    partial = client.post(url("enable/", dn), HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in partial and 'id="user-status"' in partial and "enabled again" in partial
    assert imap.login_check(uid, PASSWORD) and usertool.rcpt(address) == 250


def test_set_quota_in_mib_reaches_cyrus(personas: Personas, login: Login, user: tuple[str, str, str]) -> None:
    uid, dn, _address = user
    client = login(personas.admin)
    page = client.get(url("quota/", dn)).content.decode()
    assert 'value="4"' in page and "0 KiB of 4096 KiB" in page
    assert client.post(url("quota/", dn), {"quota_mib": "7"}).status_code == 302
    assert usertool.quota_root(uid, PASSWORD) == (0, 7 * 1024)
    assert ldaptool.attribute(dn, "mailQuota") == ["7168"]
    for bad in ("-1", "x", "1e3", "*)(uid=*"):
        response = client.post(url("quota/", dn), {"quota_mib": bad})
        assert response.status_code == 200 and 'role="alert"' in response.content.decode()
    assert client.post(url("quota/", dn), {"quota_mib": ""}).status_code == 302
    assert usertool.quota_root(uid, PASSWORD) is None and ldaptool.attribute(dn, "mailQuota") == []


def test_web_access_toggle(personas: Personas, login: Login, user: tuple[str, str, str]) -> None:
    _uid, dn, _address = user
    client = login(personas.admin)
    assert client.post(url("web-access/", dn), {"allowed": "1"}).status_code == 302
    assert ldaptool.attribute(dn, "mailWebAccess") == ["TRUE"]
    assert client.post(url("web-access/", dn), {"allowed": "0"}).status_code == 302
    assert ldaptool.attribute(dn, "mailWebAccess") == ["FALSE"]


def test_edit_person_fields_address_and_flags(
    personas: Personas, login: Login, user: tuple[str, str, str], domain: str
) -> None:
    _uid, dn, _address = user
    client = login(personas.admin)
    page = client.get(url("edit/", dn)).content.decode()
    assert 'value="Engineer"' in page and '<label for="id_mail">' in page
    data = {
        "last_name": "Renamed",
        "first_name": "Dora",
        "mail": f"dora.renamed@{domain}",
        "title": "",
        "city": "Hamburg",
        "department": "R&D",
        "receive_local_only": "on",
        # the rest of the manual's LDIF person list
        "home_phone": "+49 40 123456",
        "pager": "555-0199",
        "post_office_box": "PO 17",
        "room": "3.14",
        "office": "Harbour",
        "employee_number": "E-1001",
        "employee_type": "contractor",
        "business_category": "Shipping",
        "web_page": "https://example.org/dora",
        "preferred_language": "de",
    }
    response = client.post(url("edit/", dn), data)
    assert response.status_code == 302
    assert ldaptool.attribute(dn, "sn") == ["Renamed"] and ldaptool.attribute(dn, "cn") == ["Dora Renamed"]
    assert ldaptool.attribute(dn, "mail") == [f"dora.renamed@{domain}"]
    assert ldaptool.attribute(dn, "title") == [] and ldaptool.attribute(dn, "l") == ["Hamburg"]
    assert ldaptool.attribute(dn, "mailReceiveLocalOnly") == ["TRUE"]
    assert ldaptool.attribute(dn, "departmentNumber") == ["R&D"]  # posted unchanged, kept
    for attr, value in (
        ("homePhone", "+49 40 123456"),
        ("pager", "555-0199"),
        ("postOfficeBox", "PO 17"),
        ("roomNumber", "3.14"),
        ("physicalDeliveryOfficeName", "Harbour"),
        ("employeeNumber", "E-1001"),
        ("employeeType", "contractor"),
        ("businessCategory", "Shipping"),
        ("labeledURI", "https://example.org/dora"),
        ("preferredLanguage", "de"),
    ):
        assert ldaptool.attribute(dn, attr) == [value], attr

    before = ldaptool.dump(dit.base_dn())
    for field, value in (
        ("mail", "x,ou=admins"),
        ("mail", "other@b.test"),
        ("mail", personas.user.uid + "@a.test"),
        ("last_name", "cr\r\nlf"),
        ("last_name", ""),
        ("phone", "*)(uid=*"),
        ("fax", "nul\x00"),
        ("street", "s" * 300),
        ("pager", "a+uid=root"),
        ("employee_number", "cr\r\nlf"),
        ("web_page", "w" * 300),
    ):
        response = client.post(url("edit/", dn), {**data, field: value})
        assert response.status_code == 200 and 'role="alert"' in response.content.decode(), (field, value)
    assert ldaptool.dump(dit.base_dn()) == before
