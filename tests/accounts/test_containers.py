"""Domains, organizations and groups (ACC-02, ACC-05, ACC-06): create, edit, delete through the pages, with
what slapd holds afterwards as the proof; every refusal leaves the directory byte-identical."""

from __future__ import annotations

import smtplib
import subprocess
import time
import uuid
from collections.abc import Callable
from email.message import EmailMessage
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.test import Client
from imapclient import IMAPClient

from accounts.selectors import ContainerNotEmpty, container_contents
from accounts.services import containers
from accounts.services.containers import container_delete, domain_create, group_create, organization_create
from mailadmin import directory
from mailadmin.actor import Actor
from mailadmin.audit.models import AuditEntry
from mailadmin.directory import InvalidName, dit
from tests import ldaptool
from tests.conftest import Persona, Personas

pytestmark = pytest.mark.django_db
Login = Callable[[Persona], Client]
SYSTEM = Actor.system("tests")

HOSTILE = [
    "*)(uid=*",
    "x,ou=admins",
    "a+uid=root",
    "#lead",
    "x\x00y",
    "a\r\nb: c",
    "n" * 300,
    '"><img src=x onerror=alert(1)>',
]


def url(name: str, **query: str) -> str:
    paths = {
        "domain_create": "/accounts/domains/create/",
        "organization_create": "/accounts/organizations/create/",
        "group_create": "/accounts/groups/create/",
        "edit": "/accounts/containers/edit/",
        "delete": "/accounts/containers/delete/",
    }
    return paths[name] + (f"?{urlencode(query)}" if query else "")


def tree() -> str:
    return ldaptool.dump(dit.domains_dn())


def messages_of(response: object) -> list[str]:
    return [str(m) for m in response.context["messages"]]  # type: ignore[attr-defined]


# --- Create Domain -----------------------------------------------------------------------------------------


def test_create_domain_page_makes_domain_organization_and_aliases(
    personas: Personas, login: Login, unique: Callable[[str], str]
) -> None:
    name = f"{unique('new')}.test"
    client = login(personas.admin)
    page = client.get(url("domain_create")).content.decode()
    assert '<label for="id_name">Domain name <abbr title="required" class="req">*</abbr></label>' in page
    assert '<label for="id_private">Make private from rest of directory</label>' in page
    response = client.post(
        url("domain_create"), {"name": name.upper(), "description": "Our shop", "private": "on"}, follow=True
    )
    assert response.redirect_chain[-1][0].startswith("/accounts/browser/?dn=")
    assert f"Domain {name} created with its organization." in messages_of(response)
    dn = dit.domain_dn(name)
    assert ldaptool.attribute(dn, "description") == ["Our shop"]
    assert ldaptool.attribute(dn, "mailPrivate") == ["TRUE"]
    assert ldaptool.attribute(dit.organization_dn(name, name), "o") == [name]
    assert ldaptool.attribute(dit.aliases_dn(name), "ou") == ["aliases"]
    row = AuditEntry.objects.get(action="domain_create", target=dn)
    assert row.actor == "alladmin" and row.domain_list == [name]


@pytest.mark.parametrize("bad", [*HOSTILE, "a.test", "no-dot", "-x.test", "x..test", " a.test"])
def test_create_domain_refuses_bad_names_and_writes_nothing(
    personas: Personas, login: Login, bad: str
) -> None:
    client = login(personas.admin)
    before = tree()
    response = client.post(url("domain_create"), {"name": bad, "description": ""})
    assert response.status_code == 200
    assert 'class="error"' in response.content.decode()
    assert "<img src=x" not in response.content.decode()
    assert tree() == before


def test_create_domain_is_404_for_everyone_but_administrators(
    personas: Personas, login: Login, unique: Callable[[str], str]
) -> None:
    before = tree()
    for persona in (personas.domain_admin_a, personas.group_admin, personas.user):
        client = login(persona)
        assert client.get(url("domain_create")).status_code == 404
        assert client.post(url("domain_create"), {"name": f"{unique('x')}.test"}).status_code == 404
    assert tree() == before


