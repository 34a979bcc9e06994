"""Looking at the directory from outside, the way an administrator would: the ldapsearch / ldapwhoami CLI."""

from __future__ import annotations

import base64
import subprocess

from django.conf import settings


def dump(base: str, *, scope: str = "sub") -> str:
    """LDIF of everything under `base` (user and operational attributes), as the manager sees it."""
    result = subprocess.run(
        [
            "ldapsearch",
            "-LLL",
            "-o",
            "ldif-wrap=no",
            "-x",
            "-H",
            settings.LDAP_URI,
            "-D",
            settings.LDAP_ADMIN_DN,
            "-w",
            settings.LDAP_ADMIN_PASSWORD,
            "-s",
            scope,
            "-b",
            base,
            "(objectClass=*)",
            "*",
            "+",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if result.returncode not in (0, 32):  # 32: no such object
        raise AssertionError(f"ldapsearch failed: {result.stderr}")
    # slapd's order of a subtree search is not stable across changes: sort entries (and values) by DN.
    entries = [e for e in result.stdout.strip().split("\n\n") if e.strip()]
    return "\n\n".join(sorted("\n".join(sorted(e.splitlines())) for e in entries)) + "\n"


def bind_ok(dn: str, password: str) -> bool:
    result = subprocess.run(
        ["ldapwhoami", "-x", "-H", settings.LDAP_URI, "-D", dn, "-w", password],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return result.returncode == 0


def attribute(dn: str, name: str) -> list[str]:
    """Values of one attribute of one entry (base64 `attr::` values decoded)."""
    values = []
    for line in dump(dn, scope="base").splitlines():
        key, sep, rest = line.partition(":")
        if not sep or key.lower() != name.lower():
            continue
        if rest.startswith(":"):
            values.append(base64.b64decode(rest[1:].strip()).decode("utf-8", "replace"))
        else:
            values.append(rest.strip())
    return values
