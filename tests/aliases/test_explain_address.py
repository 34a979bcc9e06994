"""Explain this address: Postfix's own answers (postmap -q per table, in main.cf's order), the expansion to
final mailboxes or external targets, the restrictions; who may ask."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from django.conf import settings
from django.test import Client

from aliases.explain import Explanation, explain_address
from aliases.services import addresses, system
from tests.aliases.h2tool import ACTOR, make_user
from tests.aliases.test_system_aliases import HOSTILE
from tests.conftest import Persona, Personas

pytestmark = pytest.mark.django_db


def _explain(address: str) -> Explanation:
    return explain_address(address, settings.POSTFIX_CONFIG_DIR)


def test_forward_with_copy_ends_in_two_mailboxes(domain: str, unique: Callable[[str], str]) -> None:
    a, b = unique("ea"), unique("eb")
    dn = make_user(domain, a)
    make_user(domain, b)
    addresses.user_set_forwarding(
        actor=ACTOR, dn=dn, targets=[f"{b}@{domain}", "far@remote.example"], keep_copy=True
    )
    result = _explain(f"{a}@{domain}")
    assert result.domain_class == "hosted"
    first = result.steps[0]
    assert first.lookups[0].table.endswith("addr-forwards-keep.cf") and first.lookups[0].answer
    finals = {(f.address, f.kind) for f in result.finals}
    mailbox = str(settings.MAILBOX_DOMAIN)
    assert (f"{a}@{mailbox}", "mailbox") in finals
    assert (f"{b}@{mailbox}", "mailbox") in finals
    assert ("far@remote.example", "external") in finals


def test_system_alias_alias_domain_remote_and_unknown(domain: str, unique: Callable[[str], str]) -> None:
    target = unique("et")
    make_user(domain, target)
    name = f"sys-{uuid.uuid4().hex[:8]}"
    system.system_aliases_save(actor=ACTOR, new_name=name, new_targets=[f"{target}@{domain}"])
    alias = f"alias-{domain}"
    addresses.domain_add_alias(actor=ACTOR, domain=domain, alias=alias)
    mailbox = f"{target}@{settings.MAILBOX_DOMAIN}"

    sys_result = _explain(f"{name}@{domain}")
    answered = [lk for step in sys_result.steps for lk in step.lookups if lk.answer]
    assert answered[0].table.endswith("addr-system-aliases.cf")
    assert [(f.address, f.kind) for f in sys_result.finals] == [(mailbox, "mailbox")]

    via_alias = _explain(f"{name}@{alias}")
    assert via_alias.domain_class == "alias domain"
    assert [(f.address, f.kind) for f in via_alias.finals] == [(mailbox, "mailbox")]

    remote = _explain(f"{name}@remote.example")
    assert remote.domain_class == "remote" and remote.steps == []
    assert [f.kind for f in remote.finals] == ["external"]

    unknown = _explain(f"nobody-{name}@{domain}")
    assert [f.kind for f in unknown.finals] == ["unknown"]
    system.system_aliases_save(actor=ACTOR, delete=[name])


def test_receive_local_only_restriction_is_shown(domain: str, unique: Callable[[str], str]) -> None:
    uid = unique("rl")
    make_user(domain, uid, receive_local_only=True)
    result = _explain(f"{uid}@{domain}")
    hits = [r for r in result.restrictions if r.answer]
    assert hits and "mailadmin_receive_local_only" in (hits[0].answer or "")
    assert "check_sender_access" in hits[0].meaning  # the class: which senders are let through


def test_page_for_admin_and_domain_admin(login: Callable[[Persona], Client], personas: Personas) -> None:
    admin = login(personas.admin)
    r = admin.get("/aliases/explain/", {"address": f"{personas.user.uid}@a.test"})
    assert r.status_code == 200
    body = r.content.decode()
    assert "accounts.cf" in body and "delivered to a mailbox" in body
    dana = login(personas.domain_admin_a)
    assert dana.get("/aliases/explain/", {"address": f"{personas.user.uid}@a.test"}).status_code == 200
    assert (
        dana.get("/aliases/explain/", {"address": f"{personas.domain_admin_b.uid}@b.test"}).status_code == 404
    )
    assert dana.get("/aliases/explain/", {"address": "someone@remote.example"}).status_code == 404


@pytest.mark.parametrize("who", ["group_admin", "user"])
def test_refused_personas_get_404(who: str, login: Callable[[Persona], Client], personas: Personas) -> None:
    client = login(getattr(personas, who))
    assert client.get("/aliases/explain/").status_code == 404
    assert client.get("/aliases/explain/", {"address": f"{personas.user.uid}@a.test"}).status_code == 404


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_address_gets_a_message(
    value: str, login: Callable[[Persona], Client], personas: Personas
) -> None:
    r = login(personas.admin).get("/aliases/explain/", {"address": value})
    assert r.status_code == 200
    body = r.content.decode()
    assert 'class="error"' in body and "<img src=x" not in body


def test_domain_admin_does_not_follow_into_another_domain(
    login: Callable[[Persona], Client], personas: Personas, unique: Callable[[str], str]
) -> None:
    """An a.test alias with a b.test member: dana-a sees the member named, but not where b.test sends it."""
    from aliases.services import alias_create, alias_delete

    secret = unique("hidden")
    make_user("b.test", secret)
    forwarder = unique("fw")
    fw_dn = make_user("b.test", forwarder)
    addresses.user_set_forwarding(actor=ACTOR, dn=fw_dn, targets=[f"{secret}@b.test"], keep_copy=False)
    name = unique("team")
    dn = alias_create(actor=ACTOR, domain="a.test", name=name, members=[f"{forwarder}@b.test"])
    try:
        page = login(personas.domain_admin_a).get("/aliases/explain/", {"address": f"{name}@a.test"})
        body = page.content.decode()
        assert page.status_code == 200 and f"{forwarder}@b.test" in body
        assert "another domain (not followed)" in body
        assert secret not in body  # where b.test's user forwards to is b.test's business
        assert (
            secret
            in login(personas.admin).get("/aliases/explain/", {"address": f"{name}@a.test"}).content.decode()
        )
    finally:
        alias_delete(actor=ACTOR, dn=dn)
