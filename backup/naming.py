"""Backup file names as the manual gives them: `<kind>_<date>_<time>.<ext>` (cfg_, ldap_, mail_), with the
domain or the user for a set of one domain or one user (`mail_20261207_101500_a.test.tar.zst`), and domain_
for a per-domain set. A name is also how an uploaded file's place in the catalogue is decided, so the parser
is strict."""

from __future__ import annotations

import re
from datetime import datetime

from backup.archive import COMPRESSIONS

KINDS = ("cfg", "ldap", "mail", "domain")
_SCOPE = r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,120}"
NAME = re.compile(
    rf"(?P<kind>cfg|ldap|mail|domain)_(?P<date>\d{{8}})_(?P<time>\d{{6}})(?:_(?P<scope>{_SCOPE}))?"
    rf"(?:-(?P<n>\d{{1,3}}))?\.(?P<ext>tar\.zst|tar\.gz|tar\.xz)"
)


def file_name(
    what: str, when: datetime, compression: str, *, domain: str = "", users: list[str] | None = None
) -> str:
    if what not in KINDS:
        raise ValueError(f"unknown backup kind {what!r}")
    scope = domain or (users[0] if users and len(users) == 1 else ("users" if users else ""))
    stem = f"{what}_{when:%Y%m%d}_{when:%H%M%S}" + (f"_{scope}" if scope else "")
    name = f"{stem}.{COMPRESSIONS[compression][2]}"
    if not NAME.fullmatch(name):
        raise ValueError(f"cannot name a backup for {scope!r}")
    return name


def parse(name: str) -> re.Match[str] | None:
    return NAME.fullmatch(name)
