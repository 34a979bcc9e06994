"""Helpers of the mail archive import tests: a fresh user with a mailbox, archives made in the test, the
upload through the page, and the mailbox as the user's own mail client sees it."""

from __future__ import annotations

import io
import tarfile
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils.http import urlencode
from imapclient.response_parser import parse_response

from accounts import services
from mailadmin.actor import Actor
from mailadmin.directory import dit
from mailadmin.jobs.models import Job
from tests.accounts.usertool import user_imap
from tests.conftest import PASSWORD, Persona
from tests.jobtool import wait_finished

BASE = datetime(2015, 3, 1, 8, 0, tzinfo=UTC)
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def make_user(domain: str, uid: str, container: str | None = None, folders: bool = True) -> Persona:
    container = container or dit.organization_dn(domain, domain)
    services.user_create(
        actor=Actor.system("tests"),
        container_dn=container,
        uid=uid,
        password=PASSWORD,
        last_name="Importer",
        groupware_folders=folders,
    )
    return Persona(uid, uid, dit.account_dn(container, uid))


def message(n: int, *, with_id: bool = True) -> bytes:
    ident = f"Message-ID: <msg{n}@archive.test>\n" if with_id else ""
    when = (BASE + timedelta(hours=n)).strftime("%a, %d %b %Y %H:%M:%S +0000")
    return (
        f"From: sender{n}@archive.test\nTo: someone@archive.test\nSubject: msg {n}\nDate: {when}\n{ident}\n"
        f"Body of message {n}.\n"
    ).encode()


def expected_flags(n: int) -> set[str]:
    flags = set()
    if n % 2 == 0:
        flags.add("\\Seen")
    if n % 5 == 0:
        flags.add("\\Flagged")
    if n % 7 == 0:
        flags.add("\\Answered")
    return flags


def mbox(count: int) -> bytes:
    """`count` messages; every 11th has no Message-ID; message 3's body holds a `From ` line."""
    out = io.BytesIO()
    for n in range(count):
        when = (BASE + timedelta(hours=n)).strftime("%a %b %d %H:%M:%S %Y")
        status = "Status: RO\n" if n % 2 == 0 else "Status: O\n"
        extra = ("F" if n % 5 == 0 else "") + ("A" if n % 7 == 0 else "")
        head, body = message(n, with_id=n % 11 != 0).split(b"\n\n", 1)
        out.write(f"From sender{n}@archive.test {when}\n".encode())
        out.write(head + b"\n" + status.encode() + (f"X-Status: {extra}\n".encode() if extra else b""))
        out.write(b"\n" + body)
        if n == 3:
            out.write(b"\nFrom the archive's point of view, this line is body text.\n")
        out.write(b"\n")
    return out.getvalue()


def tar_gz(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def zip_of(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return out.getvalue()


def upload(client: Client, url: str, name: str, data: bytes, into: str = "") -> Any:
    archive = SimpleUploadedFile(name, data, content_type="application/octet-stream")
    return client.post(url, {"into": into, "archive": archive})


def admin_url(dn: str) -> str:
    return "/tools/archives/?" + urlencode({"dn": dn})


def imported(response: Any) -> Job:
    """The job the upload started (the admin page redirects to it, the self-service page to its status)."""
    assert response.status_code == 302, response.content.decode()[:3000]
    job = wait_finished(response["Location"].rstrip("/").split("/")[-1], timeout=180)
    return job


@dataclass(frozen=True)
class Seen:
    subject: str
    flags: set[str]
    internal: datetime
    size: int


def mailbox(uid: str, password: str = PASSWORD) -> dict[str, list[Seen]]:
    """Every folder of the user's mailbox with its messages, as the user's client sees them."""
    out: dict[str, list[Seen]] = {}
    with user_imap(uid, password) as client:
        client.normalise_times = False
        for _flags, _sep, name in client.list_folders("", "INBOX*"):
            client.select_folder(name, readonly=True)
            uids = client.search(["ALL"])
            rows = client.fetch(
                uids, ["FLAGS", "INTERNALDATE", "RFC822.SIZE", "BODY.PEEK[HEADER.FIELDS (SUBJECT)]"]
            )
            seen = []
            for row in rows.values():
                raw = row[b"BODY[HEADER.FIELDS (SUBJECT)]"].decode().strip()
                flags = {f.decode() for f in row[b"FLAGS"]} - {"\\Recent"}
                seen.append(
                    Seen(raw.removeprefix("Subject: "), flags, row[b"INTERNALDATE"], row[b"RFC822.SIZE"])
                )
            out[name] = seen
    return out


def folder_names(uid: str, password: str = PASSWORD) -> dict[str, set[str]]:
    with user_imap(uid, password) as client:
        data = client._raw_command_untagged(  # noqa: SLF001
            b"LIST", [b'""', b'"*"', b"RETURN", b"(SPECIAL-USE)"], uid=False, response_name="LIST"
        )
    found = {}
    for item in data:
        flags, _sep, name = parse_response([item])
        from imapclient import imap_utf7

        found[imap_utf7.decode(name if isinstance(name, bytes) else str(name).encode())] = {
            f.decode() for f in flags
        }
    return found
