"""Writing a backup file: members hashed on their way into the compressor, the manifest last, the file
renamed into place only when it is complete."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path
from typing import IO, Any

from backup.archive.layout import COMPRESSIONS, FORMAT, MANIFEST, MEMBER_NAME, BackupRefused, _pipe
from mailadmin.configfiles.files import fsync_dir


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
