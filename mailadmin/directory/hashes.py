"""Pre-hashed passwords from imports (LDIF, CSV, shadow files): which schemes this slapd verifies, the form
of each hash, and writing one as `userPassword` exactly as given.

slapd 2.5 verifies {SSHA}, {SHA}, {SMD5}, {MD5} and {CRYPT} itself ({CRYPT} through the C library's crypt(3):
on Debian 12 libxcrypt, which knows $1$, $5$, $6$, $y$, $gy$, $7$, $2b$ ...). Further schemes come from
modules: pw-sha2 ({SHA256} ... {SSHA512}), pw-pbkdf2 ({PBKDF2}, {PBKDF2-SHA1/256/512}; Debian's slapd-contrib)
and argon2 ({ARGON2}). Which modules this slapd has loaded is read from cn=config; without a way into
cn=config only the built-in schemes count.

Anything else is refused with a reason, never stored: slapd cannot check an unknown scheme, and worse, its
ppolicy overlay (olcPPolicyHashCleartext) takes a value with an unknown scheme for clear text and hashes the
whole string, so the account's password would silently become the hash's text. `password_hash_set` reads
the value back to catch exactly that.

No message here ever holds the hash (only the scheme's name, which matched an allow-list first).
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import threading
import time

import ldap
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ldap.ldapobject import LDAPObject

from mailadmin.directory.acl import config_connection
from mailadmin.directory.connection import run
from mailadmin.directory.errors import DirectoryError, DirectoryRefused
from mailadmin.directory.names import InvalidName
from mailadmin.directory.write import check_dn

log = logging.getLogger(__name__)

MAX_HASH = 512
FIELD = "password_hash"
_SCHEME = re.compile(r"\{([A-Za-z0-9][A-Za-z0-9-]{0,31})\}")
_B64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")
_AB64 = r"[A-Za-z0-9./+]+={0,2}"  # slapd's pbkdf2 and the crypt family use their own base64 alphabets
_C64 = r"[./A-Za-z0-9]"

# Built into slapd 2.5 (servers/slapd/passwd.c and liblutil).
NATIVE_SCHEMES = frozenset({"SSHA", "SHA", "SMD5", "MD5", "CRYPT"})
# Modules shipped by Debian's slapd / slapd-contrib and the schemes each one adds.
MODULE_SCHEMES: dict[str, frozenset[str]] = {
    "pw-sha2": frozenset({"SHA256", "SSHA256", "SHA384", "SSHA384", "SHA512", "SSHA512"}),
    "pw-pbkdf2": frozenset({"PBKDF2", "PBKDF2-SHA1", "PBKDF2-SHA256", "PBKDF2-SHA512"}),
    "argon2": frozenset({"ARGON2"}),
}
# Raw digest length of each salted/unsalted digest scheme: unsalted ones are exactly this long, salted
# ones longer (digest + salt).
_DIGEST = {"SHA": 20, "MD5": 16, "SHA256": 32, "SHA384": 48, "SHA512": 64}
_SALTED = {"SSHA": 20, "SMD5": 16, "SSHA256": 32, "SSHA384": 48, "SSHA512": 64}
# Schemes slapd may know but that never fit an import: clear text, or a check handed to another service.
# Named so the refusal can say why.
_NOT_A_HASH = {
    "CLEARTEXT": gettext_lazy(
        "{CLEARTEXT} is a clear-text password, not a hash: give the password itself instead."
    ),
    "SASL": gettext_lazy("{SASL} hands the check to another service; it is not a password hash."),
    "UNIX": gettext_lazy("{UNIX} reads the server's own /etc/shadow; it is not a password hash."),
    "K5KEY": gettext_lazy("{K5KEY} hands the check to Kerberos; it is not a password hash."),
}
# crypt(3) formats of libxcrypt that slapd's {CRYPT} accepts here. DES and BSDi (`_`) are refused: they
# use only 8 characters of a password and are broken in seconds; such users need a new password.
_CRYPT_FORMATS = (
    re.compile(rf"\$1\${_C64}{{1,8}}\${_C64}{{22}}"),  # md5crypt
    re.compile(rf"\$5\$(?:rounds=[0-9]{{1,9}}\$)?{_C64}{{1,16}}\${_C64}{{43}}"),  # sha256crypt
    re.compile(rf"\$6\$(?:rounds=[0-9]{{1,9}}\$)?{_C64}{{1,16}}\${_C64}{{86}}"),  # sha512crypt
    re.compile(rf"\$2[aby]\$[0-9]{{2}}\${_C64}{{53}}"),  # bcrypt
    re.compile(rf"\$g?y\${_C64}+\${_C64}{{1,86}}\${_C64}{{43}}"),  # yescrypt, gost-yescrypt
    re.compile(rf"\$7\${_C64}{{14,}}\${_C64}{{43}}"),  # scrypt
    re.compile(rf"\$sha1\$[0-9]{{1,10}}\${_C64}{{1,64}}\${_C64}{{28}}"),  # NetBSD sha1crypt
)
_PBKDF2 = re.compile(rf"[0-9]{{1,10}}\${_AB64}\${_AB64}")
_ARGON2 = re.compile(
    r"\$argon2(?:i|d|id)\$v=[0-9]{1,3}\$m=[0-9]{1,10},t=[0-9]{1,10},p=[0-9]{1,3}\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+"
)


def scheme_of(value: str) -> str:
    """The upper-cased scheme name of a `{SCHEME}...` value, or "" if it does not start with one."""
    match = _SCHEME.match(value) if isinstance(value, str) else None
    return match.group(1).upper() if match else ""


# --- which schemes this slapd verifies ------------------------------------------------------------------

_CACHE_SECONDS = 300.0
_cache: dict[str, tuple[float, frozenset[str]]] = {}
_cache_lock = threading.Lock()


def _module_name(value: str) -> str:
    """`{2}pw-sha2.la`, `/usr/lib/ldap/argon2.so` -> `pw-sha2`, `argon2`."""
    text = value.strip()
    if text.startswith("{") and "}" in text:
        text = text[text.index("}") + 1 :]
    text = text.rsplit("/", 1)[-1]
    for suffix in (".la", ".so"):
        text = text.removesuffix(suffix)
    return text.lower()


def _loaded_modules() -> set[str] | None:
    """The modules slapd has loaded (olcModuleLoad of every cn=module entry); None if cn=config is out of
    reach (no LDAP_CONFIG_URI, no rights)."""
    if not str(getattr(settings, "LDAP_CONFIG_URI", "") or ""):
        return None
    try:
        with config_connection() as conn:
            found = conn.search_ext_s(
                "cn=config", ldap.SCOPE_ONELEVEL, "(objectClass=olcModuleList)", ["olcModuleLoad"]
            )
    except (ldap.LDAPError, DirectoryError) as exc:
        log.warning("cannot read slapd's modules from cn=config (%s): only built-in hash schemes count", exc)
        return None
    return {
        _module_name(raw.decode("utf-8", "replace"))
        for _dn, attrs in found
        if isinstance(attrs, dict)
        for raw in attrs.get("olcModuleLoad", [])
    }


def verifiable_schemes() -> frozenset[str]:
    """The `{SCHEME}` names this slapd can check a bind against (upper case). Read from cn=config at most
    every five minutes; a module is loaded at slapd's start, so that is fresh enough."""
    key = str(getattr(settings, "LDAP_CONFIG_URI", "") or "")
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None and now - hit[0] < _CACHE_SECONDS:
            return hit[1]
    modules = _loaded_modules() or set()
    schemes = frozenset(NATIVE_SCHEMES.union(*(MODULE_SCHEMES[m] for m in modules if m in MODULE_SCHEMES)))
    with _cache_lock:
        _cache[key] = (now, schemes)
    return schemes


