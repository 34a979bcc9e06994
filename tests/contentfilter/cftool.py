"""Helpers for the content filter's tests: switch the filter through the change flow, send real mail, read
what Cyrus stored and what the quarantine kept."""

from __future__ import annotations

import time
from collections.abc import Mapping
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from mailadmin.configfiles import store
from mailadmin.configfiles.change import flow
from mailadmin.configfiles.registry.amavis import AMAVIS

# Built from two halves so that no file of the project is itself a test virus.
EICAR = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*" + "GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"


def apply(stack: Any, changes: Mapping[str, str | None], *, replace_all: bool = False) -> Any:
    """The content filter page's change, through the same flow: proposed, validated, applied, smoke-tested."""
    svc, menu = stack.service("amavis"), stack.layout.menu
    proposal = flow.propose(svc, AMAVIS, menu, changes, replace_all=replace_all)
    outcome = flow.apply(svc, AMAVIS, menu, proposal)
    assert outcome.applied, outcome.reason
    return outcome


def restore(stack: Any, values: Mapping[str, str]) -> None:
    if store.values(stack.layout.menu, "amavis") != dict(values):
        apply(stack, values, replace_all=True)


def message(sender: str, to: str, subject: str, body: str, attachment: str | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    msg["Message-ID"] = f"<{time.time_ns()}@contentfilter.test>"
    msg["Date"] = "Mon, 07 Dec 2026 12:00:00 +0000"
    msg.set_content(body)
    if attachment is not None:
        msg.add_attachment(attachment.encode(), maintype="application", subtype="octet-stream",
                           filename="sample.com")  # fmt: skip
    return bytes(msg)


def wait_for_file(folder: Path, name_part: str, timeout: float = 30) -> Path:
    """A quarantined file whose name or text holds `name_part` (amavis writes it before it answers)."""
    deadline = time.monotonic() + timeout
    while True:
        for path in sorted(folder.glob("*")) if folder.is_dir() else []:
            if name_part.encode() in path.read_bytes():
                return path
        if time.monotonic() > deadline:
            raise AssertionError(f"nothing with {name_part!r} in {folder} within {timeout} s")
        time.sleep(0.2)


def inbox(uid: str) -> list[bytes]:
    """Every message in user/<uid>'s INBOX now."""
    from tests.accounts.usertool import user_imap
    from tests.conftest import PASSWORD

    with user_imap(uid, PASSWORD) as client:
        client.select_folder("INBOX", readonly=True)
        ids = client.search("ALL")
        data = client.fetch(ids, ["RFC822"]) if ids else {}
        return [data[i][b"RFC822"] for i in sorted(data)]


def log_size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def wait_log(path: Path, offset: int, needle: str, timeout: float = 30) -> str:
    """The first line after `offset` in `path` that holds `needle`."""
    deadline = time.monotonic() + timeout
    while True:
        with path.open("rb") as f:
            f.seek(offset)
            for line in f.read().decode("utf-8", "replace").splitlines():
                if needle in line:
                    return line
        if time.monotonic() > deadline:
            raise AssertionError(f"no line with {needle!r} in {path} within {timeout} s")
        time.sleep(0.2)
