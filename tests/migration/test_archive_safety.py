"""Hostile archives are refused before anything is unpacked, and nothing lands outside the import's directory.

Every archive is made in the test (a zip bomb of a few MB of zeros, tars with `..`, absolute paths, links,
devices and FIFOs). After each refusal the directory the import would have used is still empty, and the
place a hostile name points at does not exist.
"""

from __future__ import annotations

import io
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest

from migration.archives.safety import ArchiveRefused, Kind, Limits, check_name, detect_kind, unpack

LIMITS = Limits(max_members=50, max_expanded=64 * 1024 * 1024, max_ratio=100)


def _tar(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]], mode: str = "w:gz") -> Path:
    with tarfile.open(path, mode) as tar:  # type: ignore[call-overload]
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def _file(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def _special(name: str, kind: bytes, **extra: object) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = kind
    for key, value in extra.items():
        setattr(info, key, value)
    return info, None


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    out = tmp_path / "work" / "unpacked"
    out.mkdir(parents=True, mode=0o700)
    return out


def _refused(archive: Path, kind: Kind, dest: Path, words: str) -> None:
    with pytest.raises(ArchiveRefused) as caught:
        unpack(archive, kind, dest, LIMITS)
    assert words in str(caught.value), str(caught.value)
    assert list(dest.iterdir()) == [], "nothing is unpacked from a refused archive"


def test_a_zip_bomb_is_refused_before_it_is_expanded(tmp_path: Path, dest: Path) -> None:
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("Inbox/1.eml", b"Subject: hi\r\n\r\nhello\r\n")
        zf.writestr("Inbox/2.eml", b"\0" * (24 * 1024 * 1024))
    assert bomb.stat().st_size < 100_000
    _refused(bomb, Kind.ZIP, dest, "zip bomb")


def test_a_tar_bomb_is_refused_from_its_header(tmp_path: Path, dest: Path) -> None:
    bomb = _tar(tmp_path / "bomb.tar.gz", [_file("mbox", b"\0" * (20 * 1024 * 1024))])
    _refused(bomb, Kind.TAR, dest, "zip bomb")


def test_a_tar_climbing_out_is_refused_and_writes_nothing(tmp_path: Path, dest: Path) -> None:
    archive = _tar(
        tmp_path / "evil.tar.gz",
        [
            _file("Maildir/cur/1:2,S", b"Subject: a\r\n\r\nb\r\n"),
            _file("../../etc/cron.d/x", b"* * * * * root id\n"),
        ],
    )
    _refused(archive, Kind.TAR, dest, "points outside the archive (..)")
    assert not (dest.parent.parent / "etc").exists() and not (dest.parent / "etc").exists()
    assert not (tmp_path / "etc").exists()


def test_absolute_paths_are_refused(tmp_path: Path, dest: Path) -> None:
    _refused(_tar(tmp_path / "abs.tar", [_file("/tmp/x.eml", b"x")], "w"), Kind.TAR, dest, "absolute path")
    windows = tmp_path / "abs.zip"
    with zipfile.ZipFile(windows, "w") as zf:
        zf.writestr("C:\\Windows\\x.eml", b"x")
    _refused(windows, Kind.ZIP, dest, "absolute path")
    backslashes = tmp_path / "back.zip"
    with zipfile.ZipFile(backslashes, "w") as zf:
        zf.writestr("Inbox\\..\\..\\x.eml", b"x")
    _refused(backslashes, Kind.ZIP, dest, "(..)")


def test_links_devices_and_fifos_are_refused(tmp_path: Path, dest: Path) -> None:
    cases = [
        (_special("Maildir/cur/link", tarfile.SYMTYPE, linkname="/etc/passwd"), "symbolic link"),
        (_special("Maildir/cur/hard", tarfile.LNKTYPE, linkname="Maildir/cur/1"), "hard link"),
        (_special("Maildir/cur/dev", tarfile.CHRTYPE, devmajor=1, devminor=3), "a device"),
        (_special("Maildir/cur/blk", tarfile.BLKTYPE, devmajor=8, devminor=0), "a device"),
        (_special("Maildir/cur/fifo", tarfile.FIFOTYPE), "a FIFO"),
    ]
    for n, (member, words) in enumerate(cases):
        archive = _tar(
            tmp_path / f"special{n}.tar", [_file("Maildir/cur/1", b"Subject: a\r\n\r\nb\r\n"), member]
        )
        _refused(archive, Kind.TAR, dest, words)
    link = tmp_path / "link.zip"
    with zipfile.ZipFile(link, "w") as zf:
        info = zipfile.ZipInfo("Inbox/1.eml")
        info.create_system = 3
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    _refused(link, Kind.ZIP, dest, "symbolic link")


def test_too_many_members_and_control_characters_are_refused(tmp_path: Path, dest: Path) -> None:
    many = tmp_path / "many.zip"
    with zipfile.ZipFile(many, "w") as zf:
        for n in range(LIMITS.max_members + 1):
            zf.writestr(f"Inbox/{n}.eml", b"x")
    _refused(many, Kind.ZIP, dest, "more than 50 members")
    with pytest.raises(ArchiveRefused, match="control character"):
        check_name("Inbox/evil\nname.eml")
    twice = _tar(tmp_path / "twice.tar", [_file("a/1.eml", b"x"), _file("a/1.eml", b"y")], "w")
    _refused(twice, Kind.TAR, dest, "appears twice")


def test_names_are_decoded_safely_and_paths_never_come_from_the_archive(tmp_path: Path, dest: Path) -> None:
    latin = tmp_path / "latin.tar"
    with tarfile.open(latin, "w", encoding="latin-1") as tar:
        info = tarfile.TarInfo("Entw\xfcrfe/1.eml")
        data = b"Subject: x\r\n\r\ny\r\n"
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    members = unpack(latin, Kind.TAR, dest, LIMITS)
    assert [m.parts for m in members] == [("Entwürfe", "1.eml")]
    assert [p.name for p in dest.iterdir()] == ["m0000000"]  # the bytes sit under a name of ours
    assert members[0].path.read_bytes() == b"Subject: x\r\n\r\ny\r\n"
    assert stat.S_IMODE(members[0].path.stat().st_mode) == 0o600


def test_the_kind_comes_from_the_bytes(tmp_path: Path) -> None:
    mbox = tmp_path / "x.zip"
    mbox.write_bytes(b"From a@b Mon Jan  1 00:00:00 2001\nSubject: x\n\ny\n")
    assert detect_kind(mbox) is Kind.MBOX
    junk = tmp_path / "x.mbox"
    junk.write_bytes(b"\x7fELF\x02\x01")
    assert detect_kind(junk) is None
    tgz = _tar(tmp_path / "t.bin", [_file("a.eml", b"x")])
    assert detect_kind(tgz) is Kind.TAR
