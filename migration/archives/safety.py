"""Archives are checked whole before a byte of them is unpacked, then unpacked into the import's directory.

The check refuses the archive, with a sentence naming the member, for: an absolute path, a `..` part, a
control character in a name, a name given twice, a symbolic or hard link, a device, a FIFO or any other
special member, an encrypted or sparse member, more members than allowed, more bytes once expanded than
allowed, and a compression ratio no mail archive has (a zip bomb). Unpacking never lets a member's name
choose a path on disk: member n goes to `<dest>/m<n>` (opened with O_EXCL | O_NOFOLLOW), and its archive path
is kept beside it (`Member.parts`) for the readers. The byte counts are enforced again while copying, so a
member whose header lies about its size is refused too.
"""

from __future__ import annotations

import lzma
import os
import re
import stat
import tarfile
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import IO

from django.conf import settings

CHUNK = 1024 * 1024
# Below this many expanded bytes the ratio is not judged: small text files compress very well.
RATIO_FLOOR = 16 * 1024 * 1024
MAX_NAME = 4096
MAX_DEPTH = 64
_DRIVE = re.compile(r"^[A-Za-z]:")


class ArchiveRefused(Exception):
    """The archive (or the file) cannot be imported; the message says why, for the person who sent it."""


class Kind(StrEnum):
    MBOX = "mbox"
    ZIP = "zip"
    TAR = "tar"
    PST = "pst"


@dataclass(frozen=True)
class Limits:
    max_members: int
    max_expanded: int
    max_ratio: int

    @classmethod
    def from_settings(cls) -> Limits:
        return cls(
            max_members=int(settings.MAIL_IMPORT_MAX_MEMBERS),
            max_expanded=int(settings.MAIL_IMPORT_MAX_EXPANDED),
            max_ratio=int(settings.MAIL_IMPORT_MAX_RATIO),
        )


@dataclass(frozen=True)
class Member:
    """One regular file of an archive: its checked path inside the archive and where its bytes now are."""

    parts: tuple[str, ...]
    path: Path
    size: int
    mtime: float | None = None


def detect_kind(path: Path) -> Kind | None:
    """What the file is, from its first bytes (never from the name a browser sent)."""
    with path.open("rb") as f:
        head = f.read(512)
    if head.startswith(b"!BDN"):
        return Kind.PST
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return Kind.ZIP
    if head.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00")) or head[257:262] == b"ustar":
        return Kind.TAR
    if head.startswith(b"From "):
        return Kind.MBOX
    return None


def decode_name(raw: str) -> str:
    """A member name as text: UTF-8 if it is, else Latin-1 (tarfile hands undecodable bytes over as
    surrogates; zipfile has decoded CP437 or UTF-8 already)."""
    try:
        return raw.encode("utf-8", "surrogateescape").decode("utf-8")
    except UnicodeError:
        return raw.encode("utf-8", "surrogateescape").decode("latin-1")


def check_name(raw: str) -> tuple[str, ...]:
    """The parts of a member's path; ArchiveRefused for anything that could leave the archive's folder.
    An empty tuple is the archive's top folder itself (`./`)."""
    name = decode_name(raw)
    shown = name[:200].encode("unicode_escape").decode("ascii")
    if len(name) > MAX_NAME:
        raise ArchiveRefused(f"The archive was refused: a member name is longer than {MAX_NAME} characters.")
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        raise ArchiveRefused(f"The archive was refused: the member name {shown!r} holds a control character.")
    if name.startswith(("/", "\\")) or _DRIVE.match(name):
        raise ArchiveRefused(f"The archive was refused: the member {shown!r} has an absolute path.")
    parts = tuple(p for p in re.split(r"[\\/]", name) if p not in ("", "."))
    if ".." in parts:
        raise ArchiveRefused(
            f"The archive was refused: the member {shown!r} points outside the archive (..)."
        )
    if len(parts) > MAX_DEPTH:
        raise ArchiveRefused(f"The archive was refused: the member {shown!r} is nested too deep.")
    return parts


