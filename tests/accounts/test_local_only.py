"""ACC-07 options "Send only local mail" and "Receive only local mail", enforced by Postfix.

Everything is proved with real SMTP sessions against the stack's Postfix (plain port from mynetworks, and the
submission port with AUTH PLAIN through saslauthd) and, where mail is allowed, by the message arriving in the
INBOX over IMAP. The flags are set straight in LDAP, as the user form will; Postfix reads them through the
ldap: tables the stack rendered, so no reload is involved.
"""

from __future__ import annotations

import os
import smtplib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from imapclient import IMAPClient

from accounts.services.containers import domain_create
from accounts.services.users import user_create
from mailadmin import directory, postfix
from mailadmin.actor import Actor
from mailadmin.configfiles.postfix_tables import LdapTable, install_ldap_table
from mailadmin.directory import dit

pytestmark = pytest.mark.django_db
PASSWORD = "Local-only-pass-1"
REMOTE = "someone@remote.example"


@dataclass(frozen=True)
class User:
    uid: str
    dn: str
    mail: str


@dataclass(frozen=True)
class Cast:
    sender_lo: User  # mailSendLocalOnly, in domain A
    free: User  # no flags, in domain A
    receiver_lo: User  # mailReceiveLocalOnly, in domain B, with a mailAlias
    peer: User  # no flags, in domain B
    alias: str  # receiver_lo's mailAlias


def _user(domain: str, uid: str) -> User:
    dn = user_create(
        actor=Actor.system("tests"),
        container_dn=dit.organization_dn(domain, domain),
        uid=uid,
        password=PASSWORD,
        last_name="Local",
        create_mailbox=True,
    )
    return User(uid, dn, f"{uid}@{domain}")


@pytest.fixture
def cast(domain: str, unique: Callable[[str], str]) -> Cast:
    other = f"t{uuid.uuid4().hex[:10]}.test"
    domain_create(actor=Actor.system("tests"), name=other)
    sender_lo = _user(domain, unique("slo"))
    receiver_lo = _user(other, unique("rlo"))
    alias = f"{unique('alias')}@{other}"
    directory.modify(sender_lo.dn, [directory.replace("mailSendLocalOnly", True)])
    directory.modify(
        receiver_lo.dn,
        [directory.replace("mailReceiveLocalOnly", True), directory.add_values("mailAlias", alias)],
    )
    return Cast(sender_lo, _user(domain, unique("free")), receiver_lo, _user(other, unique("peer")), alias)


def _smtp() -> smtplib.SMTP:
    smtp = smtplib.SMTP(settings.SMTP_HOST, int(settings.SMTP_PORT), timeout=15)
    smtp.ehlo()
    return smtp


def _submission(user: User) -> smtplib.SMTP:
    smtp = smtplib.SMTP(settings.SMTP_HOST, int(os.environ["SUBMISSION_PORT"]), timeout=15)
    smtp.ehlo()
    smtp.user, smtp.password = user.uid, PASSWORD
    code, _ = smtp.auth("PLAIN", smtp.auth_plain)  # saslauthd -> LDAP bind as the user
    assert code == 235
    return smtp


def _rcpt(smtp: smtplib.SMTP, sender: str, recipient: str) -> tuple[int, str]:
    """MAIL FROM + RCPT TO on a fresh transaction; the RCPT reply (sender refusals arrive here too)."""
    smtp.rset()
    code, reply = smtp.mail(sender)
    assert code == 250, reply
    code, reply = smtp.rcpt(recipient)
    return code, reply.decode(errors="replace")


def _deliver(smtp: smtplib.SMTP, sender: str, recipient: str) -> str:
    subject = f"local-only {uuid.uuid4().hex}"
    smtp.rset()
    refused = smtp.sendmail(sender, [recipient], f"Subject: {subject}\r\nFrom: {sender}\r\n\r\nhello\r\n")
    assert refused == {}
    return subject


def _arrives(user: User, subject: str, timeout: float = 30.0) -> bool:
    client = IMAPClient(settings.IMAP_HOST, port=int(settings.IMAP_PORT), ssl=False, timeout=10)
    try:
        client.login(user.uid, PASSWORD)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            client.select_folder("INBOX", readonly=True)
            if client.search(["SUBJECT", subject]):
                return True
            time.sleep(0.25)
        return False
    finally:
        client.logout()


