"""A disabled account has no access anywhere, and a session follows its account from one request to the next.

Tried from outside: the console's login page, IMAP, SMTP AUTH on the submission port and RCPT on port 25.
Open sessions end at their next request once the account is disabled or deleted, or its password is reset
by an administrator; a role taken away is gone from the very next request.
"""

from __future__ import annotations

import imaplib
import os
import smtplib
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client, override_settings

from accounts import services
from accounts.services import roles
from accounts.services import users as user_services
from mailadmin.actor import Actor
from mailadmin.directory import dit
from tests import ldaptool
from tests.accounts import usertool
from tests.conftest import Persona, Personas

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("tests")
PASSWORD = "Session-pass-1"
Login = Callable[[Persona], Client]


@pytest.fixture(autouse=True)
def _fresh_throttle() -> None:
    cache.clear()


def _q(dn: str) -> str:
    return "?" + urlencode({"dn": dn})


def _user(domain: str, uid: str, *, container: str | None = None, mailbox: bool = True) -> Persona:
    container = container or dit.organization_dn(domain, domain)
    services.user_create(
        actor=ACTOR,
        container_dn=container,
        uid=uid,
        password=PASSWORD,
        last_name="Session",
        create_mailbox=mailbox,
    )
    return Persona(uid, uid, dit.account_dn(container, uid), PASSWORD)


def _console_login(persona: Persona) -> tuple[int, str]:
    response = Client().post("/login/", {"username": persona.uid, "password": persona.password})
    return response.status_code, response.content.decode()


def _imap_ok(persona: Persona) -> bool:
    with imaplib.IMAP4(settings.IMAP_HOST, settings.IMAP_PORT, timeout=10) as conn:
        try:
            conn.login(persona.uid, persona.password)
        except imaplib.IMAP4.error:
            return False
        conn.logout()
        return True


def _smtp_auth_ok(persona: Persona) -> bool:
    with smtplib.SMTP(settings.SMTP_HOST, int(os.environ["SUBMISSION_PORT"]), timeout=15) as smtp:
        smtp.ehlo()
        try:
            smtp.login(persona.uid, persona.password)
        except smtplib.SMTPAuthenticationError:
            return False
        return True


def _domain_admin_session(domain: str, uid: str, login: Login) -> tuple[Persona, Client, str]:
    """A new domain administrator of `domain`, logged in, and the domain's browser page, which they see."""
    dana = _user(domain, uid, mailbox=False)
    services.domain_admin_add(actor=ACTOR, domain=domain, account_dn=dana.dn)
    session = login(dana)
    browser = "/accounts/browser/" + _q(dit.domain_dn(domain))
    assert session.get(browser).status_code == 200
    return dana, session, browser


def _logged_in(client: Client) -> bool:
    response = client.get("/")
    return response.status_code == 200


def test_disabled_user_is_refused_by_console_imap_smtp_auth_and_rcpt(
    personas: Personas, login: Login, domain: str, unique: Callable[[str], str]
) -> None:
    user = _user(domain, unique("dis"))
    address = f"{user.uid}@{domain}"
    assert _console_login(user)[0] == 302 and _imap_ok(user) and _smtp_auth_ok(user)
    assert usertool.rcpt(address) == 250
    session = login(user)
    assert _logged_in(session)

    admin = login(personas.admin)
    assert admin.post("/accounts/users/disable/" + _q(user.dn)).status_code == 302
    assert ldaptool.attribute(user.dn, "mailEnabled") == ["FALSE"]

    status, page = _console_login(user)
    assert status == 401 and "This account is disabled" in page
    assert not _imap_ok(user)
    assert not _smtp_auth_ok(user)
    assert usertool.rcpt(address) == 550
    # The session that was open ends at its next request.
    response = session.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")

    assert admin.post("/accounts/users/enable/" + _q(user.dn)).status_code == 302
    assert _console_login(user)[0] == 302 and _imap_ok(user) and _smtp_auth_ok(user)
    assert usertool.rcpt(address) == 250


def test_disabled_domain_administrator_loses_every_power_at_once(
    personas: Personas, login: Login, domain: str, unique: Callable[[str], str]
) -> None:
    dana, session, browser = _domain_admin_session(domain, unique("dana"), login)
    user_services.user_disable(actor=ACTOR, dn=dana.dn)
    assert session.get(browser)["Location"].startswith("/login/")
    assert _console_login(dana)[0] == 401
    user_services.user_enable(actor=ACTOR, dn=dana.dn)
    assert _console_login(dana)[0] == 302


def test_disabled_resource_cannot_log_in(domain: str, unique: Callable[[str], str]) -> None:
    uid = unique("room")
    container = dit.organization_dn(domain, domain)
    services.user_create(
        actor=ACTOR,
        container_dn=container,
        uid=uid,
        password=PASSWORD,
        last_name="Room",
        resource_kind="room",
    )
    room = Persona(uid, uid, dit.account_dn(container, uid), PASSWORD)
    assert _console_login(room)[0] == 302 and _imap_ok(room)
    user_services.user_disable(actor=ACTOR, dn=room.dn)
    assert _console_login(room)[0] == 401 and not _imap_ok(room)


