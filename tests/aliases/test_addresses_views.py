"""The address pages: extra addresses, forwarding (self-service too), catch-all and alias domains; who may
use them (404 and nothing changed for everyone else) and what hostile input does (nothing)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from accounts.services.roles import domain_admin_add
from aliases.services import addresses
from mailadmin import directory
from mailadmin.directory import dit
from tests.aliases.h2tool import ACTOR, make_user, rcpt_code
from tests.aliases.test_system_aliases import HOSTILE
from tests.conftest import Persona, Personas
from tests.ldaptool import dump

pytestmark = pytest.mark.django_db


def _persona(dn: str) -> Persona:
    uid = dit.rdn_value(dn)
    return Persona(uid, uid, dn)


def test_admin_adds_extra_addresses_and_postfix_accepts_them(
    domain: str, unique: Callable[[str], str], login: Callable[[Persona], Client], personas: Personas
) -> None:
    dn = make_user(domain, unique("xa"))
    uid = dit.rdn_value(dn)
    client = login(personas.admin)
    url = f"/aliases/addresses/?dn={dn}"
    assert client.get(url).status_code == 200
    r = client.post(url, {"addresses": f"{uid}.one@{domain}\n{uid}.two@{domain}"})
    assert r.status_code == 302
    assert rcpt_code(f"{uid}.one@{domain}") == 250
    assert rcpt_code(f"{uid}.two@{domain}") == 250
    # another domain's address, or one that is taken, is refused with a message
    other = make_user(domain, unique("xb"))
    for bad in (f"{uid}.x@b.test", f"{dit.rdn_value(other)}@{domain}"):
        r = client.post(url, {"addresses": bad})
        assert r.status_code == 200 and 'class="error"' in r.content.decode()


def test_user_sets_own_forwarding_but_not_anyone_elses(
    domain: str, unique: Callable[[str], str], login: Callable[[Persona], Client]
) -> None:
    me, other = make_user(domain, unique("me")), make_user(domain, unique("ot"))
    target = make_user(domain, unique("tg"))
    client = login(_persona(me))
    r = client.get("/aliases/forwarding/mine/")
    assert r.status_code == 302 and "/aliases/forwarding/?dn=" in r["Location"]
    r = client.post(
        f"/aliases/forwarding/?dn={me}", {"targets": f"{dit.rdn_value(target)}@{domain}", "keep_copy": "on"}
    )
    assert r.status_code == 302
    entry = directory.get_entry(me, ["mailForward", "mailKeepCopy"])
    assert entry is not None and list(entry.values("mailForward")) == [f"{dit.rdn_value(target)}@{domain}"]
    assert entry.first("mailKeepCopy") == "TRUE"
    # someone else's forwarding, or extra addresses (even their own): 404, nothing changed
    before = dump(dit.domain_dn(domain))
    assert client.get(f"/aliases/forwarding/?dn={other}").status_code == 404
    assert client.post(f"/aliases/forwarding/?dn={other}", {"targets": "x@y.example"}).status_code == 404
    assert client.post(f"/aliases/addresses/?dn={me}", {"addresses": f"zz@{domain}"}).status_code == 404
    assert client.get(f"/aliases/domain/?domain={domain}").status_code == 404
    assert dump(dit.domain_dn(domain)) == before


def test_forwarding_loop_is_refused(
    domain: str, unique: Callable[[str], str], login: Callable[[Persona], Client], personas: Personas
) -> None:
    a, b = make_user(domain, unique("la")), make_user(domain, unique("lb"))
    addresses.user_set_forwarding(
        actor=ACTOR, dn=b, targets=[f"{dit.rdn_value(a)}@{domain}"], keep_copy=False
    )
    before = dump(dit.domain_dn(domain))
    client = login(personas.admin)
    r = client.post(f"/aliases/forwarding/?dn={a}", {"targets": f"{dit.rdn_value(b)}@{domain}"})
    assert r.status_code == 200 and "loop" in r.content.decode()
    r = client.post(f"/aliases/forwarding/?dn={a}", {"targets": f"{dit.rdn_value(a)}@{domain}"})
    assert r.status_code == 200 and "this account itself" in r.content.decode()
    assert dump(dit.domain_dn(domain)) == before


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_input_changes_nothing(
    value: str,
    domain: str,
    unique: Callable[[str], str],
    login: Callable[[Persona], Client],
    personas: Personas,
) -> None:
    dn = make_user(domain, unique("hx"))
    client = login(personas.admin)
    before = dump(dit.domains_dn())
    posts = [
        (f"/aliases/addresses/?dn={dn}", {"addresses": value}),
        (f"/aliases/forwarding/?dn={dn}", {"targets": value, "keep_copy": "on"}),
        (f"/aliases/domain/?domain={domain}", {"action": "catch_all", "catch_all": value}),
        (f"/aliases/domain/?domain={domain}", {"action": "add_alias", "alias_domain": value}),
        (f"/aliases/domain/?domain={domain}", {"action": "remove_alias", "alias": value}),
    ]
    for url, data in posts:
        r = client.post(url, data)
        assert r.status_code in (200, 302), (url, data, r.status_code)
        body = r.content.decode()
        assert "<img src=x" not in body
        if r.status_code == 200:
            assert 'class="error"' in body or "msg error" in body, (url, data)
    assert dump(dit.domains_dn()) == before


def test_catch_all_and_alias_domain_pages(
    domain: str, unique: Callable[[str], str], login: Callable[[Persona], Client], personas: Personas
) -> None:
    uid = unique("ca")
    make_user(domain, uid)
    url = f"/aliases/domain/?domain={domain}"
    # a domain administrator of this domain sets the catch-all but may not add alias domains
    dana = make_user(domain, unique("dana"))
    domain_admin_add(actor=ACTOR, domain=domain, account_dn=dana)
    client = login(_persona(dana))
    assert client.get(url).status_code == 200
    r = client.post(url, {"action": "catch_all", "catch_all": f"{uid}@{domain}"})
    assert r.status_code == 302
    assert rcpt_code(f"nobody-{uid}@{domain}") == 250
    alias = f"alias-{domain}"
    assert client.post(url, {"action": "add_alias", "alias_domain": alias}).status_code == 404
    # the administrator adds and removes the alias domain
    admin = login(personas.admin)
    assert admin.post(url, {"action": "add_alias", "alias_domain": alias}).status_code == 302
    page = admin.get(url).content.decode()
    assert alias in page
    assert admin.post(url, {"action": "remove_alias", "alias": alias}).status_code == 302
    # a hosted domain cannot become an alias domain
    r = admin.post(url, {"action": "add_alias", "alias_domain": "b.test"})
    assert r.status_code == 200 and "domain of this server" in r.content.decode()
    admin.post(url, {"action": "catch_all", "catch_all": ""})
    assert rcpt_code(f"nobody2-{uid}@{domain}") == 550


@pytest.mark.parametrize("who", ["domain_admin_b", "group_admin", "user"])
def test_foreign_personas_get_404_and_change_nothing(
    who: str, login: Callable[[Persona], Client], personas: Personas, unique: Callable[[str], str]
) -> None:
    """A user of a.test outside `sales`: dana-b (other domain), gary (other group), ursula (not hers)."""
    dn = make_user("a.test", unique("fo"))
    before = dump(dit.domain_dn("a.test"))
    client = login(getattr(personas, who))
    for url, data in (
        (f"/aliases/addresses/?dn={dn}", {"addresses": "zz@a.test"}),
        (f"/aliases/forwarding/?dn={dn}", {"targets": "x@y.example"}),
        (
            "/aliases/domain/?domain=a.test",
            {"action": "catch_all", "catch_all": f"{personas.user.uid}@a.test"},
        ),
    ):
        assert client.get(url).status_code == 404, (who, url)
        assert client.post(url, data).status_code == 404, (who, url)
    assert dump(dit.domain_dn("a.test")) == before


def test_group_admin_edits_users_of_the_group(
    login: Callable[[Persona], Client], personas: Personas, unique: Callable[[str], str]
) -> None:
    uid = unique("gu")
    container = personas.group_dn
    from accounts.services.users import user_create

    dn = user_create(actor=ACTOR, container_dn=container, uid=uid, password="Persona-pass-1", last_name="G")
    client = login(personas.group_admin)
    r = client.post(f"/aliases/forwarding/?dn={dn}", {"targets": "far@remote.example"})
    assert r.status_code == 302
    r = client.post(f"/aliases/addresses/?dn={dn}", {"addresses": f"{uid}.x@a.test"})
    assert r.status_code == 302
    assert rcpt_code(f"{uid}.x@a.test") == 250


def test_user_page_links_and_shows_forwarding(
    domain: str, unique: Callable[[str], str], login: Callable[[Persona], Client], personas: Personas
) -> None:
    dn = make_user(domain, unique("up"))
    addresses.user_set_forwarding(actor=ACTOR, dn=dn, targets=["far@remote.example"], keep_copy=True)
    body = login(personas.admin).get(reverse("user_detail"), {"dn": dn}).content.decode()
    assert "/aliases/addresses/?dn=" in body and "/aliases/forwarding/?dn=" in body
    assert "far@remote.example" in body and "Keep a copy in the mailbox" in body
    browser = login(personas.admin).get(reverse("account_browser"), {"dn": dit.domain_dn(domain)})
    assert f"/aliases/domain/?domain={domain}" in browser.content.decode()


def test_alias_domain_with_existing_addresses_is_refused(domain: str, unique: Callable[[str], str]) -> None:
    from accounts.services.contacts import contact_create

    outside = f"{unique('ext')}.example"
    contact_create(
        actor=ACTOR,
        container_dn=dit.organization_dn(domain, domain),
        last_name="Extern",
        mail=f"carl@{outside}",
    )
    before = dump(dit.domain_dn(domain))
    with pytest.raises(Exception, match="would be rewritten"):
        addresses.domain_add_alias(actor=ACTOR, domain=domain, alias=outside)
    assert dump(dit.domain_dn(domain)) == before


def test_my_forwarding_for_a_console_account_says_there_is_no_mail(
    login: Callable[[Persona], Client], personas: Personas
) -> None:
    r = login(personas.admin).get("/aliases/forwarding/mine/")
    assert r.status_code == 200 and "without a mailbox" in r.content.decode()
