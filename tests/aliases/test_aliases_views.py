"""ALI-01 … ALI-04 through the console: create, edit, list, find, delete (from the list and by name), and who
may do it. Refusals are a 404 with the directory byte-identical before and after (tests/ldaptool dumps)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from django.test import Client

from aliases.selectors import get_alias
from aliases.services import alias_create
from mailadmin.actor import Actor
from mailadmin.audit.models import AuditEntry
from mailadmin.directory import dit
from tests import ldaptool
from tests.aliases.conftest import AliasOwner, make_user
from tests.conftest import Persona, Personas

pytestmark = pytest.mark.django_db
Login = Callable[[Persona], Client]
ACTOR = Actor.system("tests")
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
    "a@b@c",
    '"x y"@d.test',
    "@d.test",
    "*@d.test",
]


def _name() -> str:
    return f"al{uuid.uuid4().hex[:8]}"


def _alias_in(domain: str, **kwargs: object) -> str:
    return alias_create(actor=ACTOR, domain=domain, name=_name(), **kwargs)  # type: ignore[arg-type]


def _state(*domains: str) -> str:
    return "".join(ldaptool.dump(dit.domain_dn(d)) for d in domains)


# --- create / edit ---


def test_admin_creates_an_alias_with_members_owners_and_flags(
    personas: Personas, login: Login, domain: str, unique: Callable[[str], str]
) -> None:
    member = make_user(domain, unique("mem"))
    owner = make_user(domain, unique("own"))
    name = _name()
    response = login(personas.admin).post(
        "/aliases/create/",
        {
            "domain": domain,
            "name": name,
            "members": f"{member.uid}@{domain}\npartner@remote.example",
            "owners": owner.uid,
            "restricted": "on",
            "description": "Team",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    dn = f"cn={name},{dit.aliases_dn(domain)}"
    assert ldaptool.attribute(dn, "mail") == [f"{name}@{domain}"]
    assert sorted(ldaptool.attribute(dn, "rfc822MailMember")) == sorted(
        [f"{member.uid}@{domain}", "partner@remote.example"]
    )
    assert ldaptool.attribute(dn, "mailAliasOwner") == [owner.dn]
    assert ldaptool.attribute(dn, "mailAliasRestricted") == ["TRUE"]
    assert AuditEntry.objects.filter(action="alias_create", target=dn, ok=True).exists()


def test_domain_admin_creates_in_own_domain_and_gets_404_for_another(
    personas: Personas, login: Login
) -> None:
    client = login(personas.domain_admin_a)
    name = _name()
    response = client.post("/aliases/create/", {"domain": personas.domain_a, "name": name})
    assert response.status_code == 302
    assert (
        get_alias(f"cn={name},{dit.aliases_dn(personas.domain_a)}").address == f"{name}@{personas.domain_a}"
    )
    before = _state(personas.domain_b)
    response = client.post("/aliases/create/", {"domain": personas.domain_b, "name": _name()})
    assert response.status_code == 404
    assert _state(personas.domain_b) == before


def test_group_admin_and_user_cannot_create(personas: Personas, login: Login) -> None:
    for persona in (personas.group_admin, personas.user):
        before = _state(personas.domain_a)
        response = login(persona).post("/aliases/create/", {"domain": personas.domain_a, "name": _name()})
        assert response.status_code == 404, persona.uid
        assert _state(personas.domain_a) == before


def test_hostile_input_is_refused_and_nothing_is_written(
    personas: Personas, login: Login, domain: str
) -> None:
    client = login(personas.admin)
    target = _alias_in(domain)
    before = _state(domain)
    for value in HOSTILE:
        for field in ("name", "members", "owners"):
            data = {"domain": domain, "name": _name(), field: value}
            response = client.post("/aliases/create/", data)
            assert response.status_code == 200, (field, value)
            assert b'class="error"' in response.content, (field, value)
            assert b"<img src=x" not in response.content
        response = client.post(f"/aliases/alias/?dn={target}", {"members": value})
        assert response.status_code == 200, value
        assert b'class="error"' in response.content, value
        assert b"<img src=x" not in response.content
    for value in ("x\x00y", "x\r\ny", "y" * 300):
        response = client.post("/aliases/create/", {"domain": domain, "name": _name(), "description": value})
        assert response.status_code == 200, value
    assert _state(domain) == before


def test_markup_in_a_description_is_stored_as_text_and_shown_escaped(
    personas: Personas, login: Login, domain: str
) -> None:
    markup = '"><img src=x onerror=alert(1)>'
    dn = _alias_in(domain, description=markup)
    page = login(personas.admin).get("/aliases/alias/", {"dn": dn})
    assert page.status_code == 200
    assert b"<img src=x" not in page.content
    assert b"&quot;&gt;&lt;img src=x" in page.content


def test_hostile_alias_names_change_nothing(personas: Personas, login: Login, domain: str) -> None:
    client = login(personas.admin)
    before = _state(domain)
    for value in HOSTILE:
        response = client.post("/aliases/create/", {"domain": domain, "name": value})
        assert response.status_code == 200, value
        assert b'class="error"' in response.content
    for value in ("a@b@c", '"x y"@d.test', "@d.test", "*@d.test", "x\r\n@d.test"):
        response = client.post("/aliases/create/", {"domain": domain, "name": _name(), "members": value})
        assert response.status_code == 200, value
        assert b"Each member must be one address" in response.content
    assert _state(domain) == before


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ("nobody-here@{domain}", b"no user, contact or alias has that address"),
        ("{self}", b"cannot be a member of itself"),
        ("x@mailbox.internal", b"internal delivery domain"),
    ],
)
def test_members_that_do_not_exist_locally_are_refused(
    personas: Personas, login: Login, domain: str, members: str, message: bytes
) -> None:
    name = _name()
    before = _state(domain)
    data = {"domain": domain, "name": name, "members": members.format(domain=domain, self=f"{name}@{domain}")}
    response = login(personas.admin).post("/aliases/create/", data)
    assert response.status_code == 200
    assert message in response.content
    assert _state(domain) == before


def test_loops_are_refused_when_saved(personas: Personas, login: Login, domain: str) -> None:
    a = _alias_in(domain)
    a_mail = get_alias(a).address
    b = _alias_in(domain, members=[a_mail])
    c = _alias_in(domain, members=[get_alias(b).address])
    before = _state(domain)
    # A -> C -> B -> A
    response = login(personas.admin).post(f"/aliases/alias/?dn={a}", {"members": get_alias(c).address})
    assert response.status_code == 200
    assert b"this would make a loop" in response.content
    assert _state(domain) == before


def test_alias_address_must_be_unused(
    personas: Personas, login: Login, domain: str, unique: Callable[[str], str]
) -> None:
    user = make_user(domain, unique("taken"))
    existing = get_alias(_alias_in(domain))
    before = _state(domain)
    client = login(personas.admin)
    for name in (user.uid, existing.name):
        response = client.post("/aliases/create/", {"domain": domain, "name": name})
        assert response.status_code == 200
        assert b"already used" in response.content, name
    assert _state(domain) == before


def test_open_and_restricted_together_are_refused(personas: Personas, login: Login, domain: str) -> None:
    before = _state(domain)
    data = {"domain": domain, "name": _name(), "open_membership": "on", "restricted": "on"}
    response = login(personas.admin).post("/aliases/create/", data)
    assert response.status_code == 200
    assert b"not both" in response.content
    assert _state(domain) == before


# --- owners ---


def test_owner_edits_own_alias_members_but_not_its_owners(
    alias_owner: AliasOwner, login: Login, unique: Callable[[str], str]
) -> None:
    other = make_user(alias_owner.domain, unique("new"))
    client = login(alias_owner.persona)
    page = client.get(f"/aliases/alias/?dn={alias_owner.alias_dn}")
    assert page.status_code == 200
    assert b'name="owners"' not in page.content
    assert b"/aliases/alias/delete/" not in page.content
    response = client.post(
        f"/aliases/alias/?dn={alias_owner.alias_dn}",
        {"members": f"{other.uid}@{alias_owner.domain}", "owners": "", "open_membership": "on"},
    )
    assert response.status_code == 302
    alias = get_alias(alias_owner.alias_dn)
    assert alias.members == (f"{other.uid}@{alias_owner.domain}",)
    assert alias.open_membership
    assert alias.owners == (alias_owner.persona.dn,)  # the posted empty owners field was ignored
    listing = client.get("/aliases/?scope=owned")
    assert alias_owner.alias_address.encode() in listing.content


def test_owner_gets_404_for_other_aliases_and_for_delete(alias_owner: AliasOwner, login: Login) -> None:
    other = _alias_in(alias_owner.domain)
    client = login(alias_owner.persona)
    before = _state(alias_owner.domain)
    assert client.get(f"/aliases/alias/?dn={other}").status_code == 404
    assert client.post(f"/aliases/alias/?dn={other}", {"members": ""}).status_code == 404
    assert client.post(f"/aliases/alias/delete/?dn={alias_owner.alias_dn}").status_code == 404
    assert client.post("/aliases/delete-selected/", {"dn": [alias_owner.alias_dn]}).status_code == 404
    assert client.post("/aliases/delete/", {"address": alias_owner.alias_address}).status_code == 404
    assert client.get(f"/aliases/?scope={alias_owner.domain}").status_code == 404
    assert _state(alias_owner.domain) == before


# --- refusals of foreign aliases ---


def test_personas_get_404_for_an_alias_of_another_domain(personas: Personas, login: Login) -> None:
    dn = _alias_in(personas.domain_a)
    address = get_alias(dn).address
    for persona in (personas.domain_admin_b, personas.group_admin, personas.user):
        client = login(persona)
        before = _state(personas.domain_a)
        assert client.get(f"/aliases/alias/?dn={dn}").status_code == 404, persona.uid
        assert client.post(f"/aliases/alias/?dn={dn}", {"members": ""}).status_code == 404
        assert client.get(f"/aliases/alias/delete/?dn={dn}").status_code == 404
        assert client.post(f"/aliases/alias/delete/?dn={dn}").status_code == 404
        assert client.post("/aliases/delete-selected/", {"dn": [dn]}).status_code == 404
        response = client.post("/aliases/delete/", {"address": address})
        assert response.status_code in (200, 404)
        assert client.get(f"/aliases/?scope={personas.domain_a}").status_code == 404
        assert _state(personas.domain_a) == before, persona.uid


def test_bad_dns_are_404(personas: Personas, login: Login) -> None:
    client = login(personas.admin)
    for dn in ("", "x", "uid=dana-a,o=a.test,dc=a.test,ou=domains,dc=mailadmin", "cn=*)(x", "a" * 2000):
        assert client.get("/aliases/alias/", {"dn": dn}).status_code == 404, dn


# --- list, find, delete ---


def test_view_aliases_lists_the_domain_and_deletes_the_ticked_ones(
    personas: Personas, login: Login, domain: str
) -> None:
    keep, drop1, drop2 = (_alias_in(domain) for _ in range(3))
    client = login(personas.admin)
    page = client.get("/aliases/", {"scope": domain})
    assert page.status_code == 200
    for dn in (keep, drop1, drop2):
        assert get_alias(dn).address.encode() in page.content
    assert b"3 aliases." in page.content
    response = client.post(
        "/aliases/delete-selected/", {"dn": [drop1, drop2], "next": f"/aliases/?scope={domain}"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/aliases/?scope={domain}"
    assert ldaptool.dump(drop1, scope="base") == "\n"
    assert ldaptool.dump(drop2, scope="base") == "\n"
    assert get_alias(keep)
    assert (
        client.post("/aliases/delete-selected/", {"dn": keep, "next": "https://evil.example/"})["Location"]
        == "/aliases/"
    )


def test_domain_admin_lists_only_own_domain(personas: Personas, login: Login) -> None:
    mine, theirs = _alias_in(personas.domain_a), _alias_in(personas.domain_b)
    page = login(personas.domain_admin_a).get("/aliases/", {"scope": personas.domain_a, "text": ""})
    assert page.status_code == 200
    assert get_alias(mine).address.encode() in page.content
    assert get_alias(theirs).address.encode() not in page.content
    default = login(personas.domain_admin_a).get("/aliases/")
    assert get_alias(theirs).address.encode() not in default.content


def test_find_by_name_member_owner_and_flags(
    personas: Personas, login: Login, domain: str, unique: Callable[[str], str]
) -> None:
    member = make_user(domain, unique("mem"))
    owner = make_user(domain, unique("own"))
    plain = _alias_in(domain)
    with_member = _alias_in(domain, members=[f"{member.uid}@{domain}"], restricted=True)
    owned = _alias_in(domain, owners=[owner.uid], open_membership=True)
    client = login(personas.admin)

    def found(**criteria: str) -> set[str]:
        page = client.get("/aliases/find/", {"scope": domain, **criteria})
        assert page.status_code == 200
        return {dn for dn in (plain, with_member, owned) if get_alias(dn).address.encode() in page.content}

    assert found() == {plain, with_member, owned}  # Show all
    assert found(text=get_alias(plain).name[:6]) >= {plain}
    assert found(text=get_alias(plain).name) == {plain}
    assert found(member=f"{member.uid}@{domain}") == {with_member}
    assert found(owner=owner.uid) == {owned}
    assert found(flag="restricted") == {with_member}
    assert found(flag="open") == {owned}
    assert found(flag="closed") == {plain}
    for value in HOSTILE:
        page = client.get("/aliases/find/", {"scope": domain, "text": value})
        assert page.status_code == 200
        assert b"<img src=x" not in page.content


def test_delete_by_name(personas: Personas, login: Login) -> None:
    dn = _alias_in(personas.domain_a)
    address = get_alias(dn).address
    other = get_alias(_alias_in(personas.domain_b)).address
    client = login(personas.domain_admin_a)
    before = _state(personas.domain_b)
    response = client.post("/aliases/delete/", {"address": other})
    assert response.status_code == 200
    assert b"There is no alias of that address in your domains" in response.content
    assert _state(personas.domain_b) == before
    response = client.post("/aliases/delete/", {"address": address})
    assert response.status_code == 302
    assert ldaptool.dump(dn, scope="base") == "\n"
    assert AuditEntry.objects.filter(action="alias_delete", target=dn).exists()


def test_htmx_gets_the_results_fragment_and_odd_parameters_are_handled(
    personas: Personas, login: Login, domain: str
) -> None:
    dn = _alias_in(domain)
    client = login(personas.admin)
    fragment = client.get("/aliases/find/", {"scope": domain}, HTTP_HX_REQUEST="true")
    assert fragment.status_code == 200
    assert fragment.content.lstrip().startswith(b'<div id="results">')
    assert get_alias(dn).address.encode() in fragment.content
    assert client.get("/aliases/", {"scope": domain, "page": "99999"}).status_code == 200
    for scope in ("*)(objectClass=*", "x,ou=admins", "owned\r\n", "a" * 300):
        assert client.get("/aliases/", {"scope": scope}).status_code == 404, scope
    for bad in ({"flag": "evil"}, {"sort": "userPassword"}, {"owner": "*"}, {"member": "*@x.test"}):
        page = client.get("/aliases/find/", {"scope": domain, **bad})
        assert page.status_code == 200, bad
        assert b'class="error"' in page.content, bad