def forget_schemes() -> None:
    """Read cn=config again at the next call (tests; after loading a module)."""
    with _cache_lock:
        _cache.clear()


# --- the form of a hash -----------------------------------------------------------------------------------


def _refuse(message: str) -> InvalidName:
    return InvalidName(message, FIELD)


def _check_digest(scheme: str, rest: str) -> None:
    try:
        raw = base64.b64decode(rest, validate=True) if _B64.fullmatch(rest) else b""
    except (binascii.Error, ValueError):
        raw = b""
    if scheme in _DIGEST:
        ok = len(raw) == _DIGEST[scheme]
    else:
        ok = _SALTED[scheme] < len(raw) <= _SALTED[scheme] + 64
    if not ok:
        raise _refuse(
            _("This is not a valid {%(scheme)s} hash (the base64 digest has the wrong length).")
            % {"scheme": scheme}
        )


def _check_crypt(rest: str) -> None:
    if any(form.fullmatch(rest) for form in _CRYPT_FORMATS):
        return
    if re.fullmatch(rf"{_C64}{{13}}|_{_C64}{{19}}", rest):
        raise _refuse(
            _(
                "{CRYPT} hashes in the old DES form are refused: they use only 8 characters of a password "
                "and are broken in seconds. Give this account a new password instead."
            )
        )
    raise _refuse(
        _(
            "This {CRYPT} hash has no form the server's crypt(3) verifies "
            "($1$, $5$, $6$, $y$, $gy$, $7$, $2b$)."
        )
    )


