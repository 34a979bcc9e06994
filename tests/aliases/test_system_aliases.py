"""System aliases (ALI-05): valid for every hosted domain, never for remote ones; the page; refusals."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from django.test import Client

from accounts.services.containers import domain_create
from aliases.services import system
from mailadmin.directory import dit
from tests.aliases.h2tool import ACTOR, make_user, remote_mx, send, subject, subjects, wait_subject
from tests.conftest import Persona, Personas
from tests.ldaptool import dump

pytestmark = pytest.mark.django_db

HOSTILE = [
    "*)(uid=*",
    "x,ou=admins",
    "a+uid=root",
    "#lead",
    "trail ",
    "nul\x00x",
    "cr\r\nlf",
    "x" * 300,
    '"><img src=x onerror=alert(1)>',
    "a@b@c",
    '"x y"@d.test',
    "@d.test",
    "*@d.test",
]


def _name() -> str:
    return f"sys-{uuid.uuid4().hex[:8]}"


def _other_domain() -> str:
    name = f"t{uuid.uuid4().hex[:10]}.test"
    domain_create(actor=ACTOR, name=name)
    return name


def test_system_alias_reaches_target_from_two_domains(domain: str, unique: Callable[[str], str]) -> None:
    target = unique("pm")
    make_user(domain, target)
    name = _name()
    system.system_aliases_save(actor=ACTOR, new_name=name, new_targets=[f"{target}@{domain}"])
    second = _other_domain()
    one, two = subject(), subject()
    send(f"{name}@{domain}", one)
    send(f"{name}@{second}", two)
    wait_subject(target, one)
    wait_subject(target, two)


def test_remote_address_of_the_same_name_is_not_captured(domain: str, unique: Callable[[str], str]) -> None:
    """A local sender (mynetworks) writes to <name>@remote.example: it goes to the remote MX, not to us."""
    target = unique("pm")
    make_user(domain, target)
    name = _name()
    system.system_aliases_save(actor=ACTOR, new_name=name, new_targets=[f"{target}@{domain}"])
    remote, later = subject(), subject()
    with remote_mx() as sink:
        send(f"{name}@remote.example", remote, sender=f"{target}@{domain}")
        sink.wait_for(f"{name}@remote.example", remote)
    send(f"{target}@{domain}", later)  # arrives after anything the first message could have caused
    wait_subject(target, later)
    assert remote not in subjects(target)


def test_account_of_the_same_name_wins(domain: str, unique: Callable[[str], str]) -> None:
    target = unique("pm")
    make_user(domain, target)
    second = _other_domain()
    name = unique("own")
    make_user(second, name)  # name@second is this account
    system.system_aliases_save(actor=ACTOR, new_name=name, new_targets=[f"{target}@{domain}"])
    mine, theirs = subject(), subject()
    send(f"{name}@{second}", mine)
    send(f"{name}@{domain}", theirs)
    wait_subject(name, mine)
    wait_subject(target, theirs)
    assert mine not in subjects(target)


def test_page_creates_updates_and_deletes(login: Callable[[Persona], Client], personas: Personas) -> None:
    client = login(personas.admin)
    a, b = _name(), _name()
    assert client.get("/aliases/system/").status_code == 200
    t1, t2 = f"{personas.user.uid}@a.test", f"{personas.domain_admin_a.uid}@a.test"
    r = client.post("/aliases/system/", {"new_name": a, "new_targets": t1})
    assert r.status_code == 302
    r = client.post("/aliases/system/", {"new_name": b, "new_targets": f"{t1}, {t2}"})
    assert r.status_code == 302
    page = client.get("/aliases/system/").content.decode()
    assert a in page and b in page and "valid for every domain" in page
    # Update All: a gets two targets, b is deleted
    r = client.post("/aliases/system/", {f"targets-{a}": f"{t1},{t2}", f"targets-{b}": t1, "delete": [b]})
    assert r.status_code == 302
    found = {x.name: x.targets for x in system.system_alias_list()}
    assert found[a] == (t1, t2)
    assert b not in found
    client.post("/aliases/system/", {"delete": [a]})
    assert a not in {x.name for x in system.system_alias_list()}


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_input_changes_nothing(
    value: str, login: Callable[[Persona], Client], personas: Personas
) -> None:
    client = login(personas.admin)
    name = _name()
    system.system_aliases_save(actor=ACTOR, new_name=name, new_targets=[f"{personas.user.uid}@a.test"])
    before = dump(dit.system_aliases_dn())
    for data in (
        {"new_name": value, "new_targets": f"{personas.user.uid}@a.test"},
        {"new_name": _name(), "new_targets": value},
        {f"targets-{name}": value},
        {"delete": [value]},
    ):
        r = client.post("/aliases/system/", data)
        assert r.status_code == 400, (data, r.status_code)
        body = r.content.decode()
        assert "<img src=x" not in body
    assert dump(dit.system_aliases_dn()) == before
    system.system_aliases_save(actor=ACTOR, delete=[name])


def test_loop_and_unknown_local_target_are_refused(domain: str, unique: Callable[[str], str]) -> None:
    name = _name()
    with pytest.raises(Exception, match="no account or alias"):
        system.system_aliases_save(actor=ACTOR, new_name=name, new_targets=[f"nobody-{name}@{domain}"])
    target = unique("pm")
    make_user(domain, target)
    system.system_aliases_save(actor=ACTOR, new_name=name, new_targets=[f"{target}@{domain}"])
    with pytest.raises(Exception, match="loop"):
        system.system_aliases_save(actor=ACTOR, update={name: [f"{name}@{domain}"]})
    system.system_aliases_save(actor=ACTOR, delete=[name])


@pytest.mark.parametrize("who", ["domain_admin_a", "group_admin", "user"])
def test_refused_personas_get_404_and_change_nothing(
    who: str, login: Callable[[Persona], Client], personas: Personas
) -> None:
    name = _name()
    system.system_aliases_save(actor=ACTOR, new_name=name, new_targets=[f"{personas.user.uid}@a.test"])
    before = dump(dit.system_aliases_dn())
    client = login(getattr(personas, who))
    assert client.get("/aliases/system/").status_code == 404
    r = client.post("/aliases/system/", {"delete": [name], "new_name": _name(), "new_targets": "x@y.test"})
    assert r.status_code == 404
    assert dump(dit.system_aliases_dn()) == before
    system.system_aliases_save(actor=ACTOR, delete=[name])
