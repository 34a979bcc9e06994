"""What a backup file is made of: its member names, compressions, manifest and limits."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

MANIFEST = "manifest.json"
FORMAT = "mailadmin-backup/1"
CHUNK = 1024 * 1024
RATIO_FLOOR = 16 * 1024 * 1024  # below this many expanded bytes the ratio is not judged

# name -> (compress argv, decompress argv, file suffix, magic bytes)
COMPRESSIONS: dict[str, tuple[list[str], list[str], str, bytes]] = {
    "zstd": (["zstd", "-q", "-3", "-T2", "-c"], ["zstd", "-q", "-d", "-c"], "tar.zst", b"\x28\xb5\x2f\xfd"),
    "gzip": (["gzip", "-c", "-6"], ["gzip", "-d", "-c"], "tar.gz", b"\x1f\x8b"),
    "xz": (["xz", "-T2", "-c", "-6"], ["xz", "-d", "-c"], "tar.xz", b"\xfd7zXZ\x00"),
}

# Every member name a backup of ours can hold. Anything else is refused, which is what keeps out absolute
# paths, `..`, odd characters and names a restore would not know what to do with.
_LOGIN = r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,254}"
MEMBER_NAME = re.compile(
    r"(?:manifest\.json"
    r"|config/files/[a-z0-9_-]{1,32}/[A-Za-z0-9][A-Za-z0-9._-]{0,99}"
    r"|config/values/[a-z0-9_-]{1,32}\.json"
    r"|config/console\.json"
    r"|ldap/(?:config|data|domain)\.ldif"
    rf"|mail/{_LOGIN}/mailbox\.json"
    rf"|mail/{_LOGIN}/[0-9]{{1,6}}/[0-9]{{1,10}}\.eml)"
)
PAX_FLAGS = "MAILADMIN.flags"  # a message's IMAP flags, in its member's pax header


class BackupRefused(Exception):
    """The file is not a backup we can use; the message says why, for the administrator."""


@dataclass(frozen=True)
class Limits:
    max_members: int
    max_expanded: int
    max_ratio: int


@dataclass
class Manifest:
    data: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.data.get("kind", ""))

    @property
    def members(self) -> dict[str, dict[str, Any]]:
        found = self.data.get("members")
        return found if isinstance(found, dict) else {}


def _pipe(stream: IO[bytes] | None) -> IO[bytes]:
    if stream is None:
        raise OSError("the compressor has no pipe")
    return stream


def compression_of(path: Path) -> str:
    with path.open("rb") as f:
        head = f.read(8)
    for name, (_c, _d, _s, magic) in COMPRESSIONS.items():
        if head.startswith(magic):
            return name
    raise BackupRefused("The file is not a backup: it is not compressed with zstd, gzip or xz.")


def file_sha256(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            sha.update(chunk)
    return sha.hexdigest()
