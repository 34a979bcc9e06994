"""The account browser (ACC-01): each role sees its own part of the tree, paged by slapd, with counts."""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterator
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts import services
from accounts.services.containers import group_create
from mailadmin import directory
from mailadmin.actor import Actor
from mailadmin.directory import dit
from tests.conftest import Persona, Personas

pytestmark = pytest.mark.django_db
Login = Callable[[Persona], Client]
SYSTEM = Actor.system("tests")


def browse(dn: str = "", **query: str) -> str:
    params = {"dn": dn, **query} if dn else query
    return "/accounts/browser/" + (f"?{urlencode(params)}" if params else "")


def _people(container: str, n: int, prefix: str) -> None:
    """n users straight into the directory (no password, no mailbox): only the list is under test."""
    for i in range(n):
        uid = f"{prefix}{i:03d}"
        directory.add(
            dit.account_dn(container, uid),
            {
                "objectClass": ["inetOrgPerson", "mailAccount"],
                "uid": uid,
                "cn": f"Person {i:03d}",
                "sn": "Person",
                "mail": f"{uid}@example.org",
                "mailEnabled": True,
            },
        )


@pytest.fixture
def crowded(domain: str, unique: Callable[[str], str]) -> Iterator[str]:
    """A group with 120 users, a resource and a contact, inside a fresh domain's organization."""
    org = dit.organization_dn(domain, domain)
    group = group_create(actor=SYSTEM, parent_dn=org, name="crowd")
    _people(group, 120, unique("p"))
    room = unique("room")
    directory.add(
        dit.account_dn(group, room),
        {
            "objectClass": ["inetOrgPerson", "mailAccount", "mailResource"],
            "uid": room,
            "cn": "Room",
            "sn": "Room",
        },
    )
    directory.add(
        f"cn=Carl Extern,{group}",
        {
            "objectClass": ["inetOrgPerson", "mailContact"],
            "cn": "Carl Extern",
            "sn": "Extern",
            "mail": "carl@example.org",
        },
    )
    yield group


def _rows(page: str, section: str) -> list[str]:
    block = page.split(f'id="browser-{section}"', 1)[1].split("</section>", 1)[0]
    return re.findall(r"<tr>\s*<td>", block)


def test_administrator_starts_at_the_domains(personas: Personas, login: Login, domain: str) -> None:
    page = login(personas.admin).get(browse()).content.decode()
    assert "Domains" in page and "Create Domain" in page
    assert ">a.test<" in page and ">b.test<" in page


def test_domain_admin_sees_only_their_domain(personas: Personas, login: Login) -> None:
    client = login(personas.domain_admin_a)
    page = client.get(browse()).content.decode()
    assert "Domain: a.test" in page
    assert "b.test" not in page and "Create Domain" not in page
    org_b = dit.organization_dn("b.test", "b.test")
    assert client.get(browse(org_b)).status_code == 404
    assert client.get(browse(dit.domain_dn("b.test"))).status_code == 404


def test_group_admin_sees_only_their_group(personas: Personas, login: Login) -> None:
    client = login(personas.group_admin)
    page = client.get(browse()).content.decode()
    assert "Group: sales" in page and personas.user.uid in page
    # The organization above the group is not theirs: no breadcrumb to it, and a 404 when guessed.
    assert "a.test" not in page.split("<h1>")[0].split('class="crumbs"')[-1]
    assert client.get(browse(dit.organization_dn("a.test", "a.test"))).status_code == 404
    assert client.get(browse(dit.domain_dn("a.test"))).status_code == 404


def test_plain_users_do_not_browse(personas: Personas, login: Login) -> None:
    client = login(personas.user)
    assert client.get(browse()).status_code == 404
    assert client.get(browse(personas.group_dn)).status_code == 404


def test_not_a_container_and_not_a_dn_are_404(personas: Personas, login: Login) -> None:
    client = login(personas.admin)
    for dn in (personas.user.dn, dit.admins_dn(), dit.domains_dn(), "*)(uid=*", "x,,=", "a" * 2000):
        assert client.get(browse(dn)).status_code == 404, dn


