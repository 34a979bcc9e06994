"""Alias memberships follow addresses (aliases/services/membership.py): a changed primary address is
renamed in every alias, a removed extra address or a deleted user/contact leaves every alias; the pages name
the aliases. Proved with the real daemons: slapd (ldapsearch of the alias), Postfix (SMTP to the alias) and
Cyrus (the message read back over IMAP as the member)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from urllib.parse import urlencode

import pytest
from django.test import Client

from accounts.services.contacts import contact_create
from aliases.services import alias_create, membership
from aliases.services.system import system_alias_list, system_aliases_save
from mailadmin import directory
from mailadmin.audit.models import AuditEntry
from mailadmin.directory import dit
from tests.accounts.usertool import user_imap
from tests.aliases.h2tool import ACTOR, PASSWORD, make_user, rcpt_code, send
from tests.aliases.test_system_aliases import HOSTILE
from tests.conftest import Persona, Personas
from tests.ldaptool import attribute, dump

pytestmark = pytest.mark.django_db
REMOTE = "remote.example"


def _q(dn: str) -> str:
    return "?" + urlencode({"dn": dn})


def _members(dn: str) -> list[str]:
    return sorted(v.lower() for v in attribute(dn, "rfc822MailMember"))


def _arrived(uid: str, subject: str, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    with user_imap(uid, PASSWORD) as client:
        while True:
            client.select_folder("INBOX", readonly=True)
            if client.search(["SUBJECT", subject]):
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.2)


def _messages(response: object) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []  # type: ignore[attr-defined]


@contextmanager
def _system_alias(targets: list[str]) -> Iterator[str]:
    """A system alias (server-wide: removed again after the test)."""
    name = f"sys{uuid.uuid4().hex[:8]}"
    system_aliases_save(actor=ACTOR, new_name=name, new_targets=targets)
    try:
        yield name
    finally:
        if any(a.name == name for a in system_alias_list()):
            system_aliases_save(actor=ACTOR, delete=[name])


def _system_dn(name: str) -> str:
    return f"cn={name},{dit.system_aliases_dn()}"


def test_changed_primary_address_is_renamed_in_aliases_and_mail_arrives(
    domain: str, unique: Callable[[str], str], login: Callable[[Persona], Client], personas: Personas
) -> None:
    dn = make_user(domain, unique("pa"))
    uid = dit.rdn_value(dn)
    old, new = f"{uid}@{domain}", f"{uid}.new@{domain}"
    team = alias_create(
        actor=ACTOR, domain=domain, name="team", members=[old, f"x@{REMOTE}"], open_membership=True
    )
    with _system_alias([old]) as sysname:
        client = login(personas.admin)
        r = client.post(f"/accounts/users/edit/{_q(dn)}", {"last_name": "Pa", "mail": new})
        assert r.status_code == 302
        assert attribute(dn, "mail") == [new]
        assert _members(team) == sorted([new, f"x@{REMOTE}"])
        assert attribute(_system_dn(sysname), "rfc822MailMember") == [new]
    # Postfix: the alias delivers to the member's new address, the old one is gone
    subject = f"follow {uuid.uuid4().hex}"
    send(f"team@{domain}", subject)
    assert _arrived(uid, subject)
    assert rcpt_code(old) == 550
    actions = set(AuditEntry.objects.filter(target__iexact=team).values_list("action", flat=True))
    assert "alias_member_rename" in actions


def test_removed_extra_address_leaves_the_alias_and_the_page_names_it(
    domain: str, unique: Callable[[str], str], login: Callable[[Persona], Client], personas: Personas
) -> None:
    dn = make_user(domain, unique("xa"), mailbox=False)
    uid = dit.rdn_value(dn)
    keep, drop = f"{uid}.keep@{domain}", f"{uid}.drop@{domain}"
    client = login(personas.admin)
    url = f"/aliases/addresses/{_q(dn)}"
    assert client.post(url, {"addresses": f"{keep}\n{drop}"}).status_code == 302
    sales = alias_create(actor=ACTOR, domain=domain, name="sales", members=[drop, keep, f"y@{REMOTE}"])
    r = client.post(url, {"addresses": keep}, follow=True)
    assert r.status_code == 200
    assert f"Also removed from: sales@{domain}." in _messages(r)
    assert _members(sales) == sorted([keep, f"y@{REMOTE}"])
    assert rcpt_code(drop) == 550


def test_deleted_user_leaves_every_alias_named_on_the_page(
    domain: str, unique: Callable[[str], str], login: Callable[[Persona], Client], personas: Personas
) -> None:
    dn = make_user(domain, unique("du"), mailbox=False)
    uid = dit.rdn_value(dn)
    alone = alias_create(
        actor=ACTOR, domain=domain, name="alone", members=[f"{uid}@{domain}"], open_membership=True
    )
    crowd = alias_create(actor=ACTOR, domain=domain, name="crowd", members=[f"{uid}@{domain}", f"z@{REMOTE}"])
    client = login(personas.admin)
    url = f"/accounts/users/delete/{_q(dn)}"
    page = client.get(url).content.decode()
    assert f"Also removed from: alone@{domain}, crowd@{domain}." in page
    r = client.post(url, {}, follow=True)
    assert r.status_code == 200 and directory.get_entry(dn, ["uid"]) is None
    assert f"Also removed from: alone@{domain}, crowd@{domain}." in _messages(r)
    assert _members(crowd) == [f"z@{REMOTE}"]
    # decision: a domain alias may be empty (as alias_create/alias_update allow); Postfix then refuses it
    assert directory.get_entry(alone, ["cn"]) is not None and _members(alone) == []
    assert rcpt_code(f"alone@{domain}") == 550


def test_a_system_alias_is_never_emptied_the_delete_is_refused(
    domain: str, unique: Callable[[str], str], login: Callable[[Persona], Client], personas: Personas
) -> None:
    dn = make_user(domain, unique("pm"), mailbox=False)
    uid = dit.rdn_value(dn)
    with _system_alias([f"{uid}@{domain}"]) as sysname:
        before = dump(dit.base_dn())
        client = login(personas.admin)
        url = f"/accounts/users/delete/{_q(dn)}"
        assert sysname in client.get(url).content.decode()
        r = client.post(url, {})
        assert r.status_code == 200 and f"The system alias {sysname} would be left" in r.content.decode()
        assert dump(dit.base_dn()) == before


def test_contact_address_change_and_delete_follow(
    domain: str, login: Callable[[Persona], Client], personas: Personas
) -> None:
    org = dit.organization_dn(domain, domain)
    old, new = f"c{uuid.uuid4().hex[:8]}@{REMOTE}", f"n{uuid.uuid4().hex[:8]}@{REMOTE}"
    contact = contact_create(actor=ACTOR, container_dn=org, last_name="Partner", mail=old)
    partners = alias_create(actor=ACTOR, domain=domain, name="partners", members=[old])
    client = login(personas.admin)
    r = client.post(f"/accounts/contacts/{_q(contact)}", {"last_name": "Partner", "mail": new})
    assert r.status_code == 302
    assert _members(partners) == [new]
    url = f"/accounts/contacts/delete/{_q(contact)}"
    assert f"Also removed from: partners@{domain}." in client.get(url).content.decode()
    r = client.post(url, {}, follow=True)
    assert f"Also removed from: partners@{domain}." in _messages(r)
    assert directory.get_entry(contact, ["cn"]) is None and _members(partners) == []


def test_a_rename_adds_no_duplicate(domain: str, unique: Callable[[str], str]) -> None:
    """The planned change alone (an account cannot take another's address: slapd's unique overlay)."""
    a_dn, b_dn = (make_user(domain, unique(p), mailbox=False) for p in ("da", "db"))
    a, b = (f"{dit.rdn_value(dn)}@{domain}" for dn in (a_dn, b_dn))
    alias = alias_create(actor=ACTOR, domain=domain, name="dup", members=[a, b])
    (change,) = membership.plan_rename(a, b, holder_dn=a_dn)
    assert change.removed == (a,) and change.added == ()
    membership.members_apply(actor=ACTOR, changes=[change], holder_dn=a_dn)
    assert _members(alias) == [b]


def test_an_address_another_contact_still_has_stays(domain: str) -> None:
    org = dit.organization_dn(domain, domain)
    shared = f"s{uuid.uuid4().hex[:8]}@{REMOTE}"
    one = contact_create(actor=ACTOR, container_dn=org, last_name="One", mail=shared)
    contact_create(actor=ACTOR, container_dn=org, last_name="Two", mail=shared)
    alias = alias_create(actor=ACTOR, domain=domain, name="shared", members=[shared])
    assert membership.plan_remove([shared], holder_dn=one) == []
    assert _members(alias) == [shared]


def test_hostile_primary_addresses_change_nothing(
    domain: str, unique: Callable[[str], str], login: Callable[[Persona], Client], personas: Personas
) -> None:
    dn = make_user(domain, unique("ho"), mailbox=False)
    alias_create(actor=ACTOR, domain=domain, name="hostile", members=[f"{dit.rdn_value(dn)}@{domain}"])
    client = login(personas.admin)
    before = dump(dit.base_dn())
    for value in [*HOSTILE, f"*)(mail=*@{domain}", f"x\r\nrfc822MailMember: evil@{domain}"]:
        r = client.post(f"/accounts/users/edit/{_q(dn)}", {"last_name": "Ho", "mail": value})
        assert r.status_code == 200, value
        assert "<img src=x" not in r.content.decode()
    assert dump(dit.base_dn()) == before


def test_a_foreign_domain_admin_can_trigger_none_of_it(
    domain: str, unique: Callable[[str], str], login: Callable[[Persona], Client], personas: Personas
) -> None:
    dn = make_user(domain, unique("fo"), mailbox=False)
    uid = dit.rdn_value(dn)
    alias_create(actor=ACTOR, domain=domain, name="guarded", members=[f"{uid}@{domain}"])
    org = dit.organization_dn(domain, domain)
    contact = contact_create(actor=ACTOR, container_dn=org, last_name="Guarded", mail=f"g{uid}@{REMOTE}")
    before = dump(dit.base_dn())
    for persona in (personas.domain_admin_b, personas.group_admin, personas.user):
        client = login(persona)
        for url, data in (
            (f"/accounts/users/edit/{_q(dn)}", {"last_name": "X", "mail": f"{uid}.x@{domain}"}),
            (f"/accounts/users/delete/{_q(dn)}", {}),
            (f"/aliases/addresses/{_q(dn)}", {"addresses": ""}),
            (f"/accounts/contacts/{_q(contact)}", {"last_name": "X", "mail": f"h{uid}@{REMOTE}"}),
            (f"/accounts/contacts/delete/{_q(contact)}", {}),
        ):
            assert client.get(url).status_code == 404, (persona.key, url)
            assert client.post(url, data).status_code == 404, (persona.key, url)
    assert dump(dit.base_dn()) == before


def test_a_domain_admin_does_not_learn_other_domains_alias_names(
    domain: str, unique: Callable[[str], str], login: Callable[[Persona], Client], personas: Personas
) -> None:
    dn = make_user(personas.domain_a, unique("cr"), mailbox=False)
    member = f"{dit.rdn_value(dn)}@{personas.domain_a}"
    foreign = alias_create(actor=ACTOR, domain=domain, name="foreign", members=[member, f"q@{REMOTE}"])
    client = login(personas.domain_admin_a)
    url = f"/accounts/users/delete/{_q(dn)}"
    page = client.get(url).content.decode()
    assert "1 alias of a domain you do not administer" in page and f"foreign@{domain}" not in page
    assert client.post(url, {}).status_code == 302
    assert _members(foreign) == [f"q@{REMOTE}"]