class _Budget:
    """Members and expanded bytes so far, against the limits (the same object checks and unpacks)."""

    def __init__(self, limits: Limits, packed: int) -> None:
        self.limits = limits
        self.packed = max(packed, 1)
        self.members = 0
        self.expanded = 0
        self.names: set[tuple[str, ...]] = set()

    def member(self, parts: tuple[str, ...], size: int) -> None:
        self.members += 1
        if self.members > self.limits.max_members:
            raise ArchiveRefused(
                f"The archive was refused: it has more than {self.limits.max_members} members."
            )
        key = tuple(p.casefold() for p in parts)
        if key in self.names:
            raise ArchiveRefused(f"The archive was refused: {'/'.join(parts)!r} appears twice in it.")
        self.names.add(key)
        self.grow(size)

    def grow(self, size: int) -> None:
        self.expanded += size
        if self.expanded > self.limits.max_expanded:
            raise ArchiveRefused(
                f"The archive was refused: unpacked it would take more than {_mib(self.limits.max_expanded)}."
            )
        if self.expanded > RATIO_FLOOR and self.expanded > self.limits.max_ratio * self.packed:
            raise ArchiveRefused(
                "The archive was refused: it expands more than "
                f"{self.limits.max_ratio} times its size, which no mail archive does (a zip bomb?)."
            )


def _mib(n: int) -> str:
    return f"{n / 1024 / 1024:.0f} MiB"


def _special(mode: int) -> str | None:
    """What a Unix file mode is, if it is not a plain file or folder."""
    kind = stat.S_IFMT(mode)
    if kind in (0, stat.S_IFREG, stat.S_IFDIR):
        return None
    return {
        stat.S_IFLNK: "a symbolic link",
        stat.S_IFCHR: "a device",
        stat.S_IFBLK: "a device",
        stat.S_IFIFO: "a FIFO",
        stat.S_IFSOCK: "a socket",
    }.get(kind, "a special file")


# --- zip ---------------------------------------------------------------------------------------------------


def _zip_members(zf: zipfile.ZipFile, budget: _Budget) -> list[tuple[zipfile.ZipInfo, tuple[str, ...]]]:
    infos = zf.infolist()
    if len(infos) > budget.limits.max_members:
        raise ArchiveRefused(
            f"The archive was refused: it has more than {budget.limits.max_members} members."
        )
    files = []
    for info in infos:
        parts = check_name(info.filename)
        shown = "/".join(parts)
        if info.create_system == 3 and (what := _special(info.external_attr >> 16)):
            raise ArchiveRefused(f"The archive was refused: the member {shown!r} is {what}.")
        if info.flag_bits & 0x1:
            raise ArchiveRefused(f"The archive was refused: the member {shown!r} is encrypted.")
        if info.is_dir() or not parts:
            continue
        if info.file_size > RATIO_FLOOR // 16 and info.file_size > budget.limits.max_ratio * max(
            info.compress_size, 1
        ):
            raise ArchiveRefused(
                f"The archive was refused: the member {shown!r} expands more than "
                f"{budget.limits.max_ratio} times its packed size (a zip bomb?)."
            )
        budget.member(parts, info.file_size)
        files.append((info, parts))
    return files


def _unpack_zip(archive: Path, dest: Path, limits: Limits) -> list[Member]:
    try:
        with zipfile.ZipFile(archive) as zf:
            files = _zip_members(zf, _Budget(limits, archive.stat().st_size))
            budget = _Budget(limits, archive.stat().st_size)  # counted again while copying
            out = []
            for n, (info, parts) in enumerate(files):
                target = dest / f"m{n:07d}"
                with zf.open(info) as src:
                    size = _copy(src, target, budget, info.file_size, "/".join(parts))
                mtime = _zip_time(info)
                out.append(Member(parts, target, size, mtime))
            return out
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
        raise ArchiveRefused(f"The zip archive cannot be read: {exc}.") from exc