# --- Send only local mail ---------------------------------------------------------------------------------
def test_submission_refuses_a_foreign_recipient_and_delivers_a_local_one(cast: Cast) -> None:
    with _submission(cast.sender_lo) as smtp:
        code, reply = _rcpt(smtp, cast.sender_lo.mail, REMOTE)
        assert code >= 500
        assert "only to local domains" in reply
        subject = _deliver(smtp, cast.sender_lo.mail, cast.peer.mail)  # another hosted domain is local
    assert _arrives(cast.peer, subject)


def test_submission_does_not_let_a_local_only_login_claim_another_address(cast: Cast) -> None:
    with _submission(cast.sender_lo) as smtp:
        for claimed in (cast.free.mail, REMOTE):
            code, reply = _rcpt(smtp, claimed, REMOTE)
            assert code >= 500
            assert "not owned by user" in reply
        # even with a local recipient: the address belongs to someone else
        code, _ = _rcpt(smtp, cast.free.mail, cast.peer.mail)
        assert code >= 500


def test_submission_restricts_by_login_even_with_the_null_sender(cast: Cast) -> None:
    with _submission(cast.sender_lo) as smtp:
        code, reply = _rcpt(smtp, "", REMOTE)
    assert code >= 500
    assert "only to local domains" in reply


def test_plain_smtp_from_mynetworks_restricts_by_envelope_sender(cast: Cast) -> None:
    with _smtp() as smtp:
        code, reply = _rcpt(smtp, cast.sender_lo.mail, REMOTE)
        assert code >= 500
        assert "only to local domains" in reply
        subject = _deliver(smtp, cast.sender_lo.mail, cast.free.mail)
    assert _arrives(cast.free, subject)


def test_port_25_logs_no_sasl_warning_per_rcpt(cast: Cast) -> None:
    """The login check belongs to submission: on port 25 (no SASL) smtpd would warn for every RCPT."""
    log = Path(os.environ["POSTFIX_MAILLOG"])
    offset = log.stat().st_size
    with _smtp() as smtp:
        code, _ = _rcpt(smtp, cast.free.mail, cast.peer.mail)
        assert code == 250
        smtp.rset()
    deadline = time.monotonic() + 10
    while True:  # the stack's log catcher writes smtpd's lines a moment later: wait for the disconnect
        with log.open("rb") as f:
            f.seek(offset)
            said = f.read().decode(errors="replace")
        if "disconnect from" in said or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert "disconnect from" in said
    assert "check_sasl_access" not in said


def test_an_account_without_the_flag_may_send_anywhere(cast: Cast) -> None:
    with _submission(cast.free) as smtp:
        code, _ = _rcpt(smtp, cast.free.mail, REMOTE)  # queued for the (dead) relay
        assert code == 250
        smtp.rset()


def test_unknown_local_recipients_are_still_refused_for_a_local_only_sender(cast: Cast, domain: str) -> None:
    # The class answers OK for hosted domains; smtpd_reject_unlisted_recipient must still apply after it.
    with _submission(cast.sender_lo) as smtp:
        code, reply = _rcpt(smtp, cast.sender_lo.mail, f"nobody-{uuid.uuid4().hex[:8]}@{domain}")
    assert code == 550, reply


# --- Receive only local mail ------------------------------------------------------------------------------
def test_a_foreign_sender_is_refused_at_rcpt_for_every_address_of_the_account(cast: Cast) -> None:
    delivery = f"{cast.receiver_lo.uid}@{settings.MAILBOX_DOMAIN}"
    with _smtp() as smtp:
        for recipient in (cast.receiver_lo.mail, cast.alias, delivery):
            code, reply = _rcpt(smtp, REMOTE, recipient)
            assert code >= 500, recipient
            assert "only from senders in local domains" in reply
        code, _ = _rcpt(smtp, "", cast.receiver_lo.mail)  # a foreign bounce, too
        assert code >= 500
        # the account next door (same domain, no flag) still takes foreign mail
        code, _ = _rcpt(smtp, REMOTE, cast.peer.mail)
        assert code == 250
        smtp.rset()


