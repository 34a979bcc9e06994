"""Login, the first-login password change of `admin`, throttling, lockout, self-service password change."""

from __future__ import annotations

import imaplib
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client, override_settings

from accounts import services
from accounts.services import roles
from mailadmin.actor import Actor
from mailadmin.directory import dit
from tests import ldaptool
from tests.conftest import Persona

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_throttle() -> None:
    cache.clear()


def imap_login_ok(user: str, password: str) -> bool:
    with imaplib.IMAP4(settings.IMAP_HOST, settings.IMAP_PORT, timeout=10) as conn:
        try:
            conn.login(user, password)
        except imaplib.IMAP4.error:
            return False
        conn.logout()
        return True


def make_user(domain: str, uid: str, password: str = "Start-pass-1", mailbox: bool = False) -> Persona:
    container = dit.organization_dn(domain, domain)
    services.user_create(
        actor=Actor.system("tests"),
        container_dn=container,
        uid=uid,
        password=password,
        last_name="Tester",
        create_mailbox=mailbox,
    )
    return Persona(uid, uid, dit.account_dn(container, uid), password)


def test_login_page_renders_with_labels(client: Client) -> None:
    page = client.get("/login/").content.decode()
    assert 'for="id_username"' in page and "Login/User name" in page and 'for="id_password"' in page


