"""TLS-04 from outside: the users of a shadow file log in over IMAP (saslauthd -> LDAP bind -> slapd's
{CRYPT}) and to the console with their old passwords; locked and empty-hash accounts are created disabled
and cannot log in; an old DES hash is refused with a reason and leaves nothing behind.

The import pipeline is not part of this change, so the test plays it: every ImportEntry goes to
`user_create` with the fields the parser filled in (password_hash, disabled), as the pipeline will."""

from __future__ import annotations

import imaplib
import io
import subprocess
from collections.abc import Callable, Iterator

import pytest
from django.test import Client

from accounts import services
from mailadmin.actor import Actor
from mailadmin.directory import InvalidName, dit
from migration.entries import EntryProblem, ImportEntry
from migration.shadow import EMPTY_NOTE, parse_shadow
from tests import ldaptool
from tests.accounts import usertool

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("tests")
OLD = {"anna": "Anna-old-pass-1", "bert": "Bert-old-pass-2", "carl": "Carl-old-pass-3", "hugo": "Hugo-pw-4"}


def crypt_sha512(password: str) -> str:
    run = subprocess.run(
        ["openssl", "passwd", "-6", "-stdin"], input=password, capture_output=True, text=True, check=True
    )
    return run.stdout.strip()


def crypt_yescrypt(password: str) -> str:
    run = subprocess.run(
        ["slappasswd", "-c", "$y$j9T$%.16s", "-s", password], capture_output=True, text=True, check=True
    )
    return run.stdout.strip().removeprefix("{CRYPT}")


def imap_ok(uid: str, password: str) -> bool:
    try:
        with usertool.user_imap(uid, password):
            return True
    except imaplib.IMAP4.error:
        return False


@pytest.fixture
def files(unique: Callable[[str], str]) -> tuple[dict[str, str], bytes, bytes]:
    tag = unique("s")  # logins are unique server-wide
    names = {short: f"{tag}{short}" for short in ("anna", "bert", "carl", "dora", "emil", "hugo", "sys")}
    lines = [
        (names["sys"], 999, "System Daemon", crypt_sha512("whatever-1")),
        (names["anna"], 1000, "Anna Beispiel", crypt_sha512(OLD["anna"])),
        (names["bert"], 1001, "", crypt_yescrypt(OLD["bert"])),
        (names["carl"], 1002, "Carl Locked", "!" + crypt_sha512(OLD["carl"])),
        (names["dora"], 1003, "Dora Empty", ""),
        (names["emil"], 1004, "Emil NoLogin", "*"),
        (names["hugo"], 1005, "Hugo Old", "ab01FAX.bQRSU"),  # DES: refused
    ]
    passwd = "".join(f"{n}:x:{uid}:{uid}:{g}:/home/{n}:/bin/bash\n" for n, uid, g, _h in lines)
    shadow = "".join(f"{n}:{h}:19000:0:99999:7:::\n" for n, _u, _g, h in lines)
    shadow += f"{tag}bad:{crypt_sha512('x')}:19000:0:99999\n"  # 5 fields
    return names, passwd.encode(), shadow.encode()


@pytest.fixture
def imported(
    domain: str, files: tuple[dict[str, str], bytes, bytes]
) -> Iterator[tuple[dict[str, str], dict[str, str], list[EntryProblem], dict[str, str]]]:
    """(names, created DNs by login, parser problems, refusals by login)"""
    names, passwd, shadow = files
    org = dit.organization_dn(domain, domain)
    created: dict[str, str] = {}
    refused: dict[str, str] = {}
    problems: list[EntryProblem] = []
    for item in parse_shadow(io.BytesIO(passwd), io.BytesIO(shadow)):
        if isinstance(item, EntryProblem):
            problems.append(item)
            continue
        assert isinstance(item, ImportEntry)
        try:
            created[item.uid] = services.user_create(
                actor=ACTOR, container_dn=org, uid=item.uid, last_name=item.last_name,
                first_name=item.first_name, password_hash=item.password_hash, disabled=item.disabled,
            )  # fmt: skip
        except InvalidName as exc:
            refused[item.uid] = str(exc)
    yield names, created, problems, refused
    for dn in created.values():
        services.user_delete(actor=ACTOR, dn=dn, delete_mailbox=True)


def test_shadow_users_log_in_with_their_old_passwords(
    imported: tuple[dict[str, str], dict[str, str], list[EntryProblem], dict[str, str]],
) -> None:
    names, created, _problems, _refused = imported
    assert imap_ok(names["anna"], OLD["anna"])  # $6$ (sha512crypt)
    assert imap_ok(names["bert"], OLD["bert"])  # $y$ (yescrypt, Debian 12's default)
    assert not imap_ok(names["anna"], OLD["bert"])
    assert Client().post("/login/", {"username": names["anna"], "password": OLD["anna"]}).status_code == 302
    assert ldaptool.attribute(created[names["anna"]], "givenName") == ["Anna"]
    assert ldaptool.attribute(created[names["anna"]], "sn") == ["Beispiel"]
    assert ldaptool.attribute(created[names["bert"]], "sn") == [names["bert"]]  # no GECOS name


def test_locked_and_empty_hash_accounts_cannot_log_in(
    imported: tuple[dict[str, str], dict[str, str], list[EntryProblem], dict[str, str]],
) -> None:
    names, created, _problems, _refused = imported
    assert imap_ok(names["anna"], OLD["anna"])  # the same stack lets the others in
    for short in ("carl", "dora", "emil"):
        dn = created[names[short]]
        assert ldaptool.attribute(dn, "mailEnabled") == ["FALSE"], short
    assert not imap_ok(names["carl"], OLD["carl"])  # locked: the hash is there, the account disabled
    for guess in ("", "x", OLD["anna"]):
        assert not imap_ok(names["dora"], guess)  # empty hash: never "no password"
    assert ldaptool.attribute(created[names["dora"]], "userPassword") == []
    assert not imap_ok(names["emil"], "")
    assert Client().post("/login/", {"username": names["carl"], "password": OLD["carl"]}).status_code == 401


def test_system_accounts_are_passed_over_and_bad_lines_refused(
    imported: tuple[dict[str, str], dict[str, str], list[EntryProblem], dict[str, str]],
) -> None:
    names, created, problems, refused = imported
    assert names["sys"] not in created and names["sys"] not in refused  # uid 999
    assert [(p.where, p.reason) for p in problems] == [
        ("shadow line 8", "The line has 5 fields separated by ':'; it needs 9.")
    ]
    assert "old DES form" in refused[names["hugo"]]
    assert names["hugo"] not in created
    assert not imap_ok(names["hugo"], OLD["hugo"])


def test_the_empty_hash_note_reaches_the_report(files: tuple[dict[str, str], bytes, bytes]) -> None:
    names, passwd, shadow = files
    notes = {
        e.uid: e.note
        for e in parse_shadow(io.BytesIO(passwd), io.BytesIO(shadow))
        if isinstance(e, ImportEntry)
    }
    assert notes[names["dora"]] == EMPTY_NOTE