def test_console_only_account_is_disabled_through_ppolicy(
    personas: Personas, login: Login, unique: Callable[[str], str]
) -> None:
    """An account in ou=admins has no mailEnabled: Disable locks it in ppolicy, so slapd refuses its binds."""
    uid = unique("con")
    dn = services.user_create(
        actor=ACTOR,
        container_dn=dit.admins_dn(),
        uid=uid,
        password=PASSWORD,
        last_name="Console",
        create_mailbox=False,
    )
    other = Persona(uid, uid, dn, PASSWORD)
    session = login(other)
    assert _logged_in(session)
    admin = login(personas.admin)
    response = admin.post("/accounts/users/disable/" + _q(dn), HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "is disabled: no login." in response.content.decode()
    assert ldaptool.attribute(dn, "pwdAccountLockedTime") == ["000001010000Z"]
    assert not ldaptool.bind_ok(dn, PASSWORD)  # slapd itself refuses every bind
    status, page = _console_login(other)
    assert status == 401 and "This account is disabled" in page
    assert session.get("/")["Location"].startswith("/login/")
    assert ">disabled<" in admin.get("/accounts/users/" + _q(dn)).content.decode()
    assert admin.post("/accounts/users/enable/" + _q(dn)).status_code == 302
    assert ldaptool.attribute(dn, "pwdAccountLockedTime") == []
    assert _console_login(other)[0] == 302


def test_a_disabled_administrator_loses_the_console(
    personas: Personas, login: Login, unique: Callable[[str], str]
) -> None:
    uid = unique("adm")
    dn = roles.administrator_create(actor=ACTOR, uid=uid, password=PASSWORD, last_name="Admin")
    other = Persona(uid, uid, dn, PASSWORD)
    session = login(other)
    assert session.get("/tools/audit/").status_code == 200
    # Another administrator's account is the manager's business: alladmin gets 404 and nothing changes.
    assert login(personas.admin).post("/accounts/users/disable/" + _q(dn)).status_code == 404
    assert ldaptool.attribute(dn, "pwdAccountLockedTime") == []
    user_services.user_disable(actor=ACTOR, dn=dn)  # the manager (the console itself here)
    assert session.get("/tools/audit/")["Location"].startswith("/login/")
    assert _console_login(other)[0] == 401
    user_services.user_enable(actor=ACTOR, dn=dn)
    assert _console_login(other)[0] == 302


def test_nobody_disables_themselves_or_the_manager(personas: Personas, login: Login) -> None:
    admin = login(personas.admin)
    response = admin.post("/accounts/users/disable/" + _q(personas.admin.dn), follow=True)
    assert "You cannot disable your own account" in response.content.decode()
    assert ldaptool.attribute(personas.admin.dn, "pwdAccountLockedTime") == []
    assert _logged_in(admin)


def test_password_reset_by_an_administrator_ends_the_open_sessions(
    personas: Personas, login: Login, domain: str, unique: Callable[[str], str]
) -> None:
    user = _user(domain, unique("rst"), mailbox=False)
    first, second = login(user), login(user)
    assert _logged_in(first) and _logged_in(second)
    admin = login(personas.admin)
    response = admin.post(
        "/accounts/password-reset/" + _q(user.dn),
        {"password": "Reset-by-admin-1", "password2": "Reset-by-admin-1", "must_change": "on"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    for client in (first, second):
        assert client.get("/")["Location"].startswith("/login/")
    assert _logged_in(admin)


def test_a_role_taken_away_is_gone_from_the_next_request(
    personas: Personas, login: Login, domain: str, unique: Callable[[str], str]
) -> None:
    dana, session, browser = _domain_admin_session(domain, unique("dana"), login)
    services.domain_admin_remove(actor=ACTOR, domain=domain, account_dn=dana.dn)
    assert session.get(browser).status_code == 404  # no 30-second window
    assert _logged_in(session)  # still logged in, as a plain user


def test_a_deleted_account_session_ends(login: Login, domain: str, unique: Callable[[str], str]) -> None:
    user = _user(domain, unique("del"), mailbox=False)
    session = login(user)
    assert _logged_in(session)
    services.user_delete(actor=ACTOR, dn=user.dn)
    assert session.get("/")["Location"].startswith("/login/")


def test_fault_a_500_leaves_its_traceback_in_var_log(
    personas: Personas, login: Login, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fault injection (a server cannot be made to fail like this on demand): the session check raises."""
    client = login(personas.user)
    log = Path(settings.LOG_DIR) / "errors.log"
    before = log.stat().st_size if log.exists() else 0

    def broken(dn: str) -> object:
        raise RuntimeError("injected fault 7f3a")

    monkeypatch.setattr("mailadmin.directory.standing_for", broken)
    client.raise_request_exception = False
    response = client.get("/")
    assert response.status_code == 500
    written = log.read_text(encoding="utf-8", errors="replace")[before:]
    assert "Internal Server Error: /" in written and "Traceback" in written
    assert "injected fault 7f3a" in written


def test_a_directory_that_does_not_answer_is_a_503_not_a_500(personas: Personas, login: Login) -> None:
    """slapd unreachable (nothing listens on the port): the session cannot be checked, so nothing is served
    and nothing is changed — a page that says so, status 503."""
    client = login(personas.admin)
    with override_settings(LDAP_URI="ldap://127.0.0.1:9"):
        response = client.get("/accounts/browser/")
    assert response.status_code == 503
    assert "does not answer" in response.content.decode()
    assert _logged_in(client)  # back when slapd answers, still logged in


def test_with_the_mail_store_down_no_page_answers_500(personas: Personas, login: Login) -> None:
    """Cyrus unreachable: pages that need it say so (in the page, or a 503), none answers 500."""
    client = login(personas.admin)
    client.raise_request_exception = False
    pages = [
        "/folders/",
        "/accounts/users/" + _q(personas.user.dn),
        "/accounts/users/quota/" + _q(personas.user.dn),
        "/accounts/users/delete/" + _q(personas.user.dn),
        "/folders/user/" + _q(personas.user.dn),
        "/accounts/reconcile/",
    ]
    with override_settings(IMAP_PORT=9):
        for page in pages:
            response = client.get(page)
            assert response.status_code in (200, 404, 503), (page, response.status_code)
