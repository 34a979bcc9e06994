"""Typed directory errors: every python-ldap exception leaves the gateway as one of these.

Messages are sentences a view can show as they are. They never carry a password: the only slapd text passed
through is its diagnostic (`info`), which names rules and attributes, never values.
"""

from __future__ import annotations

from typing import Any

import ldap

from mailadmin.errors import GatewayError


class DirectoryError(GatewayError):
    """Base class of the directory's errors (see mailadmin.errors for `permanent`)."""


class DirectoryUnavailable(DirectoryError):
    """The server cannot be reached, timed out or is busy."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message, permanent)


class DirectoryRefused(DirectoryError):
    """The server understood and said no: access, credentials, password policy, schema, naming."""


class DirectoryConflict(DirectoryError):
    """The name or a unique value (login name, address) is already taken."""


class DirectoryNotFound(DirectoryError):
    """The entry (or its parent) does not exist."""


class DirectorySizeLimit(DirectoryError):
    """A plain search matched more entries than the server returns at once; page it or narrow it."""


class DirectoryPageExpired(DirectoryError):
    """A paged-results cookie is no longer valid (other connection, server restart, or finished)."""


# slapo-ppolicy diagnostics (servers/slapd/overlays/ppolicy.c) as sentences for a form.
_PPOLICY_MESSAGES = {
    "password fails quality checking policy": "The new password does not meet the password policy "
    "(it is too short or too simple).",
    "password is too young to change": "The password was changed too recently to be changed again yet.",
    "password is in history of old passwords": "This password was used before; choose a new one.",
    "must supply old password to be changed as well as new one": "Enter the current password as well.",
    "password is not being changed from existing value": "The new password must differ from the current one.",
    "operations are restricted to bind/unbind/abandon/startls/modify password": "The password must be "
    "changed before anything else can be done.",
}


def _details(exc: ldap.LDAPError) -> dict[str, Any]:
    arg = exc.args[0] if exc.args else {}
    return arg if isinstance(arg, dict) else {"desc": str(arg)}


def _info(exc: ldap.LDAPError) -> str:
    info = str(_details(exc).get("info") or "").strip()
    # slapd's diagnostics are one short line; keep it that way whatever a server sends.
    return " ".join(info.split())[:200]


def _with_info(sentence: str, exc: ldap.LDAPError) -> str:
    info = _info(exc)
    return f"{sentence} (server said: {info})" if info else sentence


def translate(exc: ldap.LDAPError, *, what: str, dn: str = "") -> DirectoryError:
    """Map a python-ldap exception to a DirectoryError. `what` is a short phrase: "add", "search", ..."""
    target = f" {dn}" if dn else ""
    if isinstance(exc, ldap.SERVER_DOWN | ldap.CONNECT_ERROR):
        return DirectoryUnavailable("The directory server cannot be reached. Try again in a moment.")
    if isinstance(exc, ldap.TIMEOUT | ldap.TIMELIMIT_EXCEEDED):
        return DirectoryUnavailable(f"The directory server did not answer in time ({what}{target}).")
    if isinstance(exc, ldap.BUSY | ldap.UNAVAILABLE | ldap.ADMINLIMIT_EXCEEDED):
        return DirectoryUnavailable(_with_info(f"The directory server is busy ({what}{target}).", exc))
    info = _info(exc).lower()
    for known, sentence in _PPOLICY_MESSAGES.items():
        if info.startswith(known):
            return DirectoryRefused(sentence)
    if isinstance(exc, ldap.ALREADY_EXISTS):
        return DirectoryConflict(f"An entry with this name already exists: {dn or 'unknown'}.")
    if isinstance(exc, ldap.TYPE_OR_VALUE_EXISTS):
        return DirectoryConflict(f"The entry{target} already has this value.")
    if isinstance(exc, ldap.CONSTRAINT_VIOLATION):
        if "not unique" in info or "non-unique" in info:
            # slapo-unique ("some attributes not unique"; 2.5: "non-unique attributes found with (filter)"):
            # a login name or an address used elsewhere.
            return DirectoryConflict(
                "This login name or address is already used elsewhere on the server "
                "(login names and addresses are unique across all domains)."
            )
        return DirectoryRefused(_with_info(f"The directory refused the change{target}", exc) + ".")
    if isinstance(exc, ldap.NO_SUCH_OBJECT):
        return DirectoryNotFound(f"The entry{target} does not exist (or its parent does not).")
    if isinstance(exc, ldap.INVALID_CREDENTIALS):
        return DirectoryRefused("Wrong login name or password.")
    if isinstance(exc, ldap.INSUFFICIENT_ACCESS | ldap.STRONG_AUTH_REQUIRED | ldap.INAPPROPRIATE_AUTH):
        return DirectoryRefused(f"The directory does not allow this {what}{target}.")
    if isinstance(exc, ldap.NOT_ALLOWED_ON_NONLEAF):
        return DirectoryRefused(f"The entry{target} still contains entries; remove them first.")
    if isinstance(exc, ldap.SIZELIMIT_EXCEEDED):
        return DirectorySizeLimit("The search matched too many entries; narrow it down or page through it.")
    if "cookie" in info:  # "paged results cookie is invalid" (PROTOCOL_ERROR) / "... or old" (UNWILLING)
        return DirectoryPageExpired("This page of results has expired; start again from the first page.")
    if isinstance(
        exc,
        ldap.OBJECT_CLASS_VIOLATION
        | ldap.INVALID_SYNTAX
        | ldap.UNDEFINED_TYPE
        | ldap.NAMING_VIOLATION
        | ldap.INVALID_DN_SYNTAX
        | ldap.UNWILLING_TO_PERFORM
        | ldap.NO_SUCH_ATTRIBUTE
        | ldap.NOT_ALLOWED_ON_RDN
        | ldap.INAPPROPRIATE_MATCHING
        | ldap.UNAVAILABLE_CRITICAL_EXTENSION,
    ):
        return DirectoryRefused(_with_info(f"The directory refused this {what}{target}", exc) + ".")
    desc = str(_details(exc).get("desc") or type(exc).__name__)
    return DirectoryError(
        _with_info(f"Directory error during {what}{target}: {desc}", exc) + ".", permanent=False
    )
