"""The two housekeeping jobs of "Scheduled tasks", run for real on real files: log rotation (copy-truncate
while another process keeps appending; generations; links left alone) and temp clean-up (only what is stale
and unused goes; never through a link)."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from backup.schedules.logrotate import ROTATE_LOGS, generation, log_files, rotate_file
from backup.schedules.tempclean import CLEAN_TEMP
from mailadmin.actor import Actor, Roles
from mailadmin.jobs.models import Job
from mailadmin.jobs.services import job_run, job_start
from mailadmin.stack import Stack
from tests.conftest import Personas

DAY = 86400.0
WRITER = """
import sys, time
with open(sys.argv[1], "a", buffering=1) as log:
    for n in range(int(sys.argv[2])):
        log.write(f"line {n:05d}\\n")
        time.sleep(0.002)
"""


def _lines(path: Path) -> list[str]:
    data = b"".join(
        gzip.decompress(generation(path, n).read_bytes())
        for n in range(9, 0, -1)
        if generation(path, n).exists()
    )
    return (data + path.read_bytes()).decode().splitlines()


def test_copy_truncate_keeps_an_appending_writer_going(tmp_path: Path) -> None:
    log = tmp_path / "busy.log"
    count = 1500
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(log), str(count)])
    try:
        rotated = 0
        deadline = time.monotonic() + 30
        while writer.poll() is None and time.monotonic() < deadline:
            time.sleep(0.4)
            if rotate_file(log, keep=9) is not None:
                rotated += 1
        assert writer.wait(timeout=30) == 0
    finally:
        writer.kill()
    assert rotated >= 3
    data = log.read_bytes()
    assert b"\x00" not in data  # the writer appended at the new end, no hole where the old content was
    lines = _lines(log)
    numbers = [int(line.split()[1]) for line in lines]
    assert numbers == sorted(set(numbers))  # in order, none twice
    # Copy-truncate's known window (a line written between the last read and the cut) is microseconds wide.
    assert len(numbers) >= count - rotated and numbers[-1] == count - 1


def test_generations_are_kept_up_to_keep_and_links_are_left_alone(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    for n in range(4):
        log.write_text(f"round {n}\n")
        assert rotate_file(log, keep=2) is not None
    assert log.read_bytes() == b""
    assert gzip.decompress(generation(log, 1).read_bytes()) == b"round 3\n"
    assert gzip.decompress(generation(log, 2).read_bytes()) == b"round 2\n"
    assert not generation(log, 3).exists()
    assert rotate_file(log, keep=2) is None  # empty: nothing to do

    precious = tmp_path / "precious.txt"
    precious.write_text("not a log\n")
    link = tmp_path / "link.log"
    link.symlink_to(precious)
    assert rotate_file(link, keep=2) is None
    assert precious.read_text() == "not a log\n" and not generation(link, 1).exists()


def test_log_files_are_the_consoles_and_the_stacks_daemons(
    tmp_path: Path, settings: object, stack: Stack
) -> None:
    (tmp_path / "errors.log").write_text("x\n")
    (tmp_path / "errors.log.1.gz").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("x\n")
    (tmp_path / "elsewhere.log").symlink_to(tmp_path / "notes.txt")
    settings.LOG_DIR = tmp_path  # type: ignore[attr-defined]
    assert log_files(daemons=False) == [tmp_path / "errors.log"]
    settings.STACK_DIR = str(stack.layout.root)  # type: ignore[attr-defined]
    found = log_files(daemons=True)
    assert stack.layout.ldap / "slapd.log" in found and stack.layout.maillog in found
    assert all(p == tmp_path / "errors.log" or p.is_relative_to(stack.layout.root) for p in found)


@pytest.fixture
def admin_actor(personas: Personas) -> Actor:
    return Actor(personas.admin.uid, personas.admin.dn, Roles(administrator=True))


@pytest.mark.django_db
def test_the_rotation_job_rotates_the_console_logs(
    tmp_path: Path, settings: object, admin_actor: Actor
) -> None:
    settings.LOG_DIR = tmp_path  # type: ignore[attr-defined]
    (tmp_path / "celery-worker.log").write_text("worker line\n")
    job = job_start(actor=admin_actor, kind=ROTATE_LOGS, params={"keep": 3, "daemons": False})
    job_run(str(job.pk))  # the handler itself, in this process (no worker: LOG_DIR is this test's)
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED, job.error
    assert job.result == {"rotated": {str(tmp_path / "celery-worker.log"): 12}, "skipped": [], "failed": {}}
    assert gzip.decompress(generation(tmp_path / "celery-worker.log", 1).read_bytes()) == b"worker line\n"


@pytest.mark.django_db
def test_housekeeping_jobs_refuse_someone_who_is_not_an_administrator(personas: Personas) -> None:
    dana = Actor(personas.domain_admin_a.uid, personas.domain_admin_a.dn, Roles())
    job = job_start(actor=dana, kind=CLEAN_TEMP, params={"older_than_hours": 1})
    job_run(str(job.pk))
    job.refresh_from_db()
    assert job.state == Job.State.FAILED and "Only administrators" in job.error


def _age(path: Path, days: float) -> None:
    """Backdate a file, a link or a whole tree (lstat times, links not followed)."""
    when = time.time() - days * DAY
    if path.is_dir() and not path.is_symlink():
        for root, dirs, files in os.walk(path, followlinks=False):
            for name in (*dirs, *files):
                os.utime(os.path.join(root, name), (when, when), follow_symlinks=False)
    os.utime(path, (when, when), follow_symlinks=False)


@pytest.mark.django_db
def test_temp_clean_up_removes_only_what_is_stale_and_unused(
    tmp_path: Path, settings: object, admin_actor: Actor
) -> None:
    imports, mail, backups, outside = (tmp_path / n for n in ("imports", "mail", "backups", "outside"))
    for d in (imports, mail, backups, outside):
        d.mkdir()
    settings.IMPORT_DIR, settings.MAIL_IMPORT_DIR, settings.BACKUP_DIR = imports, mail, backups  # type: ignore[attr-defined]
    settings.IMPORT_KEEP_HOURS = 24  # type: ignore[attr-defined]
    (outside / "keep.txt").write_text("precious")
    (outside / "tree").mkdir()
    (outside / "tree" / "deep.txt").write_text("precious too")

    def tree(path: Path, days: float, files: int = 2) -> Path:
        path.mkdir()
        for n in range(files):
            (path / f"f{n}.upload").write_text("data")
        _age(path, days)
        return path

    stale = tree(mail / ("a" * 32), 3)
    in_use = tree(mail / ("b" * 32), 3)
    partly_fresh = tree(mail / ("c" * 32), 3)
    (partly_fresh / "arriving.part").write_text("now")  # written just now: the unit stays
    with_link = tree(mail / ("d" * 32), 3)
    (with_link / "to-outside").symlink_to(outside)
    (with_link / "to-file").symlink_to(outside / "keep.txt")
    _age(with_link, 3)
    link_unit = mail / ("e" * 32)
    link_unit.symlink_to(outside / "tree")
    _age(link_unit, 3)
    fresh = tree(mail / ("f" * 32), 0)
    import_young = tree(imports / "11111111-1111-1111-1111-111111111111", 20 / 24)  # < IMPORT_KEEP_HOURS
    import_old = tree(imports / "22222222-2222-2222-2222-222222222222", 30 / 24)
    for name, days in (
        (".cfg_x.tar.zst.partial", 2),
        (".young.partial", 2 / 24),
        ("cfg_20250101.tar.zst", 400),
    ):
        (backups / name).write_text("x")
        _age(backups / name, days)
    (backups / ".restore.lock").write_text("")
    _age(backups / ".restore.lock", 30)
    (backups / ".dir.partial").mkdir()
    _age(backups / ".dir.partial", 3)
    _age(outside, 3)

    waiting = job_start(actor=admin_actor, kind="checkstack", params={"token": in_use.name})
    job = job_start(actor=admin_actor, kind=CLEAN_TEMP, params={"older_than_hours": 12})
    job_run(str(job.pk))
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED, job.error
    assert job.result is not None and job.result["kept_in_use"] == [str(in_use)]
    gone = {stale, with_link, link_unit, import_old, backups / ".cfg_x.tar.zst.partial"}
    assert set(job.result["removed"]) == {str(p) for p in gone}
    for path in gone:
        assert not os.path.lexists(path)
    for path in (
        in_use,
        partly_fresh,
        fresh,
        import_young,
        backups / ".young.partial",
        backups / ".dir.partial",
    ):
        assert path.exists(), path
    assert (backups / "cfg_20250101.tar.zst").exists() and (backups / ".restore.lock").exists()
    # Nothing behind a link was touched.
    assert (outside / "keep.txt").read_text() == "precious"
    assert (outside / "tree" / "deep.txt").read_text() == "precious too"
    assert Job.objects.get(pk=waiting.pk).state == Job.State.PENDING
