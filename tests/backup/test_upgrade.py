"""SYS-03: a set made on one install restores on a fresh one — another state directory, other ports, another
IMAP server name — with `manage.py backup restore`; its users log in there with their old passwords and find
their mail. The second install is a real second stack, started and stopped by this test."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from imapclient import IMAPClient

from backup import making
from mailadmin.stack import Stack, StackConfig
from tests.backup.backuptool import mailbox_view
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]


def _manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def test_a_domain_set_restores_on_a_fresh_install(backup_dir: Path, domain: str, mail_user: str) -> None:
    before = mailbox_view(mail_user)
    path, _manifest = making.make("domain", compression="zstd", domain=domain)
    root = Path(tempfile.mkdtemp(prefix="mailadmin-fresh-"))
    root.chmod(0o755)  # the daemons' own users must reach their dirs
    fresh = Stack(
        StackConfig(
            state_dir=root / "stack",
            ports="auto",
            cyrus_servername="imap.fresh.internal",
            mailbox_domain="fresh.internal",
        )
    )
    env = {**os.environ, **fresh.start(), "MAILADMIN_VAR_DIR": str(root / "var")}
    try:
        _manage(env, "migrate", "--verbosity", "0")
        out = _manage(env, "backup", "restore", str(path), "--yes")
        assert "restored" in out
        with IMAPClient("127.0.0.1", port=int(env["IMAP_PORT"]), ssl=False, timeout=10) as client:
            client.login(mail_user, PASSWORD)  # the old password, checked by the fresh slapd
            found = {}
            for _flags, _sep, name in client.list_folders("", "INBOX*"):
                folder = name if isinstance(name, str) else name.decode()
                found[folder] = client.select_folder(folder, readonly=True)[b"EXISTS"]
        assert found == {folder: len(rows) for folder, rows in before.items()}
        assert (root / "var" / "backups").is_dir() and any((root / "var" / "backups").glob("domain_*"))
    finally:
        fresh.stop()
        shutil.rmtree(root, ignore_errors=True)
