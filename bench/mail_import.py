"""The mail archive import (TLS-02/TLS-05) against a bare imapclient APPEND loop; its memory on a big mbox.

    sudo .venv/bin/python bench/mail_import.py [--messages 20000] [--big-mib 1024]

Starts a private stack in a temp dir and makes one user with a mailbox. Then:

1. throughput: an mbox of --messages messages (about 1.5 KB each, a third \\Seen, some \\Flagged or
   \\Answered, every 11th without Message-ID) goes through the console's whole import path (upload
   directory, job row, the job run in-process, mbox reader, dedupe keys, APPEND as the owner) into the
   INBOX; the same messages, read into memory beforehand, go through a bare loop of imapclient APPENDs
   (flags and internal date included) over one logged-in connection into INBOX/bare. Ratio = bare time /
   import time; target >= 0.8.
2. memory: an mbox of --big-mib MiB on disk is read through the import's reader (every message split,
   flagged and dated, as the import does before APPEND) while the peak RSS is sampled every 10 %. It must
   stay flat: the reader holds one message at a time. (Appending a GiB into Cyrus is a matter of Cyrus's
   speed, measured by step 1.)
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path[0] = str(Path(__file__).resolve().parent.parent)  # bench/queue.py must not shadow stdlib queue

from bench.stacktool import ADMIN_UID, admin_client, peak_rss_mib, private_stack, setup_django  # noqa: E402

BASE = datetime(2012, 1, 1, tzinfo=UTC)
PASSWORD = "Bench-user-pass-1"  # a throwaway stack's account
FILLER = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor. " * 16).strip()


def message(n: int, body_lines: int = 16) -> tuple[bytes, str, bytes]:
    """(From_ line, status headers, message) of message n."""
    when = BASE + timedelta(minutes=n)
    ident = f"Message-ID: <bench{n}@archive.test>\n" if n % 11 else ""
    head = (
        f"From: sender{n % 97}@archive.test\nTo: reader@archive.test\nSubject: bench message {n}\n"
        f"Date: {when.strftime('%a, %d %b %Y %H:%M:%S +0000')}\n{ident}"
    )
    status = ("Status: RO\n" if n % 3 == 0 else "Status: O\n") + ("X-Status: F\n" if n % 10 == 0 else "")
    body = "\n".join(f"{n}: {FILLER[: 60 + n % 20]}" for _ in range(body_lines)) + "\n"
    return (
        f"From sender@archive.test {when.strftime('%a %b %d %H:%M:%S %Y')}\n".encode(),
        status,
        (head + "\n" + body).encode(),
    )


def write_mbox(path: Path, count: int, body_lines: int = 16) -> int:
    with path.open("wb") as out:
        for n in range(count):
            from_line, status, data = message(n, body_lines)
            head, body = data.split(b"\n\n", 1)
            out.write(from_line + head + b"\n" + status.encode() + b"\n" + body + b"\n")
    return path.stat().st_size


def make_user() -> tuple[str, str]:
    from accounts import services
    from mailadmin.actor import Actor
    from mailadmin.directory import dit

    actor = Actor.system("bench")
    services.domain_create(actor=actor, name="bench.test")
    container = dit.organization_dn("bench.test", "bench.test")
    uid = "importer"
    dn = services.user_create(
        actor=actor, container_dn=container, uid=uid, password=PASSWORD, last_name="Importer"
    )
    return uid, dn


def run_import(uid: str, dn: str, mbox: Path) -> tuple[float, dict[str, Any]]:
    """The console's path from an uploaded file to the finished job (run in-process: jobs are eager)."""
    from mailadmin import directory
    from mailadmin.actor import Actor
    from mailadmin.directory import dit
    from mailadmin.jobs.models import Job
    from migration.archives.safety import Kind
    from migration.archives.selectors import Target
    from migration.archives.services import UPLOAD, import_dir_create, mail_import_start

    token, work = import_dir_create()
    shutil.copy(mbox, work / UPLOAD)
    target = Target(dn=dn, uid=uid, domain="bench.test", own=False)
    admin_dn = dit.account_dn(dit.admins_dn(), ADMIN_UID)
    actor = Actor(ADMIN_UID, admin_dn, directory.roles_for(admin_dn))
    began = time.perf_counter()
    job = mail_import_start(
        actor=actor,
        target=target,
        token=token,
        kind=Kind.MBOX,
        filename="bench.mbox",
        size=mbox.stat().st_size,
    )
    job = Job.objects.get(pk=job.pk)
    seconds = time.perf_counter() - began
    if job.state != Job.State.SUCCEEDED:
        raise SystemExit(f"the import failed: {job.error}")
    return seconds, dict(job.result or {})


