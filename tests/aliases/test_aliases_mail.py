"""ALI-03 in the mail system: Postfix expands aliases (nested, each member once) and enforces Open Membership
and Restricted at RCPT time. Proved with real SMTP sessions against the stack's Postfix and the messages read
back over IMAP as each member; the aliases are made through the services the console uses."""

from __future__ import annotations

import smtplib
import time
import uuid
from collections.abc import Callable

import pytest
from django.conf import settings

from accounts.services.containers import domain_create
from aliases.services import alias_create, alias_update
from mailadmin.actor import Actor
from tests.accounts.usertool import user_imap
from tests.aliases.conftest import make_user
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("tests")
REMOTE = "stranger@remote.example"


def _smtp() -> smtplib.SMTP:
    smtp = smtplib.SMTP(settings.SMTP_HOST, int(settings.SMTP_PORT), timeout=15)
    smtp.ehlo()
    return smtp


def _rcpt(sender: str, recipient: str) -> tuple[int, str]:
    with _smtp() as smtp:
        code, reply = smtp.mail(sender)
        assert code == 250, reply
        code, reply = smtp.rcpt(recipient)
    return code, reply.decode(errors="replace")


def _send(sender: str, recipient: str) -> str:
    subject = f"alias {uuid.uuid4().hex}"
    with _smtp() as smtp:
        refused = smtp.sendmail(sender, [recipient], f"Subject: {subject}\r\nFrom: {sender}\r\n\r\nhello\r\n")
    assert refused == {}
    return subject


def _count(uid: str, subject: str, *, at_least: int = 1, timeout: float = 30.0) -> int:
    """How many messages with `subject` are in the INBOX of `uid`, waiting until there are `at_least`."""
    deadline = time.monotonic() + timeout
    with user_imap(uid, PASSWORD) as client:
        while True:
            client.select_folder("INBOX", readonly=True)
            found = len(client.search(["SUBJECT", subject]))
            if found >= at_least or time.monotonic() > deadline:
                return found
            time.sleep(0.2)


def _other_domain() -> str:
    name = f"t{uuid.uuid4().hex[:10]}.test"
    domain_create(actor=ACTOR, name=name)
    return name


def test_mail_reaches_every_member_once_through_nested_aliases(
    domain: str, unique: Callable[[str], str]
) -> None:
    u1, u2, u3 = (make_user(domain, unique(p), mailbox=True) for p in ("ann", "ben", "cat"))
    inner = alias_create(
        actor=ACTOR, domain=domain, name="inner", members=[f"{u2.uid}@{domain}", f"{u3.uid}@{domain}"]
    )
    assert inner
    alias_create(
        actor=ACTOR,
        domain=domain,
        name="outer",
        # u2 twice: directly and through `inner`
        members=[f"{u1.uid}@{domain}", f"{u2.uid}@{domain}", f"inner@{domain}"],
        open_membership=True,
    )
    subject = _send(REMOTE, f"outer@{domain}")
    for user in (u1, u2, u3):
        assert _count(user.uid, subject) == 1, user.uid


def test_alias_without_open_membership_takes_mail_only_from_hosted_domains(
    domain: str, unique: Callable[[str], str]
) -> None:
    member = make_user(domain, unique("mem"), mailbox=True)
    alias_create(actor=ACTOR, domain=domain, name="team", members=[f"{member.uid}@{domain}"])
    code, reply = _rcpt(REMOTE, f"team@{domain}")
    assert code == 554 or 500 <= code < 600, reply
    assert "Only senders in the domains of this server" in reply
    other = _other_domain()
    subject = _send(f"someone@{other}", f"team@{domain}")
    assert _count(member.uid, subject) == 1


def test_open_alias_takes_mail_from_anyone(domain: str, unique: Callable[[str], str]) -> None:
    member = make_user(domain, unique("mem"), mailbox=True)
    alias_create(
        actor=ACTOR, domain=domain, name="info", members=[f"{member.uid}@{domain}"], open_membership=True
    )
    subject = _send(REMOTE, f"info@{domain}")
    assert _count(member.uid, subject) == 1


def test_restricted_alias_refuses_a_foreign_sender_at_rcpt_and_delivers_for_its_domain(
    domain: str, unique: Callable[[str], str]
) -> None:
    member = make_user(domain, unique("mem"), mailbox=True)
    alias_create(
        actor=ACTOR, domain=domain, name="staff", members=[f"{member.uid}@{domain}"], restricted=True
    )
    other = _other_domain()
    for sender in (REMOTE, f"someone@{other}", ""):
        code, reply = _rcpt(sender, f"staff@{domain}")
        assert 500 <= code < 600, (sender, reply)
        assert f"Only senders in {domain}" in reply
    subject = _send(f"{member.uid}@{domain}", f"staff@{domain}")
    assert _count(member.uid, subject) == 1


def test_flag_changes_apply_at_once_without_reload(domain: str, unique: Callable[[str], str]) -> None:
    member = make_user(domain, unique("mem"), mailbox=True)
    dn = alias_create(actor=ACTOR, domain=domain, name="switch", members=[f"{member.uid}@{domain}"])
    assert _rcpt(REMOTE, f"switch@{domain}")[0] >= 500
    alias_update(
        actor=ACTOR, dn=dn, members=[f"{member.uid}@{domain}"], open_membership=True, restricted=False
    )
    assert _rcpt(REMOTE, f"switch@{domain}")[0] == 250
    alias_update(
        actor=ACTOR, dn=dn, members=[f"{member.uid}@{domain}"], open_membership=False, restricted=True
    )
    assert _rcpt(f"x@{_other_domain()}", f"switch@{domain}")[0] >= 500
    assert _rcpt(f"{member.uid}@{domain}", f"switch@{domain}")[0] == 250


def test_external_member_is_relayed(domain: str, unique: Callable[[str], str]) -> None:
    """An external member leaves through the relay (the stack's relay port); the local one still gets it."""
    member = make_user(domain, unique("mem"), mailbox=True)
    alias_create(
        actor=ACTOR,
        domain=domain,
        name="mixed",
        members=[f"{member.uid}@{domain}", "partner@remote.example"],
        open_membership=True,
    )
    subject = _send(REMOTE, f"mixed@{domain}")
    assert _count(member.uid, subject) == 1
