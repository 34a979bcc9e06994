"""Forwarding, keep copy, catch-all and alias domains, proven by what Postfix and Cyrus do (SMTP in, IMAP or
the remote MX sink out)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from accounts.services.users import user_disable
from aliases.services import addresses
from tests.aliases.h2tool import ACTOR, make_user, rcpt_code, remote_mx, send, subject, wait_subject

pytestmark = pytest.mark.django_db


def test_forward_to_local_user_with_keep_copy_delivers_both(
    domain: str, unique: Callable[[str], str]
) -> None:
    a, b = unique("fa"), unique("fb")
    dn_a = make_user(domain, a)
    make_user(domain, b)
    addresses.user_set_forwarding(actor=ACTOR, dn=dn_a, targets=[f"{b}@{domain}"], keep_copy=True)
    marker = subject()
    send(f"{a}@{domain}", marker)
    wait_subject(b, marker)
    wait_subject(a, marker)


def test_forward_without_copy_leaves_own_mailbox_empty(domain: str, unique: Callable[[str], str]) -> None:
    a, b = unique("fa"), unique("fb")
    dn_a = make_user(domain, a)
    make_user(domain, b)
    addresses.user_set_forwarding(actor=ACTOR, dn=dn_a, targets=[f"{b}@{domain}"], keep_copy=False)
    marker = subject()
    send(f"{a}@{domain}", marker)
    found = wait_subject(b, marker)
    assert found.count(marker) == 1
    # a second message to b directly has arrived after the forwarded one: a's mailbox had its chance
    after = subject()
    send(f"{b}@{domain}", after)
    wait_subject(b, after)
    from tests.aliases.h2tool import subjects

    assert marker not in subjects(a)


def test_forward_to_external_target_reaches_remote_mx(domain: str, unique: Callable[[str], str]) -> None:
    a = unique("fx")
    dn_a = make_user(domain, a)
    target = f"{a}@remote.example"
    addresses.user_set_forwarding(actor=ACTOR, dn=dn_a, targets=[target], keep_copy=True)
    marker = subject()
    with remote_mx() as sink:
        send(f"{a}@{domain}", marker)
        sink.wait_for(target, marker)
    wait_subject(a, marker)


def test_disabled_accounts_forward_does_not_deliver(domain: str, unique: Callable[[str], str]) -> None:
    a, b = unique("fa"), unique("fb")
    dn_a = make_user(domain, a)
    make_user(domain, b)
    addresses.user_set_forwarding(actor=ACTOR, dn=dn_a, targets=[f"{b}@{domain}"], keep_copy=False)
    assert rcpt_code(f"{a}@{domain}") == 250
    user_disable(actor=ACTOR, dn=dn_a)
    assert rcpt_code(f"{a}@{domain}") == 550


def test_catch_all_receives_unknown_addresses_only(domain: str, unique: Callable[[str], str]) -> None:
    a, b = unique("ca"), unique("cb")
    make_user(domain, a)
    make_user(domain, b)
    assert rcpt_code(f"nobody-{a}@{domain}") == 550
    addresses.domain_set_catch_all(actor=ACTOR, domain=domain, target=f"{a}@{domain}")
    unknown, known = subject(), subject()
    send(f"nobody-{a}@{domain}", unknown)
    send(f"{b}@{domain}", known)
    wait_subject(a, unknown)
    wait_subject(b, known)
    addresses.domain_set_catch_all(actor=ACTOR, domain=domain, target="")
    assert rcpt_code(f"nobody-{a}@{domain}") == 550


def test_alias_domain_delivers_as_the_real_domain(domain: str, unique: Callable[[str], str]) -> None:
    a = unique("ad")
    make_user(domain, a)
    alias = f"alias-{domain}"
    addresses.domain_add_alias(actor=ACTOR, domain=domain, alias=alias)
    marker = subject()
    send(f"{a}@{alias}", marker)
    wait_subject(a, marker)
    # removed: the domain is remote again, so the message goes out to its MX (we are a local sender)
    addresses.domain_remove_alias(actor=ACTOR, domain=domain, alias=alias)
    # (another local part: smtpd remembers the last address it resolved, class included)
    gone = subject()
    with remote_mx() as sink:
        send(f"other-{a}@{alias}", gone)
        sink.wait_for(f"other-{a}@{alias}", gone)


def test_extra_address_delivers_to_the_mailbox(domain: str, unique: Callable[[str], str]) -> None:
    a = unique("ex")
    dn_a = make_user(domain, a)
    extra = f"{a}.extra@{domain}"
    assert rcpt_code(extra) == 550
    addresses.user_set_addresses(actor=ACTOR, dn=dn_a, addresses=[extra])
    marker = subject()
    send(extra, marker)
    wait_subject(a, marker)