def _zip_time(info: zipfile.ZipInfo) -> float | None:
    import datetime as dt

    try:
        return dt.datetime(*info.date_time, tzinfo=dt.UTC).timestamp()
    except ValueError:
        return None


# --- tar ---------------------------------------------------------------------------------------------------


def _tar_walk(tar: tarfile.TarFile, budget: _Budget) -> Iterator[tuple[tarfile.TarInfo, tuple[str, ...]]]:
    """Each regular member, checked before the stream moves past its data (so a bomb is refused from its
    header, before it is decompressed)."""
    while True:
        info = tar.next()
        if info is None:
            return
        parts = check_name(info.name)
        shown = "/".join(parts)
        if info.isdir():
            continue
        if info.issym():
            raise ArchiveRefused(f"The archive was refused: the member {shown!r} is a symbolic link.")
        if info.islnk():
            raise ArchiveRefused(f"The archive was refused: the member {shown!r} is a hard link.")
        if info.ischr() or info.isblk():
            raise ArchiveRefused(f"The archive was refused: the member {shown!r} is a device.")
        if info.isfifo():
            raise ArchiveRefused(f"The archive was refused: the member {shown!r} is a FIFO.")
        if info.issparse() or not info.isreg():
            raise ArchiveRefused(f"The archive was refused: the member {shown!r} is a special file.")
        if not parts:
            continue
        budget.member(parts, info.size)
        yield info, parts


def _open_tar(archive: Path) -> tarfile.TarFile:
    return tarfile.open(archive, mode="r:*", encoding="utf-8", errors="surrogateescape")  # noqa: SIM115


def _unpack_tar(archive: Path, dest: Path, limits: Limits) -> list[Member]:
    packed = archive.stat().st_size
    try:
        with _open_tar(archive) as tar:
            for _ in _tar_walk(tar, _Budget(limits, packed)):
                pass  # the whole listing first: nothing is written unless every member passes
        out = []
        with _open_tar(archive) as tar:
            copied = _Budget(limits, packed)
            for n, (info, parts) in enumerate(_tar_walk(tar, _Budget(limits, packed))):
                src = tar.extractfile(info)
                if src is None:
                    raise ArchiveRefused(f"The archive was refused: {'/'.join(parts)!r} cannot be read.")
                target = dest / f"m{n:07d}"
                with src:
                    size = _copy(src, target, copied, info.size, "/".join(parts))
                out.append(Member(parts, target, size, float(info.mtime) if info.mtime else None))
        return out
    except (tarfile.TarError, EOFError, zlib.error, lzma.LZMAError, OSError) as exc:
        if isinstance(exc, OSError) and exc.errno is not None:
            raise  # the disk, not the archive
        raise ArchiveRefused(f"The tar archive cannot be read: {exc}.") from exc


# --- both --------------------------------------------------------------------------------------------------


def _copy(src: IO[bytes], target: Path, budget: _Budget, declared: int, shown: str) -> int:
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    written = 0
    with os.fdopen(fd, "wb") as out:
        while chunk := src.read(CHUNK):
            written += len(chunk)
            if written > declared:
                raise ArchiveRefused(f"The archive was refused: {shown!r} holds more than its header says.")
            budget.grow(len(chunk))
            out.write(chunk)
    return written


def unpack(archive: Path, kind: Kind, dest: Path, limits: Limits | None = None) -> list[Member]:
    """Check the whole archive, then copy its regular files into `dest` (which must exist, mode 0700).
    ArchiveRefused says why nothing (or, when a member lies about its size, nothing usable) was unpacked."""
    limits = limits or Limits.from_settings()
    if kind is Kind.ZIP:
        return _unpack_zip(archive, dest, limits)
    if kind is Kind.TAR:
        return _unpack_tar(archive, dest, limits)
    raise ArchiveRefused("Only zip and tar archives are unpacked.")
