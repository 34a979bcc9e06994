"""Validation of every value that goes into a rendered configuration file.

The daemons' file formats are line based: one stray newline, a leading space (a continuation line in
main.cf), a `#`, a trailing backslash or a `$` (Postfix expands `$name`) can smuggle in a parameter the
console never meant to write. So every value passes through one of these checks, and a refusal names the
parameter it came from.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path


def tr(message: str) -> str:
    """`message` in the person's language when the console runs; as written before Django is ready (the
    stack's start checks the same values before any settings exist)."""
    from django.apps import apps

    if not apps.ready:
        return message
    from django.utils.translation import gettext

    return gettext(message)


def ntr(singular: str, plural: str, number: int) -> str:
    """`ngettext` the same way: translated when the console runs, English before Django is ready."""
    from django.apps import apps

    if not apps.ready:
        return singular if number == 1 else plural
    from django.utils.translation import ngettext

    return ngettext(singular, plural, number)


_ = tr  # what makemessages looks for


class ConfigValueError(ValueError):
    """A value that must not be written into a configuration file."""

    def __init__(self, parameter: str, problem: str, value: object = None, *, secret: bool = False) -> None:
        self.parameter = parameter
        self.problem = problem
        shown = "" if secret or value is None else f" (got {value!r})"
        super().__init__(f"{parameter}: {problem}{shown}")


# C0 controls and DEL; a tab is refused too because several formats treat it as a separator.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_PATH = re.compile(r"^/[A-Za-z0-9._/+@%=,~:-]*$")
_HOST = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)
_IPV4 = re.compile(r"^(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)$")
# One RDN: attribute type, `=`, a value without the characters that need DN escaping. Escaped DNs are a
# directory concern; config files only ever name the console's own fixed entries.
_RDN = r"[A-Za-z][A-Za-z0-9-]*=[A-Za-z0-9][A-Za-z0-9 ._@-]*(?<! )"
_DN = re.compile(rf"^{_RDN}(?:,{_RDN})*$")
_WORD = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
# One LDAP URI, no DN or extensions: ldap(s)://host[:port] or ldapi://<url-encoded socket path>.
_LDAP_URI = re.compile(
    r"(?:ldaps?://(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?|ldapi://[A-Za-z0-9%._-]*)/?"
)


def text(
    name: str,
    value: object,
    *,
    allow_dollar: bool = False,
    allow_hash: bool = False,
    allow_empty: bool = False,
    forbid: str = "",
    max_length: int = 4096,
    pattern: re.Pattern[str] | None = None,
    secret: bool = False,
) -> str:
    """A one-line string that cannot change the structure of the file it is written into.

    `forbid` adds characters special to one format (for example `"` inside a cyrus.conf `cmd="..."`).
    """
    if not isinstance(value, str):
        raise ConfigValueError(name, _("must be a string"), None if secret else value, secret=secret)
    if not value:
        if allow_empty:
            return value
        raise ConfigValueError(name, _("must not be empty"))
    if len(value) > max_length:
        raise ConfigValueError(name, _("longer than %(n)s characters") % {"n": max_length}, secret=True)
    if _CONTROL.search(value):
        raise ConfigValueError(
            name, _("must not contain newlines, NUL or other control characters"), value, secret=secret
        )
    if value != value.strip():
        raise ConfigValueError(name, _("must not start or end with white space"), value, secret=secret)
    if value.endswith("\\"):
        raise ConfigValueError(
            name, _("must not end with a backslash (line continuation)"), value, secret=secret
        )
    if "#" in value and not allow_hash:
        raise ConfigValueError(name, _("must not contain '#' (comment)"), value, secret=secret)
    if "$" in value and not allow_dollar:
        raise ConfigValueError(name, _("must not contain '$' (parameter expansion)"), value, secret=secret)
    bad = sorted({ch for ch in forbid if ch in value})
    if bad:
        raise ConfigValueError(
            name, _("must not contain %(chars)r") % {"chars": "".join(bad)}, value, secret=secret
        )
    if pattern is not None and not pattern.fullmatch(value):
        raise ConfigValueError(
            name, _("does not match %(pattern)s") % {"pattern": pattern.pattern}, value, secret=secret
        )
    return value


def secret(name: str, value: object, *, forbid: str = "") -> str:
    """A password or hash: same rules as text, but the value never appears in an error message."""
    return text(name, value, forbid=forbid, secret=True, max_length=512)


def integer(name: str, value: object, *, minimum: int | None = None, maximum: int | None = None) -> int:
    # bool is an int subclass; True as a size limit is always a mistake.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigValueError(name, _("must be an integer"), value)
    if minimum is not None and value < minimum:
        raise ConfigValueError(name, _("must be at least %(n)s") % {"n": minimum}, value)
    if maximum is not None and value > maximum:
        raise ConfigValueError(name, _("must be at most %(n)s") % {"n": maximum}, value)
    return value


def boolean(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ConfigValueError(name, _("must be True or False"), value)
    return value


def port(name: str, value: object) -> int:
    return integer(name, value, minimum=1, maximum=65535)


def path(name: str, value: object) -> str:
    """An absolute path made of characters no config format treats specially (no spaces, quotes, `$`, `#`)."""
    raw = str(value) if isinstance(value, Path) else value
    checked = text(name, raw)
    if not _PATH.fullmatch(checked):
        raise ConfigValueError(
            name,
            _("must be an absolute path of letters, digits and %(chars)s") % {"chars": "._/+@%=,~:-"},
            value,
        )
    if "/../" in checked + "/" or checked.endswith("/.."):
        raise ConfigValueError(name, _("must not contain '..'"), value)
    return checked


def host(name: str, value: object) -> str:
    checked = text(name, value)
    if not (_HOST.fullmatch(checked) or _IPV4.fullmatch(checked)):
        raise ConfigValueError(name, _("must be a host name or an IPv4 address"), value)
    return checked


def dn(name: str, value: object) -> str:
    checked = text(name, value)
    if not _DN.fullmatch(checked):
        raise ConfigValueError(
            name, _("must be a plain DN like cn=name,dc=example (no escapes or quotes)"), value
        )
    return checked


def ldap_uri(name: str, value: object) -> str:
    checked = text(name, value)
    if not _LDAP_URI.fullmatch(checked):
        raise ConfigValueError(
            name, _("must be one ldap://host[:port], ldaps://host[:port] or ldapi:// URI"), value
        )
    return checked


def word(name: str, value: object) -> str:
    """A token such as a service or mechanism name."""
    return text(name, value, pattern=_WORD)


def choice(name: str, value: object, allowed: Iterable[str]) -> str:
    options = tuple(allowed)
    if value not in options:
        raise ConfigValueError(name, _("must be one of %(options)s") % {"options": ", ".join(options)}, value)
    return str(value)


def words(name: str, values: Iterable[object]) -> list[str]:
    return [word(f"{name}[{i}]", v) for i, v in enumerate(values)]
