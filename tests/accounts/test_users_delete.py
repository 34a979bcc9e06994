"""Delete (ACC-08): the confirmation says what goes; the mailbox goes only with its own tick box, and a kept
mailbox keeps the login name blocked. Checked with the admin's LIST of user/<uid> and a real delivery."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

import pytest
from django.test import Client

from accounts.models import Operation
from accounts.services.users import user_create
from mailadmin import imap
from mailadmin.actor import Actor
from mailadmin.directory import dit
from tests import ldaptool
from tests.accounts import usertool
from tests.conftest import Persona, Personas

pytestmark = pytest.mark.django_db
Login = Callable[[Persona], Client]
PASSWORD = "Delete-pass-12"


def delete_url(dn: str) -> str:
    return "/accounts/users/delete/?" + urlencode({"dn": dn})


def _user(domain: str, uid: str) -> str:
    return user_create(
        actor=Actor.system("tests"),
        container_dn=dit.organization_dn(domain, domain),
        uid=uid,
        password=PASSWORD,
        last_name="Gone",
    )


def test_delete_without_the_tick_keeps_the_mailbox_and_blocks_the_name(
    personas: Personas, login: Login, domain: str, unique: Callable[[str], str]
) -> None:
    uid = unique("keep")
    dn = _user(domain, uid)
    usertool.deliver(f"{uid}@{domain}", "keep me")
    usertool.wait_for_messages(uid, PASSWORD, 1)
    client = login(personas.admin)
    page = client.get(delete_url(dn)).content.decode()
    assert f"The mailbox user/{uid} stays" in page
    assert "Also delete the mailbox and all its mail (1 message," in page
    assert '<label for="id_delete_mailbox"' in page

    response = client.post(delete_url(dn), {})
    assert response.status_code == 302
    assert ldaptool.dump(dn, scope="base") == "\n" and imap.mailbox_exists(uid)
    message = client.get(response["Location"]).content.decode()
    assert f"the login name {uid} stays blocked until the mailbox is removed" in message
    # The kept mailbox blocks the login name: nobody inherits the old mail.
    again = client.post(
        "/accounts/users/create/?" + urlencode({"parent": dit.organization_dn(domain, domain)}),
        {"uid": uid, "password": PASSWORD, "password2": PASSWORD, "last_name": "New", "create_mailbox": "on"},
    )
    assert again.status_code == 200 and "already exists" in again.content.decode()
    imap.mailbox_delete(uid)


def test_delete_with_the_tick_removes_the_mailbox(
    personas: Personas, login: Login, domain: str, unique: Callable[[str], str]
) -> None:
    uid = unique("drop")
    dn = _user(domain, uid)
    client = login(personas.admin)
    assert client.post(delete_url(dn), {"delete_mailbox": "on"}).status_code == 302
    assert ldaptool.dump(dn, scope="base") == "\n"
    assert not imap.mailbox_exists(uid) and not imap.login_check(uid, PASSWORD)
    assert usertool.rcpt(f"{uid}@{domain}") == 550
    op = Operation.objects.filter(kind="user_delete", target=dit.normalize_dn(dn)).get()
    assert op.state == Operation.State.DONE and op.done == ["entry", "mailbox"]


def test_get_changes_nothing(
    personas: Personas, login: Login, domain: str, unique: Callable[[str], str]
) -> None:
    dn = _user(domain, unique("look"))
    before = ldaptool.dump(dit.domain_dn(domain))
    assert login(personas.admin).get(delete_url(dn)).status_code == 200
    assert ldaptool.dump(dit.domain_dn(domain)) == before
