"""External contacts (ACC-11): made by administrators, found by the users' address books (a real bind and
search as a user), refused for hosted addresses and hostile input, and out of reach of delegated roles."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.test import Client

from accounts import services
from accounts.services.contacts import contact_create, contact_delete, contact_update
from mailadmin.actor import Actor
from mailadmin.directory import InvalidName, dit
from tests import ldaptool
from tests.conftest import Persona, Personas

pytestmark = pytest.mark.django_db
Login = Callable[[Persona], Client]
SYSTEM = Actor.system("tests")
CREATE = "/accounts/contacts/create/"
DETAIL = "/accounts/contacts/"
DELETE = "/accounts/contacts/delete/"


def q(path: str, **query: str) -> str:
    return f"{path}?{urlencode(query)}"


def tree() -> str:
    return ldaptool.dump(dit.domains_dn())


def address_book(user_dn: str, password: str, base: str, mail: str) -> list[str]:
    """What an address book sees: bind as the user and search (the ldapsearch CLI, not our gateway)."""
    result = subprocess.run(
        [
            "ldapsearch",
            "-LLL",
            "-o",
            "ldif-wrap=no",
            "-x",
            "-H",
            settings.LDAP_URI,
            "-D",
            user_dn,
            "-w",
            password,
            "-b",
            base,
            f"(&(objectClass=mailContact)(mail={mail}))",
            "cn",
            "mail",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return [line.split(": ", 1)[1] for line in result.stdout.splitlines() if line.startswith("cn: ")]


def test_create_contact_page_and_a_user_finds_it(
    personas: Personas, login: Login, domain: str, unique: Callable[[str], str]
) -> None:
    org = dit.organization_dn(domain, domain)
    client = login(personas.admin)
    page = client.get(q(CREATE, parent=org)).content.decode()
    for label in ("Last name", "First name", "E-mail address", "Company", "Phone"):
        assert f">{label}" in page
    assert '<label for="id_last_name">Last name <abbr title="required" class="req">*</abbr></label>' in page
    data = {
        "last_name": "Extern",
        "first_name": "Carl",
        "mail": "Carl@Partner.example",
        "company": "Partner",
        "phone": "+1 555 0100",
    }
    response = client.post(q(CREATE, parent=org), data, follow=True)
    assert "Contact Carl Extern created." in response.content.decode()
    dn = f"cn=Carl Extern,{org}"
    assert sorted(ldaptool.attribute(dn, "objectClass")) == ["inetOrgPerson", "mailContact"]
    assert ldaptool.attribute(dn, "mail") == ["carl@partner.example"]
    assert ldaptool.attribute(dn, "o") == ["Partner"]
    # The same name again in the same place gets a number, not an error.
    client.post(q(CREATE, parent=org), {**data, "mail": "carl2@partner.example"})
    assert ldaptool.attribute(f"cn=Carl Extern (2),{org}", "mail") == ["carl2@partner.example"]

    uid, password = unique("reader"), "Reader-pass-12"
    user = services.user_create(
        actor=SYSTEM, container_dn=org, uid=uid, password=password, last_name="Reader", create_mailbox=False
    )
    assert address_book(user, password, dit.domain_dn(domain), "carl@partner.example") == ["Carl Extern"]


@pytest.mark.parametrize(
    ("field", "bad"),
    [
        ("mail", "someone@a.test"),  # a hosted domain
        ("mail", f"x@{'mailbox.internal'}"),
        ("mail", "*)(uid=*"),
        ("mail", "x,ou=admins@example.org"),
        ("mail", "a\r\nb@example.org"),
        ("mail", "x" * 300 + "@example.org"),
        ("last_name", "x,ou=admins"),
        ("last_name", "a+uid=root"),
        ("last_name", "#lead"),
        ("last_name", "x\x00y"),
        ("last_name", "a\r\nb"),
        ("last_name", "n" * 300),
        ("last_name", '"><img src=x onerror=alert(1)>'),
        ("last_name", "   "),
        ("first_name", "*)(uid=*"),
        ("phone", "555; DROP"),
        ("company", "c" * 300),
    ],
)
def test_contact_form_refuses_bad_input(
    personas: Personas, login: Login, domain: str, field: str, bad: str
) -> None:
    client = login(personas.admin)
    org = dit.organization_dn(domain, domain)
    before = tree()
    data = {"last_name": "Ok", "mail": "ok@example.org", field: bad}
    response = client.post(q(CREATE, parent=org), data)
    body = response.content.decode()
    assert response.status_code == 200 and 'class="error"' in body, (field, bad)
    assert "<img src=x" not in body
    assert tree() == before


def test_service_refuses_the_domain_of_this_server(domain: str) -> None:
    org = dit.organization_dn(domain, domain)
    with pytest.raises(InvalidName, match="is a domain of this server"):
        contact_create(actor=SYSTEM, container_dn=org, last_name="In", mail=f"in@{domain}")


def test_change_renames_and_delete_removes(personas: Personas, login: Login, domain: str) -> None:
    org = dit.organization_dn(domain, domain)
    dn = contact_create(
        actor=SYSTEM, container_dn=org, last_name="Old", first_name="Olga", mail="o@ext.example"
    )
    client = login(personas.admin)
    page = client.get(q(DETAIL, dn=dn)).content.decode()
    assert 'value="o@ext.example"' in page and "Move" in page and "Delete" in page
    response = client.post(
        q(DETAIL, dn=dn), {"last_name": "New", "first_name": "Olga", "mail": "n@ext.example", "title": "Boss"}
    )
    new_dn = f"cn=Olga New,{org}"
    assert response.status_code == 302 and response["Location"] == q(DETAIL, dn=new_dn)
    assert ldaptool.dump(dn) == "\n"
    assert ldaptool.attribute(new_dn, "sn") == ["New"] and ldaptool.attribute(new_dn, "title") == ["Boss"]
    assert (
        contact_update(actor=SYSTEM, dn=new_dn, last_name="New", first_name="Olga", mail="n@ext.example")
        == new_dn
    )
    assert ldaptool.attribute(new_dn, "title") == []  # not given: removed
    response = client.post(q(DELETE, dn=new_dn), follow=True)
    assert "Contact Olga New deleted." in response.content.decode()
    assert ldaptool.dump(new_dn) == "\n"


def test_delegated_roles_look_but_do_not_touch(
    personas: Personas, login: Login, unique: Callable[[str], str]
) -> None:
    org_a = dit.organization_dn("a.test", "a.test")
    dn = contact_create(
        actor=SYSTEM, container_dn=personas.group_dn, last_name=unique("c"), mail="c@elsewhere.example"
    )
    before = tree()
    dana = login(personas.domain_admin_a)
    page = dana.get(q(DETAIL, dn=dn)).content.decode()
    assert "c@elsewhere.example" in page and "<form" not in page.split("<main", 1)[1].split("</main>")[0]
    for persona in (personas.domain_admin_a, personas.domain_admin_b, personas.group_admin, personas.user):
        client = login(persona)
        assert client.get(q(CREATE, parent=org_a)).status_code == 404, persona.uid
        assert (
            client.post(q(CREATE, parent=org_a), {"last_name": "X", "mail": "x@example.org"}).status_code
            == 404
        )
        assert client.post(q(DETAIL, dn=dn), {"last_name": "Y", "mail": "y@example.org"}).status_code == 404
        assert client.get(q(DELETE, dn=dn)).status_code == 404
        assert client.post(q(DELETE, dn=dn)).status_code == 404
    for persona in (personas.domain_admin_b, personas.user):
        assert login(persona).get(q(DETAIL, dn=dn)).status_code == 404
    assert tree() == before
    contact_delete(actor=SYSTEM, dn=dn)  # the personas' group is shared by the whole session


def test_stored_contact_values_are_shown_escaped(personas: Personas, login: Login, domain: str) -> None:
    org = dit.organization_dn(domain, domain)
    hostile = '"><img src=x onerror=alert(1)>'
    dn = contact_create(
        actor=SYSTEM,
        container_dn=org,
        last_name="Esc",
        mail="e@ext.example",
        company=hostile,
        description=hostile,
    )
    for persona in (personas.admin,):
        page = login(persona).get(q(DETAIL, dn=dn)).content.decode()
        assert "<img src=x" not in page and "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in page