def test_anonymous_is_sent_to_login(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_admin_must_change_generated_password_at_first_login(
    stack: object, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("MAILADMIN_ADMIN_PASSWORD", raising=False)
    admin_dn = dit.account_dn(dit.admins_dn(), "admin")
    if ldaptool.dump(
        admin_dn, scope="base"
    ).strip():  # another test made it: start from a first install again
        services.user_delete(actor=Actor.system("tests"), dn=admin_dn)
    call_command("ensure_admin")
    out = capsys.readouterr().out
    found = re.search(r"password: (\S+)", out)
    assert found, out
    password = found.group(1)
    assert ldaptool.attribute(admin_dn, "pwdReset") == ["TRUE"]
    # A second run creates nothing and prints no password.
    call_command("ensure_admin")
    assert "password:" not in capsys.readouterr().out.lower()

    client = Client()
    response = client.post("/login/", {"username": "admin", "password": password})
    assert response.status_code == 302 and response["Location"] == "/account/password/"
    assert client.get("/")["Location"] == "/account/password/"  # nothing else before the change
    assert client.get("/tools/audit/")["Location"] == "/account/password/"
    response = client.post(
        "/account/password/",
        {"old_password": password, "new_password": "Admin-new-pass-2", "new_password2": "Admin-new-pass-2"},
    )
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200
    assert ldaptool.attribute(admin_dn, "pwdReset") == []  # slapd cleared it
    assert ldaptool.bind_ok(admin_dn, "Admin-new-pass-2") and not ldaptool.bind_ok(admin_dn, password)
    assert ldaptool.attribute(admin_dn, "userPassword")[0].startswith("{SSHA}")


def test_wrong_password_is_refused_clearly(domain: str, unique: Callable[[str], str]) -> None:
    user = make_user(domain, unique("w"))
    response = Client().post("/login/", {"username": user.uid, "password": "not-it"})
    assert response.status_code == 401
    assert "Wrong login name or password." in response.content.decode()


def test_hostile_login_name_never_reaches_the_directory(db: None) -> None:
    for name in ("*)(uid=*", "admin)(|(uid=*", "x,ou=admins", "a\x00b", "é" * 300):
        response = Client().post("/login/", {"username": name, "password": "x"})
        assert response.status_code == 401
        assert 'role="alert"' in response.content.decode()


def test_five_wrong_passwords_throttle_the_account_from_that_address(
    domain: str, unique: Callable[[str], str]
) -> None:
    user = make_user(domain, unique("t"))
    client = Client(REMOTE_ADDR="192.0.2.10")
    for _ in range(settings.LOGIN_THROTTLE_FAILURES):
        assert client.post("/login/", {"username": user.uid, "password": "wrong"}).status_code == 401
    # Now even the right password is refused from there, without asking the directory.
    response = client.post("/login/", {"username": user.uid, "password": user.password})
    assert response.status_code == 401
    assert "Too many failed logins" in response.content.decode()
    # The guesser locked out nobody but themselves: the same account from its owner's address logs in.
    owner = Client(REMOTE_ADDR="198.51.100.7")
    assert owner.post("/login/", {"username": user.uid, "password": user.password}).status_code == 302
    # Another account from another address is not affected either.
    other = make_user(domain, unique("o"))
    assert (
        Client(REMOTE_ADDR="192.0.2.11")
        .post("/login/", {"username": other.uid, "password": other.password})
        .status_code
        == 302
    )


def test_one_address_guessing_many_accounts_is_throttled(domain: str, unique: Callable[[str], str]) -> None:
    client = Client(REMOTE_ADDR="192.0.2.20")
    names = [unique("n") for _ in range(settings.LOGIN_THROTTLE_IP_FAILURES)]
    for name in names:
        assert client.post("/login/", {"username": name, "password": "wrong"}).status_code == 401
    user = make_user(domain, unique("v"))
    response = client.post("/login/", {"username": user.uid, "password": user.password})
    assert response.status_code == 401 and "Too many failed logins" in response.content.decode()


def test_parallel_guesses_get_no_more_binds_than_the_limit(domain: str, unique: Callable[[str], str]) -> None:
    """Every attempt takes its place in the counter before the bind: twenty guesses sent at once reach slapd
    at most LOGIN_THROTTLE_FAILURES times (slapd records each failed bind in pwdFailureTime)."""
    user = make_user(domain, unique("par"))

    def guess(_: int) -> int:
        return (
            Client(REMOTE_ADDR="192.0.2.30")
            .post("/login/", {"username": user.uid, "password": "no"})
            .status_code
        )

    with ThreadPoolExecutor(max_workers=20) as pool:
        codes = list(pool.map(guess, range(20)))
    assert codes == [401] * 20
    failures = ldaptool.attribute(user.dn, "pwdFailureTime")
    assert 1 <= len(failures) <= settings.LOGIN_THROTTLE_FAILURES, failures
    assert not ldaptool.attribute(user.dn, "pwdAccountLockedTime")


def test_forwarded_for_counts_only_behind_a_trusted_proxy(domain: str, unique: Callable[[str], str]) -> None:
    user = make_user(domain, unique("x"))

    def attempt(client: Client, forwarded: str, password: str = "wrong") -> int:
        return client.post(
            "/login/", {"username": user.uid, "password": password}, HTTP_X_FORWARDED_FOR=forwarded
        ).status_code

    # No trusted proxy: a forged header changes nothing, every guess counts for the real address.
    direct = Client(REMOTE_ADDR="192.0.2.40")
    for n in range(settings.LOGIN_THROTTLE_FAILURES):
        assert attempt(direct, f"203.0.113.{n}") == 401
    assert attempt(direct, "203.0.113.99", user.password) == 401
    # Behind the trusted proxy, each client is its own address; a client's forged left part is ignored.
    # (Another account: ten failed binds in all would let slapd's ppolicy lock the first one.)
    user = make_user(domain, unique("y"))
    with override_settings(TRUSTED_PROXIES=["127.0.0.1", "10.0.0.0/8"]):
        proxy = Client(REMOTE_ADDR="127.0.0.1")
        for _ in range(settings.LOGIN_THROTTLE_FAILURES):
            assert attempt(proxy, "1.2.3.4, 203.0.113.50, 10.1.1.1") == 401
        assert attempt(proxy, "203.0.113.50", user.password) == 401  # that client is throttled
        assert attempt(proxy, "5.6.7.8, 203.0.113.51", user.password) == 302  # this one is not


def test_nobody_else_locks_an_administrator_out(unique: Callable[[str], str]) -> None:
    """Administrators are under the no-lockout policy: wrong binds from anywhere never lock their account in
    slapd; the console's throttle stops each guesser's own address only (decision 0011)."""
    uid = unique("boss")
    dn = roles.administrator_create(
        actor=Actor.system("tests"), uid=uid, password="Boss-pass-123", last_name="B"
    )
    assert ldaptool.attribute(dn, "pwdPolicySubentry") == [f"cn=administrators,ou=policies,{dit.base_dn()}"]
    for n in range(4):  # four guessers, each up to its own limit and beyond
        guesser = Client(REMOTE_ADDR=f"192.0.2.{60 + n}")
        for _ in range(settings.LOGIN_THROTTLE_FAILURES + 2):
            assert guesser.post("/login/", {"username": uid, "password": "wrong"}).status_code == 401
    for _ in range(12):  # and straight at slapd, past the default policy's pwdMaxFailure
        assert not ldaptool.bind_ok(dn, "wrong")
    assert not ldaptool.attribute(dn, "pwdAccountLockedTime")
    owner = Client(REMOTE_ADDR="198.51.100.60")
    assert owner.post("/login/", {"username": uid, "password": "Boss-pass-123"}).status_code == 302
    # Without the role, the default policy (lockout) applies again.
    roles.administrator_remove(actor=Actor.system("tests"), account_dn=dn)
    assert ldaptool.attribute(dn, "pwdPolicySubentry") == []


def test_ppolicy_locks_after_repeated_failed_binds(domain: str, unique: Callable[[str], str]) -> None:
    user = make_user(domain, unique("l"))
    for _ in range(10):  # the default policy's pwdMaxFailure
        assert not ldaptool.bind_ok(user.dn, "wrong")
    assert ldaptool.attribute(user.dn, "pwdAccountLockedTime")
    assert not ldaptool.bind_ok(user.dn, user.password)  # locked: even the right password fails
    response = Client().post("/login/", {"username": user.uid, "password": user.password})
    assert response.status_code == 401
    assert "locked" in response.content.decode()


def test_self_service_password_change(
    domain: str, unique: Callable[[str], str], login: Callable[[Persona], Client]
) -> None:
    user = make_user(domain, unique("s"), mailbox=True)
    assert imap_login_ok(user.uid, user.password)
    first, second = login(user), login(user)
    page = first.get("/").content.decode()
    assert "Change my password" in page and "Configuration" not in page

    # The old password is required.
    response = first.post(
        "/account/password/",
        {
            "old_password": "not-the-old-one",
            "new_password": "Fresh-pass-22",
            "new_password2": "Fresh-pass-22",
        },
    )
    assert response.status_code == 200 and imap_login_ok(user.uid, user.password)

    response = first.post(
        "/account/password/",
        {"old_password": user.password, "new_password": "Fresh-pass-22", "new_password2": "Fresh-pass-22"},
    )
    assert response.status_code == 302
    assert imap_login_ok(user.uid, "Fresh-pass-22")
    assert not imap_login_ok(user.uid, user.password)
    assert first.get("/").status_code == 200
    # The other session ended.
    assert second.get("/")["Location"].startswith("/login/")


def test_password_change_enforces_policy_length(
    domain: str, unique: Callable[[str], str], login: Callable[[Persona], Client]
) -> None:
    user = make_user(domain, unique("p"))
    client = login(user)
    response = client.post(
        "/account/password/",
        {"old_password": user.password, "new_password": "short", "new_password2": "short"},
    )
    assert response.status_code == 200 and "at least 8 characters" in response.content.decode()
    assert ldaptool.bind_ok(user.dn, user.password)


def test_logout_needs_post(login: Callable[[Persona], Client], personas: object) -> None:
    client = login(personas.user)  # type: ignore[attr-defined]
    assert client.get("/logout/").status_code == 405
    assert client.post("/logout/").status_code == 302
    assert client.get("/")["Location"].startswith("/login/")
