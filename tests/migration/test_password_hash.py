"""Pre-hashed passwords (`user_create(password_hash=...)`, used by the LDIF, CSV and shadow imports): slapd
keeps the hash as it is and verifies it, so the user logs in over IMAP (saslauthd -> LDAP bind) and to the
console with the original clear password. Hashes are made by the tools an administrator would have used
(slappasswd, openssl passwd). Schemes slapd cannot verify are refused before anything is written, and the
hash never shows up in an error, the audit log or the log output."""

from __future__ import annotations

import ctypes
import imaplib
import os
import subprocess
from collections.abc import Callable, Iterator

import pytest
from django.test import Client, override_settings

from accounts import services
from accounts.services.account_settings import user_enable
from mailadmin.actor import Actor
from mailadmin.audit.models import AuditEntry
from mailadmin.directory import DirectoryRefused, InvalidName, dit, hashes
from mailadmin.imap import MailboxNotFound, mailbox_delete
from tests import ldaptool
from tests.accounts import usertool

pytestmark = pytest.mark.django_db
CLEAR = "Imported-pass-42"
ACTOR = Actor.system("tests")


def slappasswd(scheme: str, *options: str, password: str = CLEAR) -> str:
    # `-c FORMAT` means {CRYPT} with that crypt(3) salt format; slappasswd refuses -h beside it
    argv = ["slappasswd", *options, *([] if "-c" in options else ["-h", scheme]), "-s", password]
    return subprocess.run(argv, capture_output=True, text=True, check=True, timeout=30).stdout.strip()


def openssl_crypt(flag: str, password: str = CLEAR) -> str:
    argv = ["openssl", "passwd", flag, "-stdin"]
    result = subprocess.run(argv, input=password, capture_output=True, text=True, check=True, timeout=30)
    return "{CRYPT}" + result.stdout.strip()


def libargon2(variant: str, password: str = CLEAR) -> str:
    """{ARGON2} in the id or d variant, made by the same libargon2 slapd's module links (slappasswd's
    module writes argon2i only)."""
    lib = ctypes.CDLL("libargon2.so.1")
    out = ctypes.create_string_buffer(256)
    secret, salt = password.encode(), os.urandom(16)
    rc = getattr(lib, f"argon2{variant}_hash_encoded")(
        ctypes.c_uint32(2), ctypes.c_uint32(4096), ctypes.c_uint32(1), secret, ctypes.c_size_t(len(secret)),
        salt, ctypes.c_size_t(len(salt)), ctypes.c_size_t(32), out, ctypes.c_size_t(len(out)),
    )  # fmt: skip
    assert rc == 0, rc
    return "{ARGON2}" + out.value.decode()


# scheme label -> how an administrator makes such a hash
MAKERS: dict[str, Callable[[], str]] = {
    "SSHA": lambda: slappasswd("{SSHA}"),
    "ssha-lower-case": lambda: "{ssha}" + slappasswd("{SSHA}").removeprefix("{SSHA}"),
    "SHA": lambda: slappasswd("{SHA}"),
    "SMD5": lambda: slappasswd("{SMD5}"),
    "MD5": lambda: slappasswd("{MD5}"),
    "CRYPT-md5crypt": lambda: openssl_crypt("-1"),
    "CRYPT-sha256crypt": lambda: openssl_crypt("-5"),
    "CRYPT-sha512crypt": lambda: openssl_crypt("-6"),
    "CRYPT-yescrypt": lambda: slappasswd("{CRYPT}", "-c", "$y$j9T$%.16s"),
    "CRYPT-gost-yescrypt": lambda: slappasswd("{CRYPT}", "-c", "$gy$j9T$%.16s"),
    "CRYPT-bcrypt": lambda: slappasswd("{CRYPT}", "-c", "$2b$08$%.22s"),
    "SSHA256": lambda: slappasswd("{SSHA256}", "-o", "module-load=pw-sha2"),
    "SHA512": lambda: slappasswd("{SHA512}", "-o", "module-load=pw-sha2"),
    "SSHA512": lambda: slappasswd("{SSHA512}", "-o", "module-load=pw-sha2"),
    "PBKDF2-SHA512": lambda: slappasswd("{PBKDF2-SHA512}", "-o", "module-load=pw-pbkdf2"),
    "PBKDF2-SHA256": lambda: slappasswd("{PBKDF2-SHA256}", "-o", "module-load=pw-pbkdf2"),
    "ARGON2": lambda: slappasswd("{ARGON2}", "-o", "module-load=argon2"),
    "ARGON2-id": lambda: libargon2("id"),
    "ARGON2-d": lambda: libargon2("d"),
}


@pytest.fixture
def org(domain: str) -> str:
    return dit.organization_dn(domain, domain)


@pytest.fixture(autouse=True)
def fresh_schemes() -> Iterator[None]:
    hashes.forget_schemes()
    yield
    hashes.forget_schemes()


def imap_login_ok(uid: str, password: str) -> bool:
    try:
        with usertool.user_imap(uid, password):
            return True
    except imaplib.IMAP4.error:
        return False