def run_bare(env: dict[str, str], uid: str, mbox: Path, folder: str, nodelay: bool) -> tuple[float, int]:
    """imapclient APPENDs of the same messages, read beforehand; one connection, as the user. `nodelay`:
    with TCP_NODELAY on the socket, as the import's connection has it (see mailadmin/imap owner_session)."""
    import socket

    from imapclient import IMAPClient

    from migration.archives.readers import read_mbox

    messages = [(m.data, sorted(m.flags), m.when) for m in read_mbox(mbox, (), limit=1 << 30)]
    client = IMAPClient("127.0.0.1", port=int(env["IMAP_PORT"]), ssl=False, timeout=60)
    if nodelay:
        client.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    client.login(uid, PASSWORD)
    client.create_folder(folder)
    began = time.perf_counter()
    for data, flags, when in messages:
        client.append(folder, data or b"", flags=flags, msg_time=when)
    seconds = time.perf_counter() - began
    client.logout()
    return seconds, len(messages)


def memory(path: Path, mib: int) -> None:
    from mailadmin.mailheaders import crlf, message_key
    from migration.archives.readers import read_mbox

    print(f"writing a {mib} MiB mbox ...", flush=True)
    per = 64 * 1024
    size = write_mbox(path, mib * 1024 * 1024 // per, body_lines=per // 77)
    began = time.perf_counter()
    step, count = size // 10, 0
    marks: list[float] = []
    for msg in read_mbox(path, (), limit=64 * 1024 * 1024):
        if msg.data is not None:
            message_key(crlf(msg.data))
        count += 1
        if msg.done >= step * (len(marks) + 1):
            marks.append(peak_rss_mib())
    seconds = time.perf_counter() - began
    print(f"memory: {count} messages, {size / 1024 / 1024:.0f} MiB read in {seconds:.1f} s")
    print("  peak RSS (MiB) after each tenth: " + ", ".join(f"{m:.0f}" for m in marks))
    path.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--big-mib", type=int, default=1024)
    parser.add_argument("--plain-messages", type=int, default=1000, help="for the loop without TCP_NODELAY")
    args = parser.parse_args()
    with private_stack() as (root, _stack, env):
        setup_django(root, env)
        uid, dn = make_user()
        admin_client()  # the console administrator who starts the imports
        mbox = root / "bench.mbox"
        size = write_mbox(mbox, args.messages)
        print(f"mbox: {args.messages} messages, {size / 1024 / 1024:.1f} MiB", flush=True)
        start_rss = peak_rss_mib()
        # bare, import, bare again: Cyrus's speed drifts as the mailbox grows; the loop's time is the mean
        bare1, count = run_bare(env, uid, mbox, "INBOX/bare1", nodelay=True)
        imported, result = run_import(uid, dn, mbox)
        import_rss = peak_rss_mib()
        bare2, count = run_bare(env, uid, mbox, "INBOX/bare2", nodelay=True)
        bare = (bare1 + bare2) / 2
        print(f"import: {result['added']} added in {imported:.1f} s ({result['added'] / imported:.0f} msg/s)")
        print(
            f"bare APPEND loop, TCP_NODELAY: {count} in {bare1:.1f} s and {bare2:.1f} s "
            f"({count / bare:.0f} msg/s)"
        )
        print(f"ratio (bare time / import time): {bare / imported:.2f} (target >= 0.8)")
        few = args.plain_messages
        if few:
            plain_mbox = root / "plain.mbox"
            write_mbox(plain_mbox, few)
            plain, count = run_bare(env, uid, plain_mbox, "INBOX/plain", nodelay=False)
            rate = count / plain
            print(
                f"bare APPEND loop as imapclient comes (Nagle on): {count} in {plain:.1f} s "
                f"({rate:.0f} msg/s)"
            )
        print(f"peak RSS before / after the import: {start_rss:.0f} / {import_rss:.0f} MiB")
        again, result2 = run_import(uid, dn, mbox)
        print(
            f"the same mbox again: {result2['added']} added, {result2['duplicates']} skipped in {again:.1f} s"
        )
        memory(root / "big.mbox", args.big_mib)


if __name__ == "__main__":
    main()
