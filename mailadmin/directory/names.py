"""Allow-lists for everything that ends up in a DN, a filter, an attribute value or an IMAP command.

Checks run BEFORE escaping: escaping makes a hostile value harmless to the protocol, the allow-list keeps it
out of the directory altogether. Each check returns the normalised value or raises `InvalidName`, whose
message states the rule (it never echoes the input: that may hold control characters or markup).
"""

from __future__ import annotations

import re
import unicodedata

import ldap.dn
import ldap.filter


class InvalidName(ValueError):
    """A name or value failed its allow-list; `str(exc)` is a sentence a form can show."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return self.message


LOGIN_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_LABEL_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
# A deliberate subset of RFC 5321 dot-atom: what real mailboxes use, nothing a filter, a map or a shell
# treats specially (no `*`, quotes, `%`, `!`, `/`, `|`, `=`).
_LOCAL_RE = re.compile(r"[a-z0-9_+-]+(?:\.[a-z0-9_+-]+)*")
# DN specials and markup are refused in container names even though escaping would make them safe:
# an organization called `x,ou=admins` or `"><script>` is a mistake or an attack, never a name.
_CONTAINER_FORBIDDEN = frozenset(',+=;<>"\\')

MAX_CONTAINER = 64
MAX_DOMAIN = 253
MAX_ADDRESS = 254
MAX_LOCAL = 64
MAX_VALUE = 256
MAX_PASSWORD = 256


_BAD_NAME_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})
_BAD_TEXT_CATEGORIES = frozenset({"Cc", "Zl", "Zp"})


def _has_control(value: str, *, format_chars: bool = True) -> bool:
    # Cf (zero-width and bidi controls) are refused in names, where they enable look-alikes, but allowed in
    # free text, where some scripts need them (ZWNJ in Persian names).
    if value.isascii():
        return not value.isprintable()  # printable ASCII has no control characters (the common, fast case)
    bad = _BAD_NAME_CATEGORIES if format_chars else _BAD_TEXT_CATEGORIES
    return any(unicodedata.category(ch) in bad for ch in value)


def check_login(value: str, field: str = "uid") -> str:
    """A login name (uid, Cyrus mailbox `user/<uid>`): lower-case letters, digits, `.`, `_`, `-`."""
    if not isinstance(value, str) or not LOGIN_RE.fullmatch(value):
        raise InvalidName(
            "A login name must be 1 to 64 characters: lower-case letters, digits, '.', '_' or '-', "
            "starting with a letter or digit.",
            field,
        )
    return value


def check_domain(value: str, field: str = "domain") -> str:
    """A DNS domain name: LDH labels, at least one dot. Unicode (IDN) input becomes its xn-- form."""
    message = (
        "A domain name must be letters, digits and '-' in dot-separated labels of at most 63 characters "
        "(at most 253 in all, with at least one dot), like example.com."
    )
    if not isinstance(value, str) or not value or len(value) > MAX_DOMAIN or _has_control(value):
        raise InvalidName(message, field)
    name = value.lower()
    if not name.isascii():
        try:
            name = name.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise InvalidName(message, field) from exc
    labels = name.split(".")
    if (
        len(name) > MAX_DOMAIN
        or len(labels) < 2
        or not all(_LABEL_RE.fullmatch(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise InvalidName(message, field)
    return name


def check_container_name(value: str, field: str = "name") -> str:
    """An organization or group name (the `o`/`ou` of a container)."""
    if (
        not isinstance(value, str)
        or not value
        or len(value) > MAX_CONTAINER
        or not value.isprintable()
        or _has_control(value)
        or value[0] in "# "
        or value[-1] == " "
        or any(ch in _CONTAINER_FORBIDDEN for ch in value)
    ):
        raise InvalidName(
            f"A name must be 1 to {MAX_CONTAINER} printable characters, must not start with '#' or a space "
            'or end with a space, and must not contain , + = ; < > " or \\.',
            field,
        )
    return value


def check_address(value: str, field: str = "mail") -> str:
    """An e-mail address: `local@domain`, lower-cased, local part a conservative dot-atom."""
    message = (
        "An address must look like name@example.com: the name part may use letters, digits, "
        "'.', '_', '+' and '-' (no leading, trailing or double dots)."
    )
    if not isinstance(value, str) or len(value) > MAX_ADDRESS or value.count("@") != 1:
        raise InvalidName(message, field)
    local, _, domain = value.lower().partition("@")
    if len(local) > MAX_LOCAL or not _LOCAL_RE.fullmatch(local):
        raise InvalidName(message, field)
    try:
        domain = check_domain(domain, field)
    except InvalidName as exc:
        raise InvalidName(message, field) from exc
    address = f"{local}@{domain}"
    if len(address) > MAX_ADDRESS:
        raise InvalidName(message, field)
    return address


def check_value(
    value: str, field: str = "value", *, max_length: int = MAX_VALUE, required: bool = False
) -> str:
    """A free-text attribute value (names, descriptions): no control characters, bounded length."""
    if not isinstance(value, str) or len(value) > max_length or _has_control(value, format_chars=False):
        raise InvalidName(
            f"This value must be at most {max_length} characters and contain no control characters "
            "(no line breaks).",
            field,
        )
    if required and not value.strip():
        raise InvalidName("This value is required.", field)
    return value


def check_password(value: str, field: str = "password") -> str:
    """Only what would break the protocols: slapd's ppolicy decides about strength."""
    if not isinstance(value, str) or not value:
        # An empty password in a simple bind is an *unauthenticated* bind that succeeds (RFC 4513 5.1.2).
        raise InvalidName("The password must not be empty.", field)
    if len(value) > MAX_PASSWORD or any(ch in value for ch in "\x00\r\n"):
        raise InvalidName(
            f"The password must be at most {MAX_PASSWORD} characters and contain no line breaks.", field
        )
    return value


def escape_dn(value: str) -> str:
    """Escape one RDN value (RFC 4514). Call a check_* function first."""
    return ldap.dn.escape_dn_chars(value)


def escape_filter(value: str) -> str:
    """Escape one filter assertion value (RFC 4515)."""
    return ldap.filter.escape_filter_chars(value)