def test_slapd_here_verifies_the_builtin_and_the_module_schemes(stack: object) -> None:
    # the stack loads pw-sha2, pw-pbkdf2 and argon2 (mailadmin/configfiles/slapd.py); read back from cn=config
    assert hashes.verifiable_schemes() >= {
        "SSHA", "SHA", "SMD5", "MD5", "CRYPT", "SSHA512", "PBKDF2-SHA512", "ARGON2"
    }  # fmt: skip


@pytest.mark.parametrize("label", list(MAKERS))
def test_a_user_with_a_hashed_password_logs_in_over_imap_with_the_clear_one(
    label: str, org: str, unique: Callable[[str], str], caplog: pytest.LogCaptureFixture
) -> None:
    value = MAKERS[label]()
    uid = unique("hash")
    dn = services.user_create(actor=ACTOR, container_dn=org, uid=uid, password_hash=value, last_name="Hash")
    try:
        assert ldaptool.attribute(dn, "userPassword") == [value]  # kept as it is, not hashed again
        assert imap_login_ok(uid, CLEAR)  # saslauthd -> bind as the user -> slapd verifies the hash
        assert not imap_login_ok(uid, CLEAR + "x")
    finally:
        services.user_delete(actor=ACTOR, dn=dn, delete_mailbox=True)
    after = AuditEntry.objects.filter(action="user_create", target=dn).get().after or {}
    assert after["credential"] == f"{{{hashes.scheme_of(value)}}} hash"
    assert value not in str(after) and value not in caplog.text


def test_a_user_with_an_imported_hash_logs_in_to_the_console(org: str, unique: Callable[[str], str]) -> None:
    uid = unique("hcon")
    value = openssl_crypt("-6")
    dn = services.user_create(
        actor=ACTOR, container_dn=org, uid=uid, password_hash=value, last_name="Console", create_mailbox=False
    )
    try:
        response = Client().post("/login/", {"username": uid, "password": CLEAR})
        assert response.status_code == 302, response.content.decode()[:500]
        assert Client().post("/login/", {"username": uid, "password": "Wrong-pass-42"}).status_code == 401
    finally:
        services.user_delete(actor=ACTOR, dn=dn)


def test_a_hash_passes_a_policy_that_insists_on_checking_quality(
    org: str, unique: Callable[[str], str]
) -> None:
    # pwdCheckQuality 2 makes slapd refuse values it cannot check (hashes) from everyone but the rootDN,
    # which is what the console binds as: the import still works, and the policy still applies to users.
    policy = f"cn=default,{dit.policies_dn()}"
    dn = ""
    uid = unique("hqual")
    ldapmodify(policy, "pwdCheckQuality", "2")
    try:
        dn = services.user_create(
            actor=ACTOR, container_dn=org, uid=uid, password_hash=slappasswd("{SSHA}"), last_name="Quality"
        )
        assert imap_login_ok(uid, CLEAR)
        # the policy is in force: the user may not set a hash on their own entry
        refused = ldapmodify(dn, "userPassword", slappasswd("{SSHA}", password="Other-pass-42"), (dn, CLEAR))
        assert "quality" in refused.stderr.lower()
        assert imap_login_ok(uid, CLEAR)
    finally:
        ldapmodify(policy, "pwdCheckQuality", "1")
        if dn:
            services.user_delete(actor=ACTOR, dn=dn, delete_mailbox=True)


