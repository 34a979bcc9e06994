"""`make run` / `make stop` as a new user would meet them (the scripts behind the two targets): the console
answers with a login page, `stack.env` reaches the daemons, and stopping leaves no process of ours behind."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ours(var: Path) -> list[str]:
    """Live (non-zombie) processes whose command line names our state dir."""
    out = subprocess.run(["ps", "-eo", "pid=,stat=,args="], capture_output=True, text=True, check=True).stdout
    rows = [line.split(None, 2) for line in out.splitlines()]
    return [" ".join(r) for r in rows if len(r) == 3 and not r[1].startswith("Z") and str(var) in r[2]]


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def script(name: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ROOT / "scripts" / f"{name}.sh")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
        cwd=ROOT,
    )


@pytest.fixture
def searchable_tmp() -> Iterator[Path]:
    """pytest's tmp_path sits under a 0700 dir; the daemons' own users must be able to reach the stack."""
    path = Path(tempfile.mkdtemp(prefix="mailadmin-run-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.slow
def test_run_serves_the_login_page_and_stop_leaves_nothing(searchable_tmp: Path) -> None:
    var = searchable_tmp / "var"
    port = free_port()
    # A clean environment: nothing of the test session's own stack may leak in.
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8",
        "MAILADMIN_VAR_DIR": str(var),
        "MAILADMIN_PORT": str(port),
        "MAILADMIN_STACK_PORTS": "auto",
        "MAILADMIN_ADMIN_PASSWORD": "First-admin-pass-1",
    }
    stack_env: dict[str, str] = {}
    try:
        run = script("run", env)
        assert run.returncode == 0, run.stdout + run.stderr
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=10).read().decode()
        assert "Log in to mailadmin" in page
        for line in (var / "stack.env").read_text().splitlines():
            key, sep, value = line.removeprefix("export ").partition("=")
            if sep:
                stack_env[key.strip()] = value.strip().strip("'")
        search = subprocess.run(
            [
                "ldapsearch",
                "-x",
                "-LLL",
                "-H",
                stack_env["LDAP_URI"],
                "-D",
                stack_env["LDAP_ADMIN_DN"],
                "-w",
                stack_env["LDAP_ADMIN_PASSWORD"],
                "-b",
                stack_env["LDAP_BASE_DN"],
                "(uid=admin)",
                "dn",
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert search.returncode == 0 and "uid=admin,ou=admins" in search.stdout, search.stderr
        with socket.create_connection(("127.0.0.1", int(stack_env["IMAP_PORT"])), timeout=5) as imap:
            assert imap.recv(200).startswith(b"* OK")
        with socket.create_connection(("127.0.0.1", int(stack_env["SMTP_PORT"])), timeout=5) as smtp:
            assert smtp.recv(200).startswith(b"220")
        # Idempotent: a second run starts nothing new.
        again = script("run", env)
        assert again.returncode == 0 and "already running" in again.stdout, again.stdout + again.stderr
    finally:
        stop = script("stop", env)
    assert stop.returncode == 0, stop.stdout + stop.stderr
    deadline = time.monotonic() + 10
    while ours(var) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert ours(var) == []
    # Daemons whose command line does not name the dir (redis, postgres' children): their ports are free.
    # amavisd renames itself ("amavisd (master)"): its port and clamd's are checked too.
    names = ("SMTP_PORT", "SUBMISSION_PORT", "IMAP_PORT", "LMTP_PORT", "AMAVIS_PORT", "CLAMD_PORT")
    ports = [port] + [int(stack_env[k]) for k in names]
    ports += [urlsplit(stack_env[k]).port or 0 for k in ("LDAP_URI", "REDIS_URL", "DATABASE_URL")]
    assert [p for p in ports if listening(p)] == []
