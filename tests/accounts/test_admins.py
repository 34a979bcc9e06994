"""Administrators (ACC-12), domain administrators (ACC-13), group administrators (ACC-14) and the rank rule.

Every refusal is proved twice: the answer (404, or a clear message inside one's own area) and the directory
itself (an `ldapsearch` dump of the role holders, byte-identical before and after).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from urllib.parse import urlencode

import pytest
from django.test import Client

from accounts.services import roles
from accounts.services.containers import group_create
from accounts.services.users import user_create, user_delete
from mailadmin import directory
from mailadmin.actor import Actor
from mailadmin.directory import dit
from tests import ldaptool
from tests.conftest import Persona, Personas

pytestmark = pytest.mark.django_db

Login = Callable[[Persona], Client]
SYSTEM = Actor.system("tests")
PASSWORD = "Admin-test-pass-1"
HOSTILE = [
    "*)(uid=*",
    "x,ou=admins",
    "a+uid=root",
    "#x",
    "x ",
    "x\x00y",
    "x\r\ny",
    "y" * 300,
    '"><img src=x onerror=alert(1)>',
]


def role_state(*domains: str) -> str:
    """Every place a role lives: cn=administrators and the domain entries (with their groups)."""
    return ldaptool.dump(dit.roles_dn()) + "".join(ldaptool.dump(dit.domain_dn(d)) for d in domains)


def make_account(container: str, uid: str, last_name: str = "Test") -> Persona:
    dn = user_create(
        actor=SYSTEM,
        container_dn=container,
        uid=uid,
        password=PASSWORD,
        last_name=last_name,
        create_mailbox=False,
    )
    return Persona(uid, uid, dn, PASSWORD)


@pytest.fixture
def manager(stack: object, personas: Personas) -> Persona:
    """The manager account `admin` (made by `manage.py ensure_admin` in production), password known."""
    dn = roles.manager_dn()
    if directory.get_entry(dn, ["uid"]) is None:
        make_account(dit.admins_dn(), roles.MANAGER_UID, "Administrator")
    from accounts.services.users import user_set_password

    user_set_password(actor=SYSTEM, dn=dn, password=PASSWORD, must_change=False)
    if not directory.roles_for(dn).administrator:
        roles.administrator_add(actor=SYSTEM, account_dn=dn)
    return Persona("admin", "admin", dn, PASSWORD)


@pytest.fixture
def extra_admin(stack: object, personas: Personas, unique: Callable[[str], str]) -> Iterator[Persona]:
    """A fresh console-only administrator, removed again afterwards."""
    person = make_account(dit.admins_dn(), unique("adm"))
    roles.administrator_add(actor=SYSTEM, account_dn=person.dn)
    yield person
    if directory.roles_for(person.dn).administrator:
        roles.administrator_remove(actor=SYSTEM, account_dn=person.dn)
    directory.delete(person.dn)


def post(client: Client, url: str, data: dict[str, str]) -> int:
    return client.post(url, data).status_code


# --- administrators ----------------------------------------------------------------------------------------


def test_administrators_page_is_404_for_every_delegated_role_and_nothing_changes(
    personas: Personas, login: Login
) -> None:
    before = role_state("a.test", "b.test")
    for persona in (personas.domain_admin_a, personas.group_admin, personas.user):
        client = login(persona)
        assert client.get("/accounts/administrators/").status_code == 404
        assert post(client, "/accounts/administrators/add/", {"add-login": persona.uid}) == 404
        new = {"new-uid": "sneaky", "new-password": PASSWORD, "new-last_name": "Sneaky"}
        assert post(client, "/accounts/administrators/create/", new) == 404
        assert post(client, "/accounts/administrators/remove/", {"account": personas.admin.dn}) == 404
    assert role_state("a.test", "b.test") == before
    assert directory.get_entry(dit.account_dn(dit.admins_dn(), "sneaky")) is None


def test_admin_lists_adds_and_creates_administrators(
    personas: Personas, login: Login, domain: str, unique: Callable[[str], str]
) -> None:
    client = login(personas.admin)
    page = client.get("/accounts/administrators/").content.decode()
    assert personas.admin.uid in page and 'for="id_add-login"' in page and 'for="id_new-password"' in page
    # An existing account, picked by login name.
    user = make_account(dit.organization_dn(domain, domain), unique("boss"))
    response = client.post("/accounts/administrators/add/", {"add-login": user.uid}, follow=True)
    assert "is now an administrator" in response.content.decode()
    assert user.dn in ldaptool.attribute(dit.administrators_group_dn(), "member")
    # A console-only one, created with the role; it can log in (LDAP bind) and is an administrator.
    uid = unique("root")
    data = {"new-uid": uid, "new-password": PASSWORD, "new-last_name": "Root", "new-first_name": "Rita"}
    response = client.post("/accounts/administrators/create/", data, follow=True)
    assert f"Administrator {uid} created" in response.content.decode()
    dn = dit.account_dn(dit.admins_dn(), uid)
    assert ldaptool.bind_ok(dn, PASSWORD) and directory.roles_for(dn).administrator
    assert ldaptool.attribute(dn, "mail") == []  # console-only: no address, no mailbox
    for account in (user.dn, dn):
        roles.administrator_remove(actor=SYSTEM, account_dn=account)
    directory.delete(dn)


def test_bad_input_in_the_administrator_forms_is_refused_and_nothing_is_written(
    personas: Personas, login: Login
) -> None:
    client = login(personas.admin)
    before = ldaptool.dump(dit.admins_dn()) + ldaptool.dump(dit.roles_dn())
    for value in HOSTILE:
        response = client.post("/accounts/administrators/add/", {"add-login": value})
        assert response.status_code == 200, value
        assert 'class="error"' in response.content.decode()
        data = {"new-uid": value, "new-password": PASSWORD, "new-last_name": "X"}
        response = client.post("/accounts/administrators/create/", data)
        assert response.status_code == 200 and 'class="error"' in response.content.decode(), value
        assert "<img src=x" not in response.content.decode()
    for value in ("x\x00y", "x\r\ny", "y" * 300):
        data = {"new-uid": "hostile-last", "new-password": PASSWORD, "new-last_name": value}
        response = client.post("/accounts/administrators/create/", data)
        assert response.status_code == 200 and 'class="error"' in response.content.decode()
    assert ldaptool.dump(dit.admins_dn()) + ldaptool.dump(dit.roles_dn()) == before


def test_stored_names_are_shown_escaped(
    personas: Personas, login: Login, unique: Callable[[str], str]
) -> None:
    uid = unique("xss")
    client = login(personas.admin)
    data = {"new-uid": uid, "new-password": PASSWORD, "new-last_name": '"><img src=x onerror=alert(1)>'}
    page = client.post("/accounts/administrators/create/", data, follow=True).content.decode()
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    dn = dit.account_dn(dit.admins_dn(), uid)
    roles.administrator_remove(actor=SYSTEM, account_dn=dn)
    directory.delete(dn)


def test_only_the_manager_removes_other_administrators(
    personas: Personas, login: Login, manager: Persona, extra_admin: Persona
) -> None:
    # alladmin is an administrator but not the manager: same rank, so no removing.
    client = login(personas.admin)
    before = role_state()
    response = client.post("/accounts/administrators/remove/", {"account": extra_admin.dn}, follow=True)
    assert "Only the manager account admin removes other administrators" in response.content.decode()
    assert role_state() == before
    page = client.get("/accounts/administrators/").content.decode()
    assert "Remove role" not in page.split(extra_admin.uid, 1)[1].split("</tr>", 1)[0]
    # The manager may; and the manager's own role stays whoever asks.
    boss = login(manager)
    response = boss.post("/accounts/administrators/remove/", {"account": extra_admin.dn}, follow=True)
    assert "role was removed" in response.content.decode()
    assert not directory.roles_for(extra_admin.dn).administrator
    before = role_state()
    for client_ in (boss, client):
        data = {"account": manager.dn, "confirm": "yes"}
        client_.post("/accounts/administrators/remove/", data)
    assert role_state() == before and directory.roles_for(manager.dn).administrator


def test_removing_oneself_needs_a_confirmation(login: Login, extra_admin: Persona) -> None:
    client = login(extra_admin)
    response = client.post("/accounts/administrators/remove/", {"account": extra_admin.dn})
    assert response.status_code == 200 and "Remove your own administrator role?" in response.content.decode()
    assert directory.roles_for(extra_admin.dn).administrator
    response = client.post("/accounts/administrators/remove/", {"account": extra_admin.dn, "confirm": "yes"})
    assert response.status_code == 302
    assert not directory.roles_for(extra_admin.dn).administrator
    assert client.get("/accounts/administrators/").status_code == 404  # roles re-read at once


def test_the_last_administrator_stays(
    personas: Personas, extra_admin: Persona, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The personas' administrators must stay, so "only one is left" is staged by narrowing what the
    # service reads as the current administrators; the refusal comes before anything is sent to slapd.
    before = role_state()
    with monkeypatch.context() as patch, pytest.raises(roles.RoleRefused, match="last administrator"):
        patch.setattr(directory, "administrators", lambda: [extra_admin.dn])
        roles.administrator_remove(actor=SYSTEM, account_dn=extra_admin.dn)
    assert role_state() == before


# --- domain administrators ---------------------------------------------------------------------------------


def domain_admins_url(name: str) -> str:
    return "/accounts/domain-admins/?" + urlencode({"domain": name})


def test_domain_admin_sees_and_manages_only_own_domains(
    personas: Personas, login: Login, unique: Callable[[str], str]
) -> None:
    client = login(personas.domain_admin_a)
    overview = client.get("/accounts/domain-admins/").content.decode()
    assert "a.test" in overview and "b.test" not in overview
    page = client.get(domain_admins_url("a.test")).content.decode()
    assert personas.domain_admin_a.uid in page and 'for="id_login"' in page
    assert client.get(domain_admins_url("b.test")).status_code == 404
    assert client.get(domain_admins_url("no-such.test")).status_code == 404
    # Appoint a new account of a.test, then remove it again (ACC-13).
    peer = make_account(dit.organization_dn("a.test", "a.test"), unique("peer"))
    try:
        response = client.post(
            "/accounts/domain-admins/add/", {"domain": "a.test", "login": peer.uid}, follow=True
        )
        assert "is now a domain administrator of a.test" in response.content.decode()
        assert directory.roles_for(peer.dn).domains == {dit.domain_dn("a.test")}
        data = {"domain": "a.test", "account": peer.dn}
        response = client.post("/accounts/domain-admins/remove/", data, follow=True)
        assert "role was removed" in response.content.decode()
        assert directory.roles_for(peer.dn).rank == 0
    finally:
        user_delete(actor=SYSTEM, dn=peer.dn)


def test_domain_admin_cannot_reach_accounts_or_domains_outside(personas: Personas, login: Login) -> None:
    client = login(personas.domain_admin_a)
    before = role_state("a.test", "b.test")
    # Accounts outside a.test are not found there (dana-b of b.test, the administrator in ou=admins).
    for uid in (personas.domain_admin_b.uid, personas.admin.uid):
        response = client.post("/accounts/domain-admins/add/", {"domain": "a.test", "login": uid})
        assert (
            response.status_code == 200
            and "There is no account with this login name" in response.content.decode()
        )
    # Another domain: 404 for adding and for removing, even its real domain administrator.
    assert post(client, "/accounts/domain-admins/add/", {"domain": "b.test", "login": "dana-a"}) == 404
    data = {"domain": "b.test", "account": personas.domain_admin_b.dn}
    assert post(client, "/accounts/domain-admins/remove/", data) == 404
    assert client.get(domain_admins_url("b.test")).status_code == 404
    assert role_state("a.test", "b.test") == before


def test_domain_admin_never_removes_an_administrators_role_and_confirms_own(
    domain: str, login: Login, unique: Callable[[str], str]
) -> None:
    boss = make_account(dit.admins_dn(), unique("adm"))
    roles.administrator_add(actor=SYSTEM, account_dn=boss.dn)
    dana = make_account(dit.organization_dn(domain, domain), unique("dana"))
    for account in (boss.dn, dana.dn):
        roles.domain_admin_add(actor=SYSTEM, domain=domain, account_dn=account)
    try:
        client = login(dana)
        before = role_state(domain)
        response = client.post(
            "/accounts/domain-admins/remove/",
            {"domain": domain, "account": boss.dn, "confirm": "yes"},
            follow=True,
        )
        assert "outranks you" in response.content.decode()
        assert role_state(domain) == before
        page = client.get(domain_admins_url(domain)).content.decode()
        assert page.count("Remove role") == 1  # only her own row
        response = client.post("/accounts/domain-admins/remove/", {"domain": domain, "account": dana.dn})
        assert "Remove your own domain administrator role?" in response.content.decode()
        assert role_state(domain) == before
        data = {"domain": domain, "account": dana.dn, "confirm": "yes"}
        assert client.post("/accounts/domain-admins/remove/", data).status_code == 302
        assert directory.roles_for(dana.dn).rank == 0
        assert client.get(domain_admins_url(domain)).status_code == 404
    finally:
        roles.administrator_remove(actor=SYSTEM, account_dn=boss.dn)
        directory.delete(boss.dn)


def test_a_domain_admin_cannot_raise_themselves_through_any_field(personas: Personas, login: Login) -> None:
    """The Mailu #2685 class: every form and parameter a domain administrator can reach, tampered."""
    dana = personas.domain_admin_a
    client = login(dana)
    org = dit.organization_dn("a.test", "a.test")
    before = role_state("a.test", "b.test")
    roles_before = directory.roles_for(dana.dn)
    attempts_404 = [
        ("/accounts/administrators/add/", {"add-login": dana.uid}),
        (
            "/accounts/administrators/create/",
            {"new-uid": "dana2", "new-password": PASSWORD, "new-last_name": "D"},
        ),
        ("/accounts/administrators/remove/", {"account": personas.admin.dn, "confirm": "yes"}),
        ("/accounts/domain-admins/add/", {"domain": "b.test", "login": dana.uid}),
        ("/accounts/domain-admins/add/", {"domain": "a.test,ou=roles", "login": dana.uid}),
        ("/accounts/domain-admins/add/", {"domain": "*", "login": dana.uid}),
        ("/accounts/domain-admins/add/", {"domain": "", "login": dana.uid}),
        ("/accounts/domain-admins/remove/", {"domain": "a.test", "account": dit.administrators_group_dn()}),
        ("/accounts/domain-admins/remove/", {"domain": "a.test", "account": personas.admin.dn}),
        ("/accounts/group-admins/add/", {"group": dit.administrators_group_dn(), "login": dana.uid}),
        ("/accounts/group-admins/add/", {"group": dit.roles_dn(), "login": dana.uid}),
        ("/accounts/group-admins/add/", {"group": dit.domain_dn("a.test"), "login": dana.uid}),
        ("/accounts/group-admins/add/", {"group": org, "login": dana.uid}),
        ("/accounts/group-admins/add/", {"group": dit.domain_dn("b.test"), "login": dana.uid}),
        ("/accounts/group-admins/add/", {"group": "not a dn,,", "login": dana.uid}),
    ]
    for url, data in attempts_404:
        assert post(client, url, data) == 404, (url, data)
    # Inside her own area the refusals are messages: she holds a.test already, and is not inside `sales`.
    response = client.post("/accounts/domain-admins/add/", {"domain": "a.test", "login": dana.uid})
    assert "You may not give this account" in response.content.decode()
    response = client.post("/accounts/group-admins/add/", {"group": personas.group_dn, "login": dana.uid})
    assert "There is no account with this login name in this group" in response.content.decode()
    assert role_state("a.test", "b.test") == before
    assert directory.roles_for(dana.dn) == roles_before
    # And the services refuse on their own, whoever calls them.
    actor = Actor(dana.uid, dana.dn, roles_before)
    with pytest.raises(roles.RoleRefused):
        roles.administrator_add(actor=actor, account_dn=dana.dn)
    with pytest.raises(roles.RoleRefused):
        roles.domain_admin_add(actor=actor, domain="b.test", account_dn=dana.dn)
    assert role_state("a.test", "b.test") == before


