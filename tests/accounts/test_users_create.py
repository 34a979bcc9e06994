"""Create User (ACC-07) through the page, proven by what the daemons do: IMAP login with the password, the
groupware folders in the chosen language with their folder types and special-use flags as the user lists
them, the quota in GETQUOTAROOT, the flags in LDAP; bad input is a message and nothing is written."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

import pytest
from django.test import Client

from accounts.models import Operation
from mailadmin import imap
from mailadmin.directory import dit
from tests import ldaptool
from tests.accounts import usertool
from tests.conftest import Persona, Personas

pytestmark = pytest.mark.django_db
Login = Callable[[Persona], Client]
PASSWORD = "Create-pass-123"


def create_url(parent: str) -> str:
    return "/accounts/users/create/?" + urlencode({"parent": parent})


def form(uid: str, **extra: str) -> dict[str, str]:
    data = {
        "uid": uid,
        "password": PASSWORD,
        "password2": PASSWORD,
        "last_name": "Tester",
        "create_mailbox": "on",
        "folder_language": "en",
    }
    data.update(extra)
    return data


def test_the_page_uses_the_manuals_words_with_real_labels(
    personas: Personas, login: Login, domain: str
) -> None:
    page = login(personas.admin).get(create_url(dit.organization_dn(domain, domain))).content.decode()
    for label in (
        "Create User",
        "Login/User name",
        "Password",
        "Last name",
        "First name",
        "Create mailbox",
        "Set quota",
        "Create Outlook folders",
        "Access WebClient",
        "Send only local mail",
        "Receive only local mail",
    ):
        assert label in page, label
    for name in ("uid", "password", "last_name", "quota_mib", "groupware_folders", "display_name", "phone"):
        assert f'<label for="id_{name}">' in page, name
    assert 'for="id_last_name">Last name <abbr title="required"' in page
    assert 'for="id_first_name">First name</label>' in page
    assert 'name="create_mailbox" id="id_create_mailbox" checked' in page


def test_admin_creates_a_user_with_german_folders_quota_and_flags(
    personas: Personas, login: Login, domain: str, unique: Callable[[str], str]
) -> None:
    org = dit.organization_dn(domain, domain)
    uid = unique("anna")
    data = form(
        uid,
        first_name="Anna",
        initials="AB",
        display_name="Anna Beispiel",
        phone="+49 30 123456",
        city="Berlin",
        quota_mib="20",
        groupware_folders="on",
        folder_language="de",
        web_access="on",
        send_local_only="on",
        receive_local_only="on",
    )
    client = login(personas.admin)
    response = client.post(create_url(org), data)
    dn = dit.account_dn(org, uid)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/users/?")
    assert imap.login_check(uid, PASSWORD)

    listed = usertool.folders(uid, PASSWORD)
    expected = {
        "Kalender": "event",
        "Kontakte": "contact",
        "Aufgaben": "task",
        "Notizen": "note",
        "Journal": "journal",
        "Entwürfe": "mail.drafts",
        "Gesendete Objekte": "mail.sentitems",
        "Gelöschte Objekte": "mail.wastebasket",
        "Junk-E-Mail": "mail.junkemail",
    }
    assert set(listed) == {"INBOX"} | {f"INBOX/{name}" for name in expected}
    assert "\\Sent" in listed["INBOX/Gesendete Objekte"] and "\\Drafts" in listed["INBOX/Entwürfe"]
    assert "\\Trash" in listed["INBOX/Gelöschte Objekte"] and "\\Junk" in listed["INBOX/Junk-E-Mail"]
    with usertool.user_imap(uid, PASSWORD) as mail_client:
        for name, folder_type in expected.items():
            assert usertool.folder_type(mail_client, f"INBOX/{name}") == folder_type, name
    assert usertool.quota_root(uid, PASSWORD) == (0, 20 * 1024)

    for attr, value in (
        ("mailQuota", "20480"),
        ("mailWebAccess", "TRUE"),
        ("mailSendLocalOnly", "TRUE"),
        ("mailReceiveLocalOnly", "TRUE"),
        ("mailEnabled", "TRUE"),
        ("mail", f"{uid}@{domain}"),
        ("displayName", "Anna Beispiel"),
        ("telephoneNumber", "+49 30 123456"),
        ("l", "Berlin"),
        ("initials", "AB"),
        ("cn", "Anna Tester"),
    ):
        assert ldaptool.attribute(dn, attr) == [value], attr
    op = Operation.objects.get(kind="user_create", target=dit.normalize_dn(dn))
    assert op.state == Operation.State.DONE
    assert op.planned == op.done == ["entry", "password", "mailbox", "acl", "quota", "folders"]

    page = client.get(response["Location"]).content.decode()
    assert (
        f"User {uid} has been created." in page and "Gesendete Objekte" in page and "mail.sentitems" in page
    )


def test_english_folders_and_no_mailbox(
    personas: Personas, login: Login, domain: str, unique: Callable[[str], str]
) -> None:
    org = dit.organization_dn(domain, domain)
    client = login(personas.admin)
    uid = unique("eng")
    assert client.post(create_url(org), form(uid, groupware_folders="on")).status_code == 302
    names = set(usertool.folders(uid, PASSWORD))
    assert {"INBOX/Calendar", "INBOX/Sent Items", "INBOX/Deleted Items", "INBOX/Junk"} <= names
    bare = unique("bare")
    data = form(bare)
    del data["create_mailbox"]
    assert client.post(create_url(org), data).status_code == 302
    assert not imap.mailbox_exists(bare)
    op = Operation.objects.get(kind="user_create", target=dit.normalize_dn(dit.account_dn(org, bare)))
    assert op.done == ["entry", "password"]
    data["groupware_folders"] = "on"
    refused = client.post(create_url(org), {**data, "uid": unique("nomb")})
    assert refused.status_code == 200 and "need a mailbox" in refused.content.decode()


def test_primary_address_defaults_to_the_domain_and_must_stay_in_it(
    personas: Personas, login: Login, domain: str, unique: Callable[[str], str]
) -> None:
    org = dit.organization_dn(domain, domain)
    client = login(personas.admin)
    uid = unique("addr")
    before = ldaptool.dump(dit.domain_dn(domain))
    response = client.post(create_url(org), form(uid, mail=f"{uid}@b.test"))
    assert response.status_code == 200 and f"must be in the domain {domain}" in response.content.decode()
    assert ldaptool.dump(dit.domain_dn(domain)) == before
    assert client.post(create_url(org), form(uid, mail=f"First.Last@{domain.upper()}")).status_code == 302
    assert ldaptool.attribute(dit.account_dn(org, uid), "mail") == [f"first.last@{domain}"]


HOSTILE = [
    "*)(uid=*",
    "x,ou=admins",
    "a+uid=root",
    "#lead",
    "trail ",
    "nul\x00byte",
    "cr\r\nlf",
    "y" * 300,
    '"><img src=x onerror=alert(1)>',
]


@pytest.mark.parametrize("field", ["uid", "mail", "phone"])
def test_hostile_input_is_a_message_and_nothing_is_written(
    personas: Personas, login: Login, domain: str, unique: Callable[[str], str], field: str
) -> None:
    org = dit.organization_dn(domain, domain)
    client = login(personas.admin)
    before = ldaptool.dump(dit.base_dn())
    for value in HOSTILE:
        data = {**form(unique("h")), field: value}
        response = client.post(create_url(org), data)
        page = response.content.decode()
        assert response.status_code == 200, (field, value)
        assert 'class="error" role="alert"' in page, (field, value)
        assert "<img src=x" not in page
    assert ldaptool.dump(dit.base_dn()) == before


def test_free_text_keeps_odd_but_harmless_values_and_shows_them_escaped(
    personas: Personas, login: Login, domain: str, unique: Callable[[str], str]
) -> None:
    org = dit.organization_dn(domain, domain)
    client = login(personas.admin)
    before = ldaptool.dump(dit.base_dn())
    for value in ("nul\x00byte", "cr\r\nlf", "y" * 300):
        response = client.post(create_url(org), form(unique("t"), last_name=value))
        assert response.status_code == 200 and 'role="alert"' in response.content.decode()
        response = client.post(create_url(org), form(unique("t"), display_name=value))
        assert response.status_code == 200 and 'role="alert"' in response.content.decode()
    assert ldaptool.dump(dit.base_dn()) == before
    uid = unique("odd")
    odd = '"><img src=x onerror=alert(1)>'
    data = form(uid, last_name="*)(uid=*", first_name="x,ou=admins", display_name=odd, title="#lead")
    response = client.post(create_url(org), data)
    assert response.status_code == 302
    dn = dit.account_dn(org, uid)
    assert ldaptool.attribute(dn, "sn") == ["*)(uid=*"] and ldaptool.attribute(dn, "displayName") == [odd]
    page = client.get(response["Location"]).content.decode()
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


def test_taken_login_name_and_leftover_mailbox_are_refused_before_any_write(
    personas: Personas, login: Login, domain: str, unique: Callable[[str], str]
) -> None:
    org = dit.organization_dn(domain, domain)
    client = login(personas.admin)
    before = ldaptool.dump(dit.base_dn())
    response = client.post(create_url(org), form(personas.user.uid))
    assert "already taken" in response.content.decode()
    uid = unique("left")
    imap.mailbox_create(uid)  # what a deleted account whose mailbox was kept leaves behind
    try:
        response = client.post(create_url(org), form(uid))
        assert response.status_code == 200 and "already exists" in response.content.decode()
        assert ldaptool.dump(dit.base_dn()) == before
        assert not Operation.objects.filter(target=dit.normalize_dn(dit.account_dn(org, uid))).exists()
    finally:
        imap.mailbox_delete(uid)


def test_password_rules_and_mismatch(
    personas: Personas, login: Login, domain: str, unique: Callable[[str], str]
) -> None:
    org = dit.organization_dn(domain, domain)
    client = login(personas.admin)
    page = client.post(create_url(org), form(unique("p"), password2="Other-pass-123")).content.decode()
    assert "The two passwords differ." in page
    page = client.post(
        create_url(org), form(unique("p"), password="short", password2="short")
    ).content.decode()
    assert "at least" in page
    before = ldaptool.dump(dit.base_dn())
    for value in ("nul\x00in-the-password", "cr\r\nin-the-password", "z" * 300):
        response = client.post(create_url(org), form(unique("p"), password=value, password2=value))
        assert response.status_code == 200 and 'role="alert"' in response.content.decode()
    assert ldaptool.dump(dit.base_dn()) == before


def test_group_admin_creates_a_user_in_own_group(
    personas: Personas, login: Login, unique: Callable[[str], str]
) -> None:
    uid = unique("sales")
    response = login(personas.group_admin).post(create_url(personas.group_dn), form(uid))
    assert response.status_code == 302
    assert imap.login_check(uid, PASSWORD)
    from accounts.services.users import user_delete
    from mailadmin.actor import Actor

    user_delete(actor=Actor.system("tests"), dn=dit.account_dn(personas.group_dn, uid), delete_mailbox=True)