@pytest.mark.fault
def test_domain_create_undoes_its_steps_when_a_later_one_fails_fault(
    unique: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fault injected with a fake privacy step (slapd cannot be made to fail the third write on demand)."""
    name = f"{unique('half')}.test"

    def broken(**_kw: object) -> None:
        raise directory.DirectoryUnavailable("injected")

    monkeypatch.setattr(containers, "container_set_private", broken)
    before = tree()
    with pytest.raises(directory.DirectoryUnavailable):
        domain_create(actor=SYSTEM, name=name, private=True)
    assert tree() == before
    assert AuditEntry.objects.get(action="domain_create", target=dit.domain_dn(name)).ok is False


# --- organizations and groups -------------------------------------------------------------------------------


def test_create_organization_with_address_phone_and_privacy(
    personas: Personas, login: Login, domain: str
) -> None:
    client = login(personas.admin)
    domain_dn = dit.domain_dn(domain)
    page = client.get(url("organization_create", parent=domain_dn)).content.decode()
    for label in ("Name", "Postal address", "Phone", "Description", "Make private from rest of directory"):
        assert f">{label}" in page
    response = client.post(
        url("organization_create", parent=domain_dn),
        {
            "name": "Research & Development",
            "postal_address": "Main Street 1\r\nPrice $5 \\ box\r\n\r\n12345 Town",
            "phone": "+49 (30) 1234-5",
            "description": "Labs",
            "private": "on",
        },
        follow=True,
    )
    assert "Organization Research &amp; Development created." in response.content.decode()
    dn = dit.organization_dn(domain, "Research & Development")
    assert ldaptool.attribute(dn, "postalAddress") == ["Main Street 1$Price \\245 \\5C box$12345 Town"]
    assert ldaptool.attribute(dn, "telephoneNumber") == ["+49 (30) 1234-5"]
    assert ldaptool.attribute(dn, "mailPrivate") == ["TRUE"]
    # The edit page shows the address as typed (lines, `$` and `\` restored) and saves changes.
    edit = client.get(url("edit", dn=dn)).content.decode()
    assert "Main Street 1\nPrice $5 \\ box\n12345 Town</textarea>" in edit
    client.post(url("edit", dn=dn), {"postal_address": "Elsewhere 2", "phone": "", "description": "New"})
    assert ldaptool.attribute(dn, "postalAddress") == ["Elsewhere 2"]
    assert ldaptool.attribute(dn, "telephoneNumber") == []
    assert ldaptool.attribute(dn, "mailPrivate") == []  # the box was not ticked: no longer private


# Free text (address, description) may hold DN or filter specials and markup: stored as typed, shown escaped.
REFUSED = {
    "name": HOSTILE,
    "phone": HOSTILE,
    "postal_address": ["x\x00y", "n" * 300, "\n".join(["line"] * 7)],
    "description": ["x\x00y", "a\r\nb: c", "n" * 600],
}


@pytest.mark.parametrize("field", sorted(REFUSED))
def test_organization_form_refuses_hostile_values(
    personas: Personas, login: Login, domain: str, field: str
) -> None:
    client = login(personas.admin)
    before = tree()
    for bad in REFUSED[field]:
        data = {"name": "okname", "postal_address": "", "phone": "", "description": "", field: bad}
        response = client.post(url("organization_create", parent=dit.domain_dn(domain)), data)
        assert response.status_code == 200, (field, bad)
        assert 'class="error"' in response.content.decode(), (field, bad)
        assert "<img src=x" not in response.content.decode()
        assert tree() == before, (field, bad)


def test_create_group_and_nested_group(personas: Personas, login: Login, domain: str) -> None:
    client = login(personas.admin)
    org = dit.organization_dn(domain, domain)
    response = client.post(
        url("group_create", parent=org), {"name": "sales ", "description": "Sellers"}, follow=True
    )
    assert "Group sales created." in messages_of(response)
    sales = dit.group_dn(org, "sales")  # the trailing space was trimmed, not stored
    assert sorted(ldaptool.attribute(sales, "objectClass")) == ["mailContainer", "organizationalUnit"]
    client.post(url("group_create", parent=sales), {"name": "east"})
    assert ldaptool.attribute(dit.group_dn(sales, "east"), "ou") == ["east"]
    # A group lives in an organization or a group, never straight in the domain.
    assert client.get(url("group_create", parent=dit.domain_dn(domain))).status_code == 404


@pytest.mark.parametrize("bad", HOSTILE)
def test_group_form_refuses_hostile_names(personas: Personas, login: Login, domain: str, bad: str) -> None:
    client = login(personas.admin)
    before = tree()
    response = client.post(url("group_create", parent=dit.organization_dn(domain, domain)), {"name": bad})
    assert response.status_code == 200 and 'class="error"' in response.content.decode()
    assert tree() == before


def test_domain_admin_creates_groups_in_own_domain_only(
    personas: Personas, login: Login, unique: Callable[[str], str]
) -> None:
    client = login(personas.domain_admin_a)
    org_a = dit.organization_dn("a.test", "a.test")
    name = unique("dg")
    assert client.post(url("group_create", parent=org_a), {"name": name}).status_code == 302
    group = dit.group_dn(org_a, name)
    assert directory.exists(group)
    # ... but not organizations, and nothing in b.test.
    org_b = dit.organization_dn("b.test", "b.test")
    before = tree()
    assert (
        client.post(url("organization_create", parent=dit.domain_dn("a.test")), {"name": "o2"}).status_code
        == 404
    )
    assert client.post(url("group_create", parent=org_b), {"name": "intruder"}).status_code == 404
    assert client.get(url("edit", dn=group)).status_code == 404  # groups' details are the administrators'
    assert tree() == before
    assert client.post(url("delete", dn=group)).status_code == 302
    assert not directory.exists(group)


def test_refused_personas_get_404_and_nothing_changes(personas: Personas, login: Login, domain: str) -> None:
    org_a = dit.organization_dn("a.test", "a.test")
    target_group = group_create(actor=SYSTEM, parent_dn=dit.organization_dn(domain, domain), name="target")
    cases: list[tuple[Persona, str, dict[str, str]]] = [
        (personas.domain_admin_b, url("group_create", parent=org_a), {"name": "x"}),
        (personas.domain_admin_b, url("edit", dn=personas.group_dn), {"description": "pwned"}),
        (personas.domain_admin_b, url("delete", dn=personas.group_dn), {}),
        (personas.domain_admin_b, url("delete", dn=dit.domain_dn("a.test")), {}),
        (personas.domain_admin_a, url("delete", dn=dit.domain_dn("a.test")), {}),
        (personas.domain_admin_a, url("edit", dn=dit.domain_dn("a.test")), {"description": "mine"}),
        (personas.domain_admin_a, url("delete", dn=target_group), {}),
        (personas.group_admin, url("organization_create", parent=dit.domain_dn("a.test")), {"name": "o"}),
        (personas.group_admin, url("group_create", parent=personas.group_dn), {"name": "sub"}),
        (personas.group_admin, url("edit", dn=personas.group_dn), {"description": "mine"}),
        (personas.group_admin, url("delete", dn=personas.group_dn), {}),
        (personas.user, url("group_create", parent=personas.group_dn), {"name": "sub"}),
        (personas.user, url("delete", dn=personas.group_dn), {}),
        (personas.user, url("edit", dn=personas.group_dn), {"description": "x"}),
    ]
    before = tree()
    for persona, target, data in cases:
        client = login(persona)
        assert client.get(target).status_code == 404, (persona.uid, target)
        assert client.post(target, data).status_code == 404, (persona.uid, target)
    assert tree() == before


# --- deleting ----------------------------------------------------------------------------------------------


def test_delete_refuses_a_container_that_holds_something_and_names_it(
    personas: Personas, login: Login, domain: str, unique: Callable[[str], str]
) -> None:
    from accounts import services

    org = dit.organization_dn(domain, domain)
    group = group_create(actor=SYSTEM, parent_dn=org, name="g")
    for uid in (unique("u"), unique("u")):
        services.user_create(
            actor=SYSTEM,
            container_dn=org,
            uid=uid,
            password="Pass-word-12",
            last_name="U",
            create_mailbox=False,
        )
    directory.add(
        f"cn=team,{dit.aliases_dn(domain)}",
        {"objectClass": ["nisMailAlias", "mailAliasEntry"], "cn": "team", "mail": f"team@{domain}"},
    )
    client = login(personas.admin)
    before = tree()
    page = client.get(url("delete", dn=dit.domain_dn(domain))).content.decode()
    assert f"{domain} still holds 2 users, 1 group and 1 alias." in page
    response = client.post(url("delete", dn=dit.domain_dn(domain)), follow=True)
    assert f"{domain} still holds 2 users, 1 group and 1 alias." in messages_of(response)
    assert tree() == before
    # An organization's message counts what it holds at any depth.
    services.user_create(
        actor=SYSTEM,
        container_dn=group,
        uid=unique("g"),
        password="Pass-word-12",
        last_name="G",
        create_mailbox=False,
    )
    with pytest.raises(ContainerNotEmpty, match="g still holds 1 user."):
        container_delete(actor=SYSTEM, dn=group)


def test_an_empty_domain_goes_with_its_organization_and_aliases(
    personas: Personas, login: Login, domain: str
) -> None:
    org = dit.organization_dn(domain, domain)
    group = group_create(actor=SYSTEM, parent_dn=org, name="empty")
    client = login(personas.admin)
    assert container_contents(dit.domain_dn(domain)).describe() == f"{domain} still holds 1 group."
    response = client.post(url("delete", dn=group), follow=True)
    assert "Group empty deleted." in messages_of(response)
    # The organization made with the domain is not deleted on its own.
    with pytest.raises(InvalidName, match="together with the domain"):
        container_delete(actor=SYSTEM, dn=org)
    response = client.post(url("delete", dn=dit.domain_dn(domain)), follow=True)
    assert response.redirect_chain[-1][0] == "/accounts/browser/"
    assert ldaptool.dump(dit.domain_dn(domain)) == "\n"
    assert AuditEntry.objects.filter(
        action="container_delete", target=dit.domain_dn(domain), ok=True
    ).exists()


def test_a_second_organization_is_deleted_when_empty(domain: str) -> None:
    dn = organization_create(actor=SYSTEM, domain_dn=dit.domain_dn(domain), name="Branch")
    assert container_contents(dit.domain_dn(domain)).describe() == f"{domain} still holds 1 organization."
    container_delete(actor=SYSTEM, dn=dn)
    assert not directory.exists(dn)


# --- Move (ACC-04) -----------------------------------------------------------------------------------------


def move(dn: str) -> str:
    return "/accounts/move/?" + urlencode({"dn": dn})


def _deliver(address: str) -> str:
    subject = f"move {uuid.uuid4().hex}"
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "sender@example.org", address, subject
    message.set_content("Hello.\n")
    with smtplib.SMTP(settings.SMTP_HOST, int(settings.SMTP_PORT), timeout=10) as smtp:
        assert smtp.send_message(message) == {}
    return subject


def _wait_in_inbox(uid: str, password: str, subjects: set[str]) -> None:
    deadline = time.monotonic() + 30
    while True:
        client = IMAPClient(settings.IMAP_HOST, port=int(settings.IMAP_PORT), ssl=bool(settings.IMAP_SSL))
        try:
            client.login(uid, password)  # saslauthd finds the moved entry by its login name
            client.select_folder("INBOX", readonly=True)
            found = client.fetch(client.search("ALL"), ["BODY.PEEK[HEADER.FIELDS (SUBJECT)]"])
            seen = {
                v[b"BODY[HEADER.FIELDS (SUBJECT)]"].decode().split(":", 1)[1].strip() for v in found.values()
            }
        finally:
            client.logout()
        if subjects <= seen:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"{subjects - seen} did not reach user/{uid}")
        time.sleep(0.25)


def test_moving_a_user_keeps_login_mailbox_mail_and_references(
    personas: Personas, login: Login, domain: str, unique: Callable[[str], str]
) -> None:
    from accounts import services

    org = dit.organization_dn(domain, domain)
    group = group_create(actor=SYSTEM, parent_dn=org, name="dest")
    uid, password = unique("mover"), "Mover-pass-12"
    dn = services.user_create(
        actor=SYSTEM, container_dn=org, uid=uid, password=password, last_name="Mover", create_mailbox=True
    )
    services.domain_admin_add(actor=SYSTEM, domain=domain, account_dn=dn)
    alias = f"cn=movers,{dit.aliases_dn(domain)}"
    directory.add(
        alias,
        {
            "objectClass": ["nisMailAlias", "mailAliasEntry"],
            "cn": "movers",
            "mail": f"movers@{domain}",
            "mailAliasOwner": dn,
        },
    )
    earlier = _deliver(f"{uid}@{domain}")
    _wait_in_inbox(uid, password, {earlier})

    client = login(personas.admin)
    page = client.get(move(dn)).content.decode()
    assert '<label for="id_target">Move to</label>' in page and f"{domain} / dest" in page
    response = client.post(move(dn), {"target": group}, follow=True)
    assert f"{uid} moved to dest." in messages_of(response)
    new_dn = dit.account_dn(group, uid)
    assert not directory.exists(dn) and ldaptool.attribute(new_dn, "uid") == [uid]
    assert ldaptool.bind_ok(new_dn, password)
    assert ldaptool.attribute(dit.domain_dn(domain), "mailAdministrator") == [new_dn]  # refint followed
    assert ldaptool.attribute(alias, "mailAliasOwner") == [new_dn]
    later = _deliver(f"{uid}@{domain}")
    _wait_in_inbox(uid, password, {earlier, later})  # the same mailbox, old mail and new
    row = AuditEntry.objects.get(action="entry_move", target=dn)
    assert row.after is not None and row.after["to"] == new_dn


def test_a_group_does_not_move_into_itself(personas: Personas, login: Login, domain: str) -> None:
    org = dit.organization_dn(domain, domain)
    outer = group_create(actor=SYSTEM, parent_dn=org, name="outer")
    inner = group_create(actor=SYSTEM, parent_dn=outer, name="inner")
    client = login(personas.admin)
    assert inner not in client.get(move(outer)).content.decode()  # not offered
    before = tree()
    for target in (outer, inner, org):  # itself, its own group, where it already is
        response = client.post(move(outer), {"target_dn": target})
        assert response.status_code == 200 and 'class="error"' in response.content.decode(), target
    assert tree() == before
    response = client.post(move(inner), {"target": org}, follow=True)
    assert "inner moved to" in messages_of(response)[0]
    assert directory.exists(dit.group_dn(org, "inner"))


def test_move_refusals_are_404_and_change_nothing(
    personas: Personas, login: Login, unique: Callable[[str], str]
) -> None:
    from accounts import services

    org_a, org_b = dit.organization_dn("a.test", "a.test"), dit.organization_dn("b.test", "b.test")
    uid = unique("m")
    dn = services.user_create(
        actor=SYSTEM,
        container_dn=org_a,
        uid=uid,
        password="Move-pass-123",
        last_name="M",
        create_mailbox=False,
    )
    before = tree()
    dana_a = login(personas.domain_admin_a)
    assert dana_a.post(move(dn), {"target_dn": org_b}).status_code == 404  # create right missing in b.test
    assert dana_a.post(move(personas.domain_admin_a.dn), {"target": personas.group_dn}).status_code == 404
    assert login(personas.domain_admin_b).post(move(dn), {"target_dn": org_b}).status_code == 404
    assert login(personas.group_admin).post(move(personas.user.dn), {"target_dn": org_a}).status_code == 404
    assert login(personas.user).post(move(personas.user.dn), {"target_dn": org_a}).status_code == 404
    assert tree() == before
    # The service itself refuses the same way (bulk jobs call it directly).
    dana_b = Actor(
        personas.domain_admin_b.uid,
        personas.domain_admin_b.dn,
        directory.roles_for(personas.domain_admin_b.dn),
    )
    with pytest.raises(directory.DirectoryNotFound):
        containers.entry_move(actor=dana_b, dn=dn, new_parent_dn=org_b)
    assert tree() == before
    # Within her own domain dana-a moves it.
    response = dana_a.post(move(dn), {"target": personas.group_dn})
    assert response.status_code == 302 and directory.exists(dit.account_dn(personas.group_dn, uid))
    services.user_delete(actor=SYSTEM, dn=dit.account_dn(personas.group_dn, uid))


def test_a_domain_admin_does_not_move_a_group_holding_an_equal_rank(
    login: Login, domain: str, unique: Callable[[str], str]
) -> None:
    from accounts import services

    org = dit.organization_dn(domain, domain)
    group = group_create(actor=SYSTEM, parent_dn=org, name="bosses")
    target = group_create(actor=SYSTEM, parent_dn=org, name="elsewhere")
    made = {}
    for who, container in (("dana", org), ("peer", group)):
        uid = unique(who)
        made[who] = services.user_create(
            actor=SYSTEM,
            container_dn=container,
            uid=uid,
            password="Boss-pass-123",
            last_name=who,
            create_mailbox=False,
        )
        services.domain_admin_add(actor=SYSTEM, domain=domain, account_dn=made[who])
    dana = login(Persona("dana", dit.rdn_value(made["dana"]), made["dana"], "Boss-pass-123"))
    before = tree()
    assert dana.get(move(group)).status_code == 404
    assert dana.post(move(group), {"target": target}).status_code == 404
    assert tree() == before


def _readable(as_dn: str, password: str, dn: str) -> bool:
    """A base read of `dn` bound as `as_dn` with the ldapsearch CLI (what a client that guessed it gets)."""
    result = subprocess.run(
        [
            "ldapsearch",
            "-LLL",
            "-x",
            "-H",
            settings.LDAP_URI,
            "-D",
            as_dn,
            "-w",
            password,
            "-s",
            "base",
            "-b",
            dn,
            "(objectClass=*)",
            "1.1",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode in (0, 32), result.stderr
    return result.returncode == 0 and "dn:" in result.stdout


def test_private_groups_stay_hidden_when_moved_and_leave_no_rule_when_deleted(
    personas: Personas, login: Login, domain: str, unique: Callable[[str], str]
) -> None:
    from accounts import services

    org = dit.organization_dn(domain, domain)
    client = login(personas.admin)
    client.post(url("group_create", parent=org), {"name": "hidden", "private": "on"})
    hidden = dit.group_dn(org, "hidden")
    target = group_create(actor=SYSTEM, parent_dn=org, name="public")
    password = "Outside-pass-1"
    member = services.user_create(
        actor=SYSTEM,
        container_dn=hidden,
        uid=unique("in"),
        password=password,
        last_name="In",
        create_mailbox=False,
    )
    outsider = services.user_create(
        actor=SYSTEM,
        container_dn=org,
        uid=unique("out"),
        password=password,
        last_name="Out",
        create_mailbox=False,
    )
    assert _readable(member, password, member) and not _readable(outsider, password, member)

    assert client.post(move(hidden), {"target": target}).status_code == 302
    moved_member = dit.account_dn(dit.group_dn(target, "hidden"), dit.rdn_value(member))
    assert not _readable(outsider, password, moved_member)  # hidden at its new place
    assert _readable(moved_member, password, moved_member)
    assert directory.access_state().in_sync  # and the rule of the old place is gone

    empty = group_create(actor=SYSTEM, parent_dn=org, name="gone", private=True)
    assert any("gone" in rule for rule in directory.access_state().live)
    assert client.post(url("delete", dn=empty)).status_code == 302
    state = directory.access_state()
    assert state.in_sync and not any("gone" in rule for rule in state.live)