def check_password_hash(value: str) -> str:
    """The hash as given, if this slapd can verify it; InvalidName saying why not otherwise.

    Checks the scheme against `verifiable_schemes()` and the rest against the scheme's form, so a typo or a
    truncated value is refused now rather than stored as a password nobody can use.
    """
    if not isinstance(value, str) or not value:
        raise _refuse(_("The password hash is empty."))
    if len(value) > MAX_HASH or not value.isascii() or not value.isprintable() or " " in value:
        raise _refuse(
            _("A password hash is at most %(n)s printable ASCII characters without spaces.") % {"n": MAX_HASH}
        )
    scheme = scheme_of(value)
    if not scheme:
        raise _refuse(_("A password hash starts with its scheme in braces, such as {SSHA} or {CRYPT}."))
    if scheme in _NOT_A_HASH:
        raise _refuse(str(_NOT_A_HASH[scheme]))
    if scheme not in verifiable_schemes():
        module = next((m for m, schemes in MODULE_SCHEMES.items() if scheme in schemes), None)
        if module:
            raise _refuse(
                _(
                    "This directory server cannot verify {%(scheme)s} passwords "
                    "(its module %(module)s is not loaded)."
                )
                % {"scheme": scheme, "module": module}
            )
        raise _refuse(_("This directory server cannot verify {%(scheme)s} passwords.") % {"scheme": scheme})
    rest = value[len(scheme) + 2 :]
    if scheme in _DIGEST or scheme in _SALTED:
        _check_digest(scheme, rest)
    elif scheme == "CRYPT":
        _check_crypt(rest)
    elif scheme.startswith("PBKDF2"):
        if not _PBKDF2.fullmatch(rest):
            raise _refuse(
                _("This is not a valid {%(scheme)s} hash (iterations$salt$digest).") % {"scheme": scheme}
            )
    elif scheme == "ARGON2" and not _ARGON2.fullmatch(rest):
        raise _refuse(_("This is not a valid {ARGON2} hash ($argon2id$v=19$m=...,t=...,p=...$salt$digest)."))
    return value


# --- writing one ------------------------------------------------------------------------------------------


def password_hash_set(dn: str, value: str) -> None:
    """Store `value` (checked by `check_password_hash`) as the entry's only `userPassword`, as it is.

    The console binds as the rootDN, which ppolicy's quality check does not apply to; the value is read back
    so that a hash slapd took for clear text (and hashed again) is an error, not a lost password.
    """
    check_dn(dn)
    check_password_hash(value)
    encoded = value.encode("ascii")

    def op(conn: LDAPObject) -> bool:
        conn.modify_ext_s(dn, [(ldap.MOD_REPLACE, "userPassword", [encoded])])
        found = conn.search_ext_s(dn, ldap.SCOPE_BASE, "(objectClass=*)", ["userPassword"])
        stored = found[0][1].get("userPassword", []) if found else []
        return stored == [encoded]

    if not run(op, what="password change", dn=dn):
        raise DirectoryRefused(
            _(
                "The directory server did not keep the {%(scheme)s} hash as given (it cannot verify this "
                "scheme), so the password was not set."
            )
            % {"scheme": scheme_of(value)}
        )
