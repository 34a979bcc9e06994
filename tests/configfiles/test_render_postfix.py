"""manage.py render_postfix DIR: the tables and fragments for a system Postfix, written from the settings.

What it writes is what the stack's Postfix uses (test_contract.py), Postfix's own postmap answers through the
written tables for a user made by the console's services, and hostile option values are refused before any
file is written."""

from __future__ import annotations

import grp
import os
import stat
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.services.users import user_create, user_disable
from mailadmin import postfix
from mailadmin.actor import Actor
from mailadmin.configfiles import contract, is_hand_edited
from mailadmin.configfiles.postfix_maps import MAIN_FRAGMENT, MASTER_FRAGMENT, PostfixMaps
from mailadmin.directory import dit

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("tests")


@pytest.fixture
def target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A not yet existing DIR whose path Postfix may name (pytest's tmp_path may hold brackets)."""
    return tmp_path_factory.mktemp("render") / "maps"


def _password_file(tmp_path_factory: pytest.TempPathFactory, value: str) -> Path:
    path = tmp_path_factory.mktemp("secret") / "postfix.pw"
    path.write_text(value)
    return path


@pytest.fixture
def password_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _password_file(tmp_path_factory, os.environ["LDAP_POSTFIX_PASSWORD"] + "\n")


def _render(target: Path, password_file: Path, *extra: str) -> None:
    call_command("render_postfix", str(target), "--bind-password-file", str(password_file), *extra)


def test_it_writes_every_table_and_both_fragments(target: Path, password_file: Path) -> None:
    _render(target, password_file)
    postfix_gid = grp.getgrnam("postfix").gr_gid
    for spec in contract.TABLES:
        info = (target / f"{spec.name}.cf").stat()
        assert stat.S_IMODE(info.st_mode) == 0o640 and info.st_gid == postfix_gid, spec.name
    main = (target / MAIN_FRAGMENT).read_text()
    assert not is_hand_edited(main)
    assert f"virtual_mailbox_maps = ldap:{target}/mailboxes.cf\n" in main
    # the fragment is what the stack's main.cf has (test_contract.py), here naming DIR's tables
    maps = PostfixMaps(
        server_uri=str(settings.LDAP_URI),
        base_dn=str(settings.LDAP_BASE_DN),
        bind_dn=str(settings.LDAP_SERVICE_DNS[0]),
        bind_pw=os.environ["LDAP_POSTFIX_PASSWORD"],
        mailbox_domain=str(settings.MAILBOX_DOMAIN),
        table_dir=target,
    )
    lines = dict(line.split(" = ", 1) for line in main.splitlines() if not line.startswith("#"))
    assert lines == dict(maps.main_cf_settings())
    master = (target / MASTER_FRAGMENT).read_text()
    assert "spawn user=nobody argv=/usr/bin/python3 " in master
    assert "#   -o smtpd_sender_restrictions=reject_sender_login_mismatch\n" in master
    assert sorted(p.name for p in target.iterdir()) == sorted(
        [f"{spec.name}.cf" for spec in contract.TABLES] + [MAIN_FRAGMENT, MASTER_FRAGMENT]
    )


def test_postfix_answers_through_the_written_tables(target: Path, password_file: Path, domain: str) -> None:
    org = dit.organization_dn(domain, domain)
    uid = f"rp{uuid.uuid4().hex[:8]}"
    user_create(actor=ACTOR, container_dn=org, uid=uid, password="Render-pass-1", last_name="Render")
    gone = f"gone{uuid.uuid4().hex[:8]}"
    gone_dn = user_create(actor=ACTOR, container_dn=org, uid=gone, password="Render-pass-1", last_name="Gone")
    user_disable(actor=ACTOR, dn=gone_dn)
    _render(target, password_file)

    def query(key: str, table: str) -> str | None:
        return postfix.postmap_query(key, f"ldap:{target}/{table}.cf", settings.POSTFIX_CONFIG_DIR)

    delivery = f"{uid}@{settings.MAILBOX_DOMAIN}"
    assert query(domain, "domains") == domain
    assert query(f"{uid}@{domain}", "accounts") == delivery
    assert query(delivery, "mailboxes") == uid
    assert query(f"{uid}@{domain}", "sender-logins") == uid
    assert query(f"{uid}@{domain}", "local-domains") == "OK"
    assert query(f"{gone}@{domain}", "accounts") is None
    assert query(f"{gone}@{settings.MAILBOX_DOMAIN}", "mailboxes") is None
    assert query(f"{uid}@remote.example", "local-domains") is None


def test_a_second_run_replaces_the_files(target: Path, password_file: Path) -> None:
    _render(target, password_file)
    (target / "accounts.cf").write_text("a hand edit\n")
    _render(target, password_file)
    assert "a hand edit" not in (target / "accounts.cf").read_text()


HOSTILE: list[tuple[str, str]] = [
    ("--ldap-uri", "ldap://127.0.0.1\nbind_dn = cn=evil"),
    ("--ldap-uri", "ldap://127.0.0.1 ldap://evil.example"),
    ("--ldap-uri", "ldap://127.0.0.1/dc=x?uid=evil"),
    ("--ldap-uri", "ldap://127.0.0.1#x"),
    ("--ldap-uri", "ldap://$evil"),
    ("--base-dn", "dc=mailadmin\nsearch_base = dc=evil"),
    ("--base-dn", "dc=mailadmin # x"),
    ("--base-dn", "dc=$evil"),
    ("--base-dn", "dc=mailadmin,x = y"),
    ("--bind-dn", "cn=postfix\nbind_pw = evil"),
    ("--bind-dn", "cn=postfix#,dc=x"),
    ("--bind-dn", "cn=$x,dc=x"),
    ("--bind-dn", "cn=a = b,dc=x"),
    ("--mailbox-domain", "mailbox.internal\nmydestination = evil"),
    ("--mailbox-domain", "mailbox.internal=OK"),
    ("--mailbox-domain", "mailbox.internal#"),
    ("--mailbox-domain", "$mydomain"),
    ("--group", "no-such-group"),
]


@pytest.mark.parametrize(("option", "value"), HOSTILE)
def test_hostile_option_values_are_refused_and_nothing_is_written(
    target: Path, password_file: Path, option: str, value: str
) -> None:
    with pytest.raises(CommandError):
        _render(target, password_file, option, value)
    assert not target.exists()


@pytest.mark.parametrize(
    "password", ["pw\nbind_dn = cn=evil\n", "pw # comment", "pw$evil", "pw%s", "", "\n", "pw\r"]
)
def test_hostile_passwords_are_refused_and_nothing_is_written(
    target: Path, tmp_path_factory: pytest.TempPathFactory, password: str
) -> None:
    with pytest.raises(CommandError) as refused:
        _render(target, _password_file(tmp_path_factory, password))
    assert not target.exists()
    assert "evil" not in str(refused.value)  # a secret is never echoed


@pytest.mark.parametrize("name", ["a\nb", "a#b", "$x", "a b", "a,b"])
def test_a_hostile_directory_is_refused(
    tmp_path_factory: pytest.TempPathFactory, password_file: Path, name: str
) -> None:
    parent = tmp_path_factory.mktemp("hostile")
    with pytest.raises(CommandError):
        _render(parent / name, password_file)
    assert list(parent.iterdir()) == []


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param(("--bind-dn", "cn=saslauthd,ou=services,{base}"), id="password-of-another-dn"),
        pytest.param(("--base-dn", "dc=nowhere"), id="no-such-base"),
    ],
)
def test_a_table_postfix_cannot_use_is_not_written(
    target: Path, password_file: Path, extra: tuple[str, str]
) -> None:
    """The first table's postmap probe fails (bind refused / no such base): no file stays behind."""
    option, value = extra
    with pytest.raises(CommandError, match="Postfix did not accept"):
        _render(target, password_file, option, value.format(base=settings.LDAP_BASE_DN))
    assert not target.exists()


def test_a_wrong_password_writes_nothing(target: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    with pytest.raises(CommandError, match="Postfix did not accept"):
        _render(target, _password_file(tmp_path_factory, "wrong-password"))
    assert not target.exists()