def ldapmodify(
    dn: str, attr: str, value: str, who: tuple[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    from django.conf import settings

    bind_dn, password = who or (settings.LDAP_ADMIN_DN, settings.LDAP_ADMIN_PASSWORD)
    ldif = f"dn: {dn}\nchangetype: modify\nreplace: {attr}\n{attr}: {value}\n"
    return subprocess.run(
        ["ldapmodify", "-x", "-H", settings.LDAP_URI, "-D", bind_dn, "-w", password],
        input=ldif, capture_output=True, text=True, check=who is None, timeout=30,
    )  # fmt: skip


REFUSED = {
    "no scheme": ("3a7bd3e2360a3d29eea436fcfb7e44c735d117c4", "starts with its scheme"),
    "unknown scheme": ("{FOO}abcdefgh", "cannot verify {FOO}"),
    "clear text": ("{CLEARTEXT}" + CLEAR, "clear-text password"),
    "pass-through": ("{SASL}someone@REALM", "another service"),
    "DES crypt": ("{CRYPT}abJnggxhB/yWI", "old DES form"),
    "truncated sha512crypt": ("{CRYPT}$6$abcdefgh$short", "no form the server's crypt"),
    "bad base64": ("{SSHA}not*base64", "wrong length"),
    "SHA too short": ("{SHA}AAAA", "wrong length"),
    "PBKDF2 without iterations": ("{PBKDF2-SHA512}$salt$hash", "iterations$salt$digest"),
    "ARGON2 mangled": ("{ARGON2}$argon2id$m=1$x", "not a valid {ARGON2}"),
    "line break": ("{SSHA}abc\ndef", "printable ASCII"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_an_unverifiable_hash_is_refused_and_nothing_is_written(
    case: str, org: str, unique: Callable[[str], str], caplog: pytest.LogCaptureFixture
) -> None:
    value, reason = REFUSED[case]
    before = ldaptool.dump(org)
    with pytest.raises(InvalidName) as refused:
        services.user_create(
            actor=ACTOR, container_dn=org, uid=unique("bad"), password_hash=value, last_name="Bad"
        )
    assert reason in str(refused.value)
    assert refused.value.field == "password_hash"
    assert value not in str(refused.value) and value not in caplog.text
    assert ldaptool.dump(org) == before


def test_password_and_hash_together_or_neither_are_refused(org: str, unique: Callable[[str], str]) -> None:
    before = ldaptool.dump(org)
    with pytest.raises(InvalidName, match="either a password or a password hash"):
        services.user_create(
            actor=ACTOR, container_dn=org, uid=unique("two"), password=CLEAR,
            password_hash=slappasswd("{SSHA}"), last_name="Two",
        )  # fmt: skip
    with pytest.raises(InvalidName, match="must not be empty"):
        services.user_create(actor=ACTOR, container_dn=org, uid=unique("none"), last_name="None")
    assert ldaptool.dump(org) == before


def test_without_the_module_list_only_builtin_schemes_are_taken(
    org: str, unique: Callable[[str], str]
) -> None:
    # No way into cn=config (LDAP_CONFIG_URI unset): the console cannot know what is loaded, so it takes
    # only what every slapd verifies.
    with override_settings(LDAP_CONFIG_URI=""):
        hashes.forget_schemes()
        assert hashes.verifiable_schemes() == hashes.NATIVE_SCHEMES
        with pytest.raises(InvalidName, match=r"cannot verify \{ARGON2\} passwords \(its module argon2"):
            hashes.check_password_hash(MAKERS["ARGON2"]())
        assert hashes.check_password_hash(MAKERS["SSHA"]())


def test_a_scheme_slapd_would_hash_again_is_caught_and_undone_fake_scheme_list(
    org: str, unique: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Fault injection: the console wrongly believes slapd verifies {FOO}. slapd's ppolicy then takes the
    # value for clear text and hashes it; the read-back notices and the journal undoes the entry.
    real = hashes.verifiable_schemes()
    monkeypatch.setattr(hashes, "verifiable_schemes", lambda: real | {"FOO"})
    uid = unique("foo")
    before = ldaptool.dump(org)
    with pytest.raises(DirectoryRefused, match=r"did not keep the \{FOO\} hash"):
        services.user_create(
            actor=ACTOR, container_dn=org, uid=uid, password_hash="{FOO}abcdefgh", last_name="Foo"
        )
    assert ldaptool.dump(org) == before
    with pytest.raises(MailboxNotFound):
        mailbox_delete(uid)


def test_created_disabled_with_a_hash_cannot_log_in_until_enabled(
    org: str, unique: Callable[[str], str]
) -> None:
    # A locked shadow entry (`!$6$...`): the hash is kept, the account made disabled; once an administrator
    # enables it, the old password works again (what `passwd -u` would do).
    uid = unique("lock")
    dn = services.user_create(
        actor=ACTOR, container_dn=org, uid=uid, password_hash=openssl_crypt("-6"), last_name="Locked",
        disabled=True,
    )  # fmt: skip
    try:
        assert ldaptool.attribute(dn, "mailEnabled") == ["FALSE"]
        assert not imap_login_ok(uid, CLEAR)
        assert Client().post("/login/", {"username": uid, "password": CLEAR}).status_code == 401
        user_enable(actor=ACTOR, dn=dn)
        assert imap_login_ok(uid, CLEAR)
    finally:
        services.user_delete(actor=ACTOR, dn=dn, delete_mailbox=True)


def test_created_disabled_without_any_password_has_no_userpassword(
    org: str, unique: Callable[[str], str]
) -> None:
    # An empty shadow hash never means "no password": the account is made disabled and without a password
    # slapd could compare, so neither IMAP nor a bind with an empty or any other password gets in.
    uid = unique("empty")
    dn = services.user_create(actor=ACTOR, container_dn=org, uid=uid, last_name="Empty", disabled=True)
    try:
        assert ldaptool.attribute(dn, "userPassword") == []
        assert ldaptool.attribute(dn, "mailEnabled") == ["FALSE"]
        for guess in ("", CLEAR, "x"):
            assert not imap_login_ok(uid, guess)
        assert not ldaptool.bind_ok(dn, CLEAR)
        after = AuditEntry.objects.filter(action="user_create", target=dn).get().after or {}
        assert after["credential"] == "none" and after["disabled"] is True
    finally:
        services.user_delete(actor=ACTOR, dn=dn, delete_mailbox=True)


def test_a_console_administrator_is_not_created_disabled(stack: object, unique: Callable[[str], str]) -> None:
    with pytest.raises(InvalidName, match="disabled after it is made"):
        services.user_create(
            actor=ACTOR, container_dn=dit.admins_dn(), uid=unique("adm"), password=CLEAR, last_name="Adm",
            create_mailbox=False, disabled=True,
        )  # fmt: skip
