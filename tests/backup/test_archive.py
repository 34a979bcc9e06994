"""The backup file format: written whole or not at all, read back only when every member matches."""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
from pathlib import Path

import pytest

from backup import archive
from backup.archive import BackupRefused, Limits, Writer

LIMITS = Limits(max_members=1000, max_expanded=50 * 1024 * 1024, max_ratio=200)


def _write(tmp_path: Path, compression: str = "zstd") -> Path:
    with Writer(tmp_path, f"ldap_test.{archive.COMPRESSIONS[compression][2]}", compression) as w:
        w.add_bytes("ldap/data.ldif", b"dn: dc=x\n")
        w.add_bytes(
            "mail/jane/1/7.eml",
            b"Subject: hi\r\n\r\nbody\r\n",
            mtime=1_000_000,
            pax={archive.PAX_FLAGS: "\\Seen"},
        )
        return w.commit({"kind": "ldap"})


@pytest.mark.parametrize("compression", ["zstd", "gzip", "xz"])
def test_written_file_reads_back_with_its_manifest(tmp_path: Path, compression: str) -> None:
    path = _write(tmp_path, compression)
    assert path.exists() and not list(tmp_path.glob(".*partial"))
    assert path.stat().st_mode & 0o777 == 0o600
    manifest = archive.inspect(path, LIMITS)
    assert manifest.kind == "ldap" and set(manifest.members) == {"ldap/data.ldif", "mail/jane/1/7.eml"}
    entry = [e for e in archive.entries(path, LIMITS) if e.name.endswith(".eml")][0]
    assert entry.pax == {archive.PAX_FLAGS: "\\Seen"} and entry.mtime == 1_000_000


def test_abandoned_writer_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), Writer(tmp_path, "ldap_x.tar.zst", "zstd") as w:
        w.add_bytes("ldap/data.ldif", b"x" * 100_000)
        raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_writer_refuses_names_outside_the_layout(tmp_path: Path) -> None:
    with Writer(tmp_path, "x.tar.zst", "zstd") as w:
        for bad in ("../etc/passwd", "/etc/passwd", "mail/../x.eml", "ldap/other.ldif", "manifest.json"):
            with pytest.raises(ValueError):
                w.add_bytes(bad, b"x")


def _hostile(tmp_path: Path, build: object) -> Path:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        build(tar)  # type: ignore[operator]
    out = tmp_path / "hostile.tar.zst"
    out.write_bytes(
        subprocess.run(["zstd", "-q", "-c"], input=raw.getvalue(), capture_output=True, check=True).stdout
    )
    return out


def _member(
    tar: tarfile.TarFile, name: str, data: bytes, kind: bytes = tarfile.REGTYPE, link: str = ""
) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    info.type = kind
    info.linkname = link
    tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)


def _manifest(members: dict[str, bytes]) -> bytes:
    import hashlib

    listed = {n: {"size": len(d), "sha256": hashlib.sha256(d).hexdigest()} for n, d in members.items()}
    return json.dumps({"format": archive.FORMAT, "kind": "ldap", "members": listed}).encode()


@pytest.mark.parametrize(
    "case,expect",
    [
        ("slip", "not part of a backup"),
        ("absolute", "not part of a backup"),
        ("symlink", "not a plain file"),
        ("hardlink", "not a plain file"),
        ("device", "not a plain file"),
        ("no-manifest", "no manifest"),
        ("wrong-sum", "does not match its checksum"),
        ("unlisted", "does not match the file"),
        ("after-manifest", "after its manifest"),
    ],
)
def test_hostile_files_are_refused(tmp_path: Path, case: str, expect: str) -> None:
    good = {"ldap/data.ldif": b"dn: dc=x\n"}

    def build(tar: tarfile.TarFile) -> None:
        if case == "slip":
            _member(tar, "mail/../../etc/cron.d/x", b"x")
        elif case == "absolute":
            _member(tar, "/etc/passwd", b"x")
        elif case == "symlink":
            _member(tar, "ldap/data.ldif", b"", tarfile.SYMTYPE, "/etc/shadow")
        elif case == "hardlink":
            _member(tar, "ldap/data.ldif", b"", tarfile.LNKTYPE, "/etc/shadow")
        elif case == "device":
            _member(tar, "ldap/data.ldif", b"", tarfile.CHRTYPE)
        elif case == "no-manifest":
            _member(tar, "ldap/data.ldif", good["ldap/data.ldif"])
        elif case == "wrong-sum":
            _member(tar, "ldap/data.ldif", b"dn: dc=evil\n")
            _member(tar, "manifest.json", _manifest({"ldap/data.ldif": b"dn: dc=good\n"}))
        elif case == "unlisted":
            _member(tar, "ldap/data.ldif", good["ldap/data.ldif"])
            _member(tar, "ldap/config.ldif", b"x")
            _member(tar, "manifest.json", _manifest(good))
        elif case == "after-manifest":
            _member(tar, "ldap/data.ldif", good["ldap/data.ldif"])
            _member(tar, "manifest.json", _manifest(good))
            _member(tar, "ldap/config.ldif", b"x")

    path = _hostile(tmp_path, build)
    with pytest.raises(BackupRefused, match=expect):
        archive.inspect(path, LIMITS)


def test_bomb_and_member_caps(tmp_path: Path) -> None:
    def big(tar: tarfile.TarFile) -> None:
        _member(tar, "ldap/data.ldif", b"\0" * (40 * 1024 * 1024))

    with pytest.raises(BackupRefused, match="compression bomb"):
        archive.inspect(_hostile(tmp_path, big), LIMITS)
    with pytest.raises(BackupRefused, match="more than"):
        archive.inspect(_hostile(tmp_path, big), Limits(1000, 10 * 1024 * 1024, 100_000))

    def many(tar: tarfile.TarFile) -> None:
        for n in range(20):
            _member(tar, f"mail/jane/1/{n}.eml", b"x")

    with pytest.raises(BackupRefused, match="more than 10 members"):
        archive.inspect(_hostile(tmp_path, many), Limits(10, 10**9, 200))


def test_not_compressed_or_truncated(tmp_path: Path) -> None:
    plain = tmp_path / "plain.tar.zst"
    plain.write_bytes(b"hello")
    with pytest.raises(BackupRefused, match="not compressed"):
        archive.inspect(plain, LIMITS)
    path = _write(tmp_path)
    cut = tmp_path / "cut.tar.zst"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(BackupRefused):
        archive.inspect(cut, LIMITS)


def test_writer_makes_its_directory(tmp_path: Path) -> None:
    with Writer(tmp_path / "new" / "dir", "cfg_x.tar.zst", "zstd") as w:
        w.add_bytes("config/console.json", b"{}")
        path = w.commit({"kind": "cfg"})
    assert archive.inspect(path, LIMITS).kind == "cfg"
