"""The stack's ProFTPD: directory accounts log in with their password (mod_ldap, a bind as the account), each
gets a home of its own at the first login and stays jailed in it, wrong passwords and disabled accounts are
refused, and a configuration change is validated by proftpd -t and taken by reload().

Accounts are made the way the console makes them (accounts.services), logins with ftplib against the session
stack's real ProFTPD.
"""

from __future__ import annotations

import ftplib
import io
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from accounts import services
from accounts.services import users as user_services
from mailadmin.actor import Actor
from mailadmin.configfiles import atomic_write
from mailadmin.directory import dit
from mailadmin.stack import Stack, StackError
from mailadmin.stack.ftp import FILE_OWNER, Proftpd

ACTOR = Actor.system("tests")
PASSWORD = "Ftp-pass-word-1"
FREEBUSY = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VFREEBUSY\r\nEND:VFREEBUSY\r\nEND:VCALENDAR\r\n"


@pytest.fixture
def proftpd(stack: Stack) -> Proftpd:
    svc = stack.service("proftpd")
    assert isinstance(svc, Proftpd)
    return svc


@pytest.fixture
def account(domain: str, unique: Callable[[str], str]) -> Callable[[], tuple[str, str]]:
    """Makes a mail account in the test's domain: (login, DN)."""

    def make() -> tuple[str, str]:
        uid = unique("ftp")
        org = dit.organization_dn(domain, domain)
        dn = services.user_create(
            actor=ACTOR, container_dn=org, uid=uid, password=PASSWORD, last_name="Ftp", create_mailbox=False
        )
        return uid, dn

    return make


@pytest.fixture
def session(proftpd: Proftpd) -> Iterator[Callable[[str, str], ftplib.FTP]]:
    opened: list[ftplib.FTP] = []

    def login(uid: str, password: str) -> ftplib.FTP:
        client = ftplib.FTP(timeout=10)  # noqa: S321 - the loopback server under test
        opened.append(client)
        assert client.connect("127.0.0.1", proftpd.port()).startswith("220")
        client.login(uid, password)
        return client

    yield login
    for client in opened:
        client.close()


def store(client: ftplib.FTP, name: str, data: bytes) -> None:
    assert client.storbinary(f"STOR {name}", io.BytesIO(data)).startswith("226")


def fetch(client: ftplib.FTP, name: str) -> bytes:
    got = io.BytesIO()
    client.retrbinary(f"RETR {name}", got.write)
    return got.getvalue()


def test_login_store_and_read_back_in_the_own_home(
    proftpd: Proftpd, account: Callable[[], tuple[str, str]], session: Callable[[str, str], ftplib.FTP]
) -> None:
    uid, _ = account()
    home = proftpd.layout.freebusy / uid
    assert not home.exists()  # made at the first login
    client = session(uid, PASSWORD)
    assert client.pwd() == "/"
    store(client, f"{uid}.ifb", FREEBUSY)
    assert fetch(client, f"{uid}.ifb") == FREEBUSY
    store(client, f"{uid}.ifb", FREEBUSY + FREEBUSY)  # free/busy clients overwrite the same file
    assert fetch(client, f"{uid}.ifb") == FREEBUSY + FREEBUSY
    client.quit()
    on_disk = home / f"{uid}.ifb"
    assert on_disk.read_bytes() == FREEBUSY + FREEBUSY
    assert on_disk.owner() == FILE_OWNER and home.owner() == FILE_OWNER
    assert home.stat().st_mode & 0o777 == 0o700


def test_the_session_cannot_leave_its_home(
    proftpd: Proftpd, account: Callable[[], tuple[str, str]], session: Callable[[str, str], ftplib.FTP]
) -> None:
    uid, _ = account()
    client = session(uid, PASSWORD)
    client.cwd("..")
    assert client.pwd() == "/"
    client.cwd("/../..")
    assert client.pwd() == "/"
    with pytest.raises(ftplib.error_perm, match="^550"):
        client.cwd(str(proftpd.layout.root))
    with pytest.raises(ftplib.error_perm, match="^550"):
        fetch(client, "../../proftpd.conf")
    assert client.nlst() == []


def test_a_wrong_password_is_refused(
    account: Callable[[], tuple[str, str]], session: Callable[[str, str], ftplib.FTP]
) -> None:
    uid, _ = account()
    with pytest.raises(ftplib.error_perm, match="^530"):
        session(uid, "Wrong-pass-word-1")
    with pytest.raises(ftplib.error_perm, match="^530"):
        session(f"nobody-{uid}", PASSWORD)
    with pytest.raises(ftplib.error_perm, match="^530"):
        session("root", PASSWORD)  # no system account logs in (AuthOrder mod_ldap.c)