def test_objects_page_on_the_server_with_counts(personas: Personas, login: Login, crowded: str) -> None:
    client = login(personas.admin)
    first = client.get(browse(crowded)).content.decode()
    assert "Page 1 of 3" in first and len(_rows(first, "objects")) == 50
    # Sorted by name on the server: the contact first, then the people, the room last.
    assert "Carl Extern" in first and "Person 000" in first and "Person 049" not in first
    last = client.get(browse(crowded, page="3")).content.decode()
    assert len(_rows(last, "objects")) == 22  # 120 users + a resource + a contact = 122
    assert "Person 119" in last and ">Room<" in last and "Resource" in last
    beyond = client.get(browse(crowded, page="99")).content.decode()
    assert "Page 3 of 3" in beyond  # a stale page number shows the last page
    by_uid = client.get(browse(crowded, sort="uid")).content.decode()
    assert "Page 1 of 3" in by_uid
    # The organization lists the group with what it holds.
    org = client.get(browse(dit.parent_dn(crowded))).content.decode()
    row = org.split(">crowd</a>", 1)[1].split("</tr>", 1)[0]
    text = " ".join(re.sub(r"<[^>]+>", " ", row).split())
    assert "Users: 120" in text and "Resources: 1" in text and "Contacts: 1" in text and "Groups: 0" in text


def test_htmx_paging_returns_only_the_list(personas: Personas, login: Login, crowded: str) -> None:
    client = login(personas.admin)
    response = client.get(browse(crowded, page="2", part="objects"), HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<section class="card" id="browser-objects">')
    assert "<html" not in body and "Page 2 of 3" in body and len(_rows(body, "objects")) == 50


def test_the_number_of_directory_requests_does_not_grow_with_the_list(
    personas: Personas,
    login: Login,
    crowded: str,
    domain: str,
    unique: Callable[[str], str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A page costs the same number of LDAP requests for 12 or 122 entries, and never a whole-list read."""
    # The package exports a function named `search`, which hides the module of the same name.
    search_module = importlib.import_module("mailadmin.directory.search")
    calls: list[str] = []
    real = search_module.run

    def spy(op: object, **kw: object) -> object:
        calls.append(str(kw.get("what")))
        return real(op, **kw)

    small = group_create(actor=SYSTEM, parent_dn=dit.organization_dn(domain, domain), name="small")
    _people(small, 12, unique("s"))
    client = login(personas.admin)
    monkeypatch.setattr(search_module, "run", spy)
    with CaptureQueriesContext(connection) as few_queries:
        assert client.get(browse(small)).status_code == 200
    few = len(calls)
    calls.clear()
    with CaptureQueriesContext(connection) as many_queries:
        assert client.get(browse(crowded)).status_code == 200
    assert len(calls) == few
    assert "search" in calls  # the VLV windows
    # No database row per listed entry either (the session and the login only).
    assert len(many_queries) == len(few_queries) <= 4


def test_action_buttons_follow_the_role(personas: Personas, login: Login) -> None:
    org_a = dit.organization_dn("a.test", "a.test")
    admin = login(personas.admin)
    page = admin.get(browse(org_a)).content.decode()
    assert "Create Group" in page and "Create Contact" in page
    assert "Create Organization" in admin.get(browse(dit.domain_dn("a.test"))).content.decode()
    dana = login(personas.domain_admin_a)
    page = dana.get(browse(org_a)).content.decode()
    assert "Create Group" in page and "Create Contact" not in page and "Create Organization" not in page
    assert "Create Organization" not in dana.get(browse(dit.domain_dn("a.test"))).content.decode()
    gary = login(personas.group_admin).get(browse(personas.group_dn)).content.decode()
    assert "Create Group" not in gary and "Create Contact" not in gary and "Delete" not in gary


def test_stored_values_are_shown_escaped(personas: Personas, login: Login, domain: str) -> None:
    org = dit.organization_dn(domain, domain)
    hostile = '"><img src=x onerror=alert(1)>'
    group_create(actor=SYSTEM, parent_dn=org, name="xss", description=hostile)
    services.user_create(
        actor=SYSTEM,
        container_dn=org,
        uid=f"x{domain[:9]}",
        password="Xss-pass-123",
        last_name=hostile,
        create_mailbox=False,
    )
    page = login(personas.admin).get(browse(org)).content.decode()
    assert "<img src=x" not in page
    assert page.count("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;") == 2


def test_child_counts_stop_at_the_cap_and_say_so(
    personas: Personas, login: Login, domain: str, unique: Callable[[str], str]
) -> None:
    from accounts.selectors import count_kinds_capped
    from mailadmin.permissions import Kind

    org = dit.organization_dn(domain, domain)
    group = group_create(actor=SYSTEM, parent_dn=org, name="capped")
    _people(group, 3, unique("cap"))
    assert count_kinds_capped(group, Kind.GROUP, (Kind.USER, Kind.GROUP), cap=2) == {
        Kind.USER: (2, True),
        Kind.GROUP: (0, False),  # the group itself is not counted
    }
    assert count_kinds_capped(group, Kind.GROUP, (Kind.USER,), cap=3) == {Kind.USER: (3, False)}
    page = login(personas.admin).get(browse(org)).content.decode()
    assert re.search(r"Users: <strong>3</strong>", page)
