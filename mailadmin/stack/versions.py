"""Versions of the daemons and of the console, for a backup's manifest (what made it, what it may need)."""

from __future__ import annotations

import functools
import subprocess
from importlib import metadata

PACKAGES = ("slapd", "postfix", "cyrus-imapd", "nginx", "proftpd-core")


@functools.cache  # installed packages change with a restart of the console, not while it runs
def versions() -> dict[str, str]:
    found: dict[str, str] = {}
    try:
        found["mailadmin"] = metadata.version("mailadmin")
    except metadata.PackageNotFoundError:
        found["mailadmin"] = "unknown"
    try:
        result = subprocess.run(
            ["dpkg-query", "-W", "-f", "${Package} ${Version}\\n", *PACKAGES],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        lines = result.stdout.splitlines()
    except (OSError, subprocess.TimeoutExpired):
        lines = []
    for line in lines:
        name, _, version = line.partition(" ")
        if name in PACKAGES and version:
            found[name] = version
    return found
