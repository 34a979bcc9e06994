"""Reading a backup file without trusting it: every member checked as it comes, the whole file against
its manifest before anything in it is used."""

from __future__ import annotations

import hashlib
import json
import subprocess
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from backup.archive.layout import (
    CHUNK,
    COMPRESSIONS,
    FORMAT,
    MANIFEST,
    MEMBER_NAME,
    RATIO_FLOOR,
    BackupRefused,
    Limits,
    Manifest,
    _pipe,
    compression_of,
)


@dataclass
class Entry:
    """One member as a reader meets it: its name, size, time, pax flags, and a file object for its bytes
    (valid only until the next member)."""

    name: str
    size: int
    mtime: float
    pax: dict[str, str] = field(default_factory=dict)
    fileobj: IO[bytes] | None = None


class _Decompressed:
    """The decompressor's output as a file object, counting bytes against the caps."""

    def __init__(self, path: Path, limits: Limits) -> None:
        self.packed = max(path.stat().st_size, 1)
        self.limits = limits
        self.count = 0
        self._src = path.open("rb")
        self.proc = subprocess.Popen(
            COMPRESSIONS[compression_of(path)][1],
            stdin=self._src,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )

    def read(self, size: int = -1) -> bytes:
        data = _pipe(self.proc.stdout).read(size)
        self.count += len(data)
        if self.count > self.limits.max_expanded:
            raise BackupRefused(f"The file expands to more than {self.limits.max_expanded} bytes.")
        if self.count > RATIO_FLOOR and self.count / self.packed > self.limits.max_ratio:
            raise BackupRefused("The file expands far more than any backup does (a compression bomb?).")
        return data

    def close(self) -> str:
        """Stop the decompressor; its complaint when it failed (a truncated or corrupt file), else ""."""
        if self.proc.poll() is None:
            while _pipe(self.proc.stdout).read(CHUNK):  # let it finish so its exit code means something
                pass
        rc = self.proc.wait()
        err = self.proc.stderr.read().decode(errors="replace").strip() if self.proc.stderr else ""
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()
        self._src.close()
        return "" if rc == 0 else (err or f"exit {rc}")[:300]

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()
        self._src.close()


def entries(path: Path, limits: Limits) -> Iterator[Entry]:
    """Every member in order, checked (type, name, count, caps) before its bytes are offered. The caller reads
    `fileobj` or not; the next member is read either way."""
    stream = _Decompressed(path, limits)
    finished = False
    try:
        try:
            tar = tarfile.open(fileobj=stream, mode="r|")  # type: ignore[call-overload]  # noqa: SIM115
        except tarfile.TarError as exc:
            raise BackupRefused(f"The file is not a readable backup: {exc}") from exc
        count = 0
        seen: set[str] = set()
        try:
            for info in tar:
                count += 1
                if count > limits.max_members:
                    raise BackupRefused(f"The file has more than {limits.max_members} members.")
                shown = info.name[:120].encode("unicode_escape").decode("ascii")
                if not info.isreg():
                    raise BackupRefused(f"The member {shown!r} is not a plain file (a link or a device?).")
                if not MEMBER_NAME.fullmatch(info.name):
                    raise BackupRefused(f"The member {shown!r} is not part of a backup's layout.")
                if info.name in seen:
                    raise BackupRefused(f"The member {shown!r} appears twice.")
                seen.add(info.name)
                pax = {k: v for k, v in info.pax_headers.items() if k.startswith("MAILADMIN.")}
                yield Entry(info.name, info.size, float(info.mtime), pax, tar.extractfile(info))
        except tarfile.TarError as exc:
            raise BackupRefused(f"The file is damaged: {exc}") from exc
        finished = True
    finally:
        if finished:
            complaint = stream.close()
            if complaint:
                raise BackupRefused(f"The file is damaged (the decompressor said: {complaint}).")
        else:
            stream.kill()


def inspect(path: Path, limits: Limits, *, tick: Callable[[int], None] | None = None) -> Manifest:
    """Read the whole file once: every member checked and hashed, the manifest last, and every member it
    lists present with its size and sha256 — nothing more, nothing less. BackupRefused says what is wrong."""
    found: dict[str, dict[str, Any]] = {}
    manifest: dict[str, Any] | None = None
    for entry in entries(path, limits):
        if manifest is not None:
            raise BackupRefused("The file has members after its manifest.")
        if entry.fileobj is None:
            raise BackupRefused(f"The member {entry.name!r} cannot be read.")
        if entry.name == MANIFEST:
            if entry.size > 64 * 1024 * 1024:
                raise BackupRefused("The manifest is too large.")
            try:
                loaded = json.loads(entry.fileobj.read())
            except ValueError as exc:
                raise BackupRefused("The manifest is not valid JSON.") from exc
            if not isinstance(loaded, dict) or loaded.get("format") != FORMAT:
                raise BackupRefused("The file is not a mailadmin backup (its manifest has another format).")
            manifest = loaded
            continue
        sha = hashlib.sha256()
        size = 0
        while chunk := entry.fileobj.read(CHUNK):
            sha.update(chunk)
            size += len(chunk)
        found[entry.name] = {"size": size, "sha256": sha.hexdigest()}
        if tick is not None:
            tick(size)
    if manifest is None:
        raise BackupRefused("The file has no manifest (not a backup, or cut short).")
    listed = manifest.get("members")
    if not isinstance(listed, dict):
        raise BackupRefused("The manifest lists no members.")
    if set(listed) != set(found):
        missing = sorted(set(listed) - set(found))[:3]
        extra = sorted(set(found) - set(listed))[:3]
        raise BackupRefused(
            f"The manifest does not match the file (missing: {missing}, not listed: {extra})."
        )
    for name, facts in found.items():
        want = listed[name]
        if (
            not isinstance(want, dict)
            or want.get("sha256") != facts["sha256"]
            or want.get("size") != facts["size"]
        ):
            raise BackupRefused(f"The member {name!r} does not match its checksum in the manifest.")
    return Manifest(manifest)