def test_a_second_user_cannot_see_the_first_users_file(
    account: Callable[[], tuple[str, str]], session: Callable[[str, str], ftplib.FTP]
) -> None:
    first, _ = account()
    second, _ = account()
    one = session(first, PASSWORD)
    store(one, "busy.ifb", FREEBUSY)
    two = session(second, PASSWORD)
    assert two.nlst() == []
    for path in ("busy.ifb", f"../{first}/busy.ifb", f"/{first}/busy.ifb"):
        with pytest.raises(ftplib.error_perm, match="^550"):
            fetch(two, path)
    assert fetch(one, "busy.ifb") == FREEBUSY


def test_a_disabled_account_cannot_log_in(
    account: Callable[[], tuple[str, str]], session: Callable[[str, str], ftplib.FTP]
) -> None:
    uid, dn = account()
    session(uid, PASSWORD).quit()
    user_services.user_disable(actor=ACTOR, dn=dn)
    with pytest.raises(ftplib.error_perm, match="^530"):
        session(uid, PASSWORD)
    user_services.user_enable(actor=ACTOR, dn=dn)
    session(uid, PASSWORD).quit()


def test_smoke_logs_in_stores_and_reads_back(
    proftpd: Proftpd, account: Callable[[], tuple[str, str]]
) -> None:
    uid, _ = account()
    banner = proftpd.smoke()
    assert banner.startswith(f"proftpd answers at 127.0.0.1:{proftpd.port()}: 220")
    assert banner.endswith(f"reads ou=domains,{proftpd.ctx.base_dn} at {proftpd.ctx.ldap_uri}")
    said = proftpd.smoke(uid, PASSWORD)
    assert said.startswith(f"{uid} logged in") and "home /" in said
    assert list((proftpd.layout.freebusy / uid).iterdir()) == []  # the smoke test cleans up
    with pytest.raises(StackError, match="login .* failed: 530"):
        proftpd.smoke(uid, "Wrong-pass-word-1")


def test_the_bind_password_file_is_root_only(proftpd: Proftpd) -> None:
    conf = proftpd.config_path("proftpd.conf")
    assert conf.stat().st_mode & 0o777 == 0o640
    assert (conf.owner(), conf.group()) == ("root", "root")
    assert proftpd.render(proftpd.stored())["proftpd.conf"] == conf.read_text()


def test_a_broken_value_is_refused_with_proftpd_s_message(proftpd: Proftpd, tmp_path: Path) -> None:
    atomic_write(tmp_path / "proftpd.conf", proftpd.render({"MaxInstances": "abc"})["proftpd.conf"])
    with pytest.raises(StackError, match="MaxInstances: argument must be 'none' or a number"):
        proftpd.validate_dir(tmp_path)


@pytest.fixture
def restored(proftpd: Proftpd) -> Iterator[Proftpd]:
    """Whatever a test writes into proftpd.conf, the stored values' file is back (and loaded) afterwards."""
    yield proftpd
    text = proftpd.render(proftpd.stored())["proftpd.conf"]
    atomic_write(proftpd.config_path("proftpd.conf"), text, mode=0o640, group="root")
    proftpd.reload()


def install(proftpd: Proftpd, settings: dict[str, str]) -> None:
    text = proftpd.render({**proftpd.stored(), **settings})["proftpd.conf"]
    atomic_write(proftpd.config_path("proftpd.conf"), text, mode=0o640, group="root")
    proftpd.reload()


def test_a_changed_setting_is_seen_after_reload(restored: Proftpd) -> None:
    install(restored, {"ServerName": "Changed free/busy"})
    with ftplib.FTP(timeout=10) as client:  # noqa: S321 - the loopback server under test
        assert client.connect("127.0.0.1", restored.port()).startswith("220 Changed free/busy ready")
    assert restored.values_of(None)["ServerName"] == "Changed free/busy"


def test_smoke_fails_when_the_service_account_cannot_bind(restored: Proftpd) -> None:
    install(restored, {"LDAPBindPassword": "Not-the-password-1"})
    with pytest.raises(StackError, match="Invalid credentials") as failed:
        restored.smoke()
    assert "Not-the-password-1" not in str(failed.value)