def test_a_local_sender_is_delivered(cast: Cast) -> None:
    with _smtp() as smtp:
        subject = _deliver(smtp, cast.free.mail, cast.alias)  # domain A -> an address in domain B
    assert _arrives(cast.receiver_lo, subject)
    with _submission(cast.peer) as smtp:
        subject = _deliver(smtp, cast.peer.mail, cast.receiver_lo.mail)
    assert _arrives(cast.receiver_lo, subject)


def test_the_flags_are_read_live_from_ldap(cast: Cast) -> None:
    directory.modify(cast.receiver_lo.dn, [directory.replace("mailReceiveLocalOnly", None)])
    directory.modify(cast.free.dn, [directory.replace("mailSendLocalOnly", True)])
    with _smtp() as smtp:
        code, _ = _rcpt(smtp, REMOTE, cast.receiver_lo.mail)
        assert code == 250
        code, _ = _rcpt(smtp, cast.free.mail, REMOTE)
        assert code >= 500
        smtp.rset()


# --- the tables --------------------------------------------------------------------------------------------
def _table(name: str) -> str:
    return f"ldap:{settings.POSTFIX_CONFIG_DIR}/{name}.cf"


def test_the_tables_answer_postmap(cast: Cast) -> None:
    conf = settings.POSTFIX_CONFIG_DIR
    assert postfix.postmap_query(cast.sender_lo.mail, _table("sender-logins"), conf) == cast.sender_lo.uid
    assert postfix.postmap_query(cast.peer.mail, _table("local-domains"), conf) == "OK"
    assert postfix.postmap_query(REMOTE, _table("local-domains"), conf) is None
    assert (
        postfix.postmap_query(cast.sender_lo.uid, _table("send-local-only-logins"), conf)
        == "mailadmin_send_local_only"
    )
    assert postfix.postmap_query(cast.free.uid, _table("send-local-only-logins"), conf) is None
    assert (
        postfix.postmap_query(cast.sender_lo.mail, _table("send-local-only-senders"), conf)
        == "mailadmin_send_local_only"
    )
    assert (
        postfix.postmap_query(cast.alias, _table("receive-local-only"), conf)
        == "mailadmin_receive_local_only"
    )
    delivery = f"{cast.receiver_lo.uid}@{settings.MAILBOX_DOMAIN}"
    assert (
        postfix.postmap_query(delivery, _table("receive-local-only-mailboxes"), conf)
        == "mailadmin_receive_local_only"
    )


def _probe_table(**changes: str) -> LdapTable:
    values = {
        "name": "probe",
        "server_uri": settings.LDAP_URI,
        "bind_dn": str(settings.LDAP_SERVICE_DNS[0]),
        "bind_pw": "wrong-password",
        "search_base": dit.domains_dn(),
        "query_filter": "(&(objectClass=mailDomain)(dc=%d))",
        "result_attribute": "dc",
    }
    values.update(changes)
    return LdapTable(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "table",
    [
        pytest.param(_probe_table, id="bind-refused"),
        pytest.param(
            lambda: _probe_table(bind_pw=os.environ["LDAP_POSTFIX_PASSWORD"], query_filter="(objectClass=*)"),
            id="matches-everything",
        ),
        pytest.param(
            lambda: _probe_table(bind_pw=os.environ["LDAP_POSTFIX_PASSWORD"], query_filter="(dc=%d"),
            id="bad-filter",
        ),
    ],
)
def test_a_table_that_fails_its_probe_does_not_replace_the_old_one(
    table: Callable[[], LdapTable], tmp_path: Path
) -> None:
    target = tmp_path / "probe.cf"
    target.write_text("the old table\n")
    with pytest.raises(postfix.PostfixError):
        install_ldap_table(table(), target, config_dir=Path(settings.POSTFIX_CONFIG_DIR))
    assert target.read_text() == "the old table\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["probe.cf"]


def test_a_good_table_is_installed_root_postfix_0640(tmp_path: Path, domain: str) -> None:
    target = tmp_path / "probe.cf"
    table = _probe_table(bind_pw=os.environ["LDAP_POSTFIX_PASSWORD"], result_format="OK")
    install_ldap_table(table, target, config_dir=Path(settings.POSTFIX_CONFIG_DIR))
    assert target.stat().st_mode & 0o777 == 0o640
    assert target.group() == "postfix"
    assert postfix.postmap_query(f"x@{domain}", f"ldap:{target}", settings.POSTFIX_CONFIG_DIR) == "OK"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["probe.cf"]