def test_group_admin_and_user_cannot_manage_roles(personas: Personas, login: Login) -> None:
    before = role_state("a.test", "b.test")
    for persona in (personas.group_admin, personas.user):
        client = login(persona)
        assert client.get(domain_admins_url("a.test")).status_code == 404
        assert post(client, "/accounts/domain-admins/add/", {"domain": "a.test", "login": persona.uid}) == 404
        assert (
            client.get("/accounts/group-admins/?" + urlencode({"group": personas.group_dn})).status_code
            == 404
        )
        data = {"group": personas.group_dn, "login": personas.user.uid}
        assert post(client, "/accounts/group-admins/add/", data) == 404
        data = {"group": personas.group_dn, "account": personas.group_admin.dn}
        assert post(client, "/accounts/group-admins/remove/", data) == 404
    assert role_state("a.test", "b.test") == before


# --- group administrators ----------------------------------------------------------------------------------


def test_domain_admin_appoints_group_admins_inside_the_group_only(
    personas: Personas, login: Login, unique: Callable[[str], str]
) -> None:
    org = dit.organization_dn("a.test", "a.test")
    group = group_create(actor=SYSTEM, parent_dn=org, name=f"team-{uuid.uuid4().hex[:6]}")
    member = make_account(group, unique("mem"))
    peer = make_account(group, unique("peer"))  # a domain administrator who lives in the group
    roles.domain_admin_add(actor=SYSTEM, domain="a.test", account_dn=peer.dn)
    try:
        client = login(personas.domain_admin_a)
        url = "/accounts/group-admins/?" + urlencode({"group": group})
        assert client.get(url).status_code == 200
        overview = client.get("/accounts/group-admins/?" + urlencode({"find": group.split(",")[0][3:]}))
        assert group.split(",")[0][3:] in overview.content.decode()
        response = client.post(
            "/accounts/group-admins/add/", {"group": group, "login": member.uid}, follow=True
        )
        assert "is now a group administrator" in response.content.decode()
        assert directory.roles_for(member.dn).groups == {group}
        # An equal rank is not hers to change; an administrator may.
        before = role_state("a.test")
        response = client.post("/accounts/group-admins/add/", {"group": group, "login": peer.uid})
        assert "You may not give this account the group administrator role" in response.content.decode()
        assert role_state("a.test") == before
        # dana-b: the group is not in her domain.
        other = login(personas.domain_admin_b)
        assert other.get(url).status_code == 404
        assert post(other, "/accounts/group-admins/remove/", {"group": group, "account": member.dn}) == 404
        assert role_state("a.test") == before
        response = client.post(
            "/accounts/group-admins/remove/", {"group": group, "account": member.dn}, follow=True
        )
        assert "role was removed" in response.content.decode()
        assert directory.roles_for(member.dn).rank == 0
    finally:
        roles.domain_admin_remove(actor=SYSTEM, domain="a.test", account_dn=peer.dn)
        for person in (member, peer):
            user_delete(actor=SYSTEM, dn=person.dn)
        directory.delete(group)


def test_admin_overviews_page_on_the_server(personas: Personas, login: Login, domain: str) -> None:
    client = login(personas.admin)
    page = client.get("/accounts/domain-admins/?" + urlencode({"find": domain[:8]})).content.decode()
    assert domain in page
    assert client.get("/accounts/domain-admins/?page=999999").status_code == 200
    assert client.get("/accounts/group-admins/?page=2").status_code == 200


def test_a_page_number_past_the_end_shows_the_last_page(personas: Personas, login: Login) -> None:
    """The domain and group lists of the delegated-administrator pages, like the account browser."""
    client = login(personas.admin)
    for url in ("/accounts/domain-admins/?page=50", "/accounts/group-admins/?page=50"):
        page = client.get(url)
        assert page.status_code == 200
        assert "a.test" in page.content.decode(), url
