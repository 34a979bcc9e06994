"""The backup file: a tar stream, compressed by zstd, gzip or xz, with a manifest as its LAST member.

Writing streams: each member goes through a hashing writer into the compressor's stdin, so nothing is held in
memory and the archive is written once. The manifest (what, when, versions, and the sha256 and size of every
member) is known only at the end, so it is the last member; a reader therefore verifies a file by reading it
whole once (`inspect`) before anything in it is used, and reads it a second time to restore
(docs/decisions/0014).

The file is written under a dot-name in the catalogue directory, fsynced, and renamed: a crash or a kill
leaves at most a `.…partial` file, which the catalogue never lists and the temp clean-up removes.

Reading trusts nothing: the compression is told by the first bytes; every member must be a regular file whose
name fits the layout we write (so no absolute path, no `..`, no link, no device can pass); member count,
expanded bytes and the compression ratio are capped while reading, not after.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from mailadmin.configfiles.files import fsync_dir

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


class _Hashing(io.RawIOBase):
    """Wraps a source file object: tarfile reads through it, the sha256 and byte count follow."""

    def __init__(self, source: IO[bytes]) -> None:
        self.source = source
        self.sha = hashlib.sha256()
        self.count = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self.source.read(size)
        self.sha.update(data)
        self.count += len(data)
        return data


class Writer:
    """Write one backup file: `with Writer(dir, name, "zstd") as w: w.add_bytes(...); w.commit(manifest)`.

    Leaving the block without `commit` (an exception, a cancel) kills the compressor and removes the
    partial file. `commit` writes the manifest, waits for the compressor, fsyncs the file and renames it
    into place."""

    def __init__(self, directory: Path, name: str, compression: str) -> None:
        if compression not in COMPRESSIONS:
            raise BackupRefused(f"Unknown compression {compression!r}.")
        self.directory = directory
        self.final = directory / name
        self.partial = directory / f".{name}.partial"
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        # The manifest's member list goes to a temp file as members are written (a line each), so memory does
        # not grow with the number of messages; names outside mail/ are few and checked for repeats here,
        # those inside are unique by the layout (login, folder number, UID).
        self._index = tempfile.TemporaryFile(dir=directory)  # noqa: SIM115 — closed in commit/abort
        self._names: set[str] = set()
        self.count = 0
        self.bytes_in = 0
        self.committed = False
        self._out = open(self.partial, "xb")  # noqa: SIM115 — closed in commit/abort
        os.fchmod(self._out.fileno(), 0o600)
        self._proc = subprocess.Popen(
            COMPRESSIONS[compression][0], stdin=subprocess.PIPE, stdout=self._out, stderr=subprocess.PIPE
        )
        self._stdin = _pipe(self._proc.stdin)
        self._tar = tarfile.open(  # noqa: SIM115 — closed in commit/abort
            fileobj=self._stdin, mode="w|", format=tarfile.PAX_FORMAT
        )

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self.committed:
            self.abort()

    def _info(self, name: str, size: int, mtime: float | None, pax: dict[str, str] | None) -> tarfile.TarInfo:
        if not MEMBER_NAME.fullmatch(name) or name in self._names or name == MANIFEST:
            raise ValueError(f"not a member name a backup may hold: {name!r}")
        if not name.startswith("mail/") or name.endswith("/mailbox.json"):
            self._names.add(name)
        info = tarfile.TarInfo(name)
        info.size = size
        info.mode = 0o600
        info.mtime = int(mtime if mtime is not None else time.time())
        if pax:
            info.pax_headers = dict(pax)
        return info

    def add_stream(
        self,
        name: str,
        source: IO[bytes],
        size: int,
        *,
        mtime: float | None = None,
        pax: dict[str, str] | None = None,
    ) -> None:
        """A member of known size whose bytes come from `source` (read once, hashed on the way)."""
        hashing = _Hashing(source)
        self._tar.addfile(self._info(name, size, mtime, pax), hashing)
        if hashing.count != size:
            raise OSError(f"{name}: expected {size} bytes, read {hashing.count}")
        self._index.write(f"{json.dumps(name)}\t{size}\t{hashing.sha.hexdigest()}\n".encode())
        self.count += 1
        self.bytes_in += size

    def add_bytes(
        self, name: str, data: bytes, *, mtime: float | None = None, pax: dict[str, str] | None = None
    ) -> None:
        self.add_stream(name, io.BytesIO(data), len(data), mtime=mtime, pax=pax)

    def add_file(self, name: str, path: Path) -> None:
        with path.open("rb") as f:
            self.add_stream(name, f, os.fstat(f.fileno()).st_size)

    def _manifest(self, manifest: dict[str, Any]) -> IO[bytes]:
        """The manifest as JSON in a temp file, its member list copied from the index line by line."""
        facts = {k: v for k, v in manifest.items() if k != "members"} | {"format": FORMAT}
        head = json.dumps(facts, sort_keys=True)  # never "{}": it has the format
        out = tempfile.TemporaryFile(dir=self.directory)  # noqa: SIM115 — closed by the caller
        out.write(head[:-1].encode() + b', "members": {')
        self._index.seek(0)
        for number, line in enumerate(self._index):
            name, size, sha = line.decode().rstrip("\n").split("\t")
            entry = f'{", " if number else ""}{name}: {{"sha256": "{sha}", "size": {size}}}'
            out.write(entry.encode())
        out.write(b"}}")
        out.seek(0)
        return out

    def commit(self, manifest: dict[str, Any]) -> Path:
        with self._manifest(manifest) as data:
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mode, info.mtime = os.fstat(data.fileno()).st_size, 0o600, int(time.time())
            self._tar.addfile(info, data)
        self._index.close()
        self._tar.close()
        self._stdin.close()
        err = self._proc.stderr.read().decode(errors="replace") if self._proc.stderr else ""
        if self._proc.wait() != 0:
            self.abort()
            raise OSError(f"the compressor failed: {err.strip()[:300]}")
        self._out.flush()
        os.fsync(self._out.fileno())
        self._out.close()
        os.rename(self.partial, self.final)
        fsync_dir(self.directory)
        self.committed = True
        return self.final

    def abort(self) -> None:
        # tarfile's stream would flush its buffer into the dead pipe when collected: mark it closed
        for obj in (self._tar, getattr(self._tar, "fileobj", None)):
            if obj is not None:
                obj.closed = True  # type: ignore[union-attr]
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        for stream in (self._proc.stdin, self._proc.stderr):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
        self._out.close()
        self._index.close()
        self.partial.unlink(missing_ok=True)


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


def file_sha256(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            sha.update(chunk)
    return sha.hexdigest()
