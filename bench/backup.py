"""Backup & restore (TLS-06) against the raw tools, in one run on one private stack. Not a test.

    sudo .venv/bin/python bench/backup.py [--small] [--entries 10000] [--mailboxes 1000] [--messages 50]
        [--kib 4] [--big 10000] [--huge 40] [--huge-mib 4] [--rounds 3] [--profile 100]

1. LDAP backup of --entries accounts (loaded offline): making.make("ldap", compression="zstd") against
   `slapcat -F slapd.d -b base | zstd -T2 -3` into a file, fsynced as the console's file is. Target <= 1.2x.
2. mail backup of --mailboxes mailboxes x --messages text messages of about --kib KiB (delivered over
   pipelined LMTP, timed): make("mail") in a child process against `tar -C <spool> -cf - . | zstd -T2 -3`,
   the raw run before and after (mean). Target <= 1.3x. Then make("mail") of --profile mailboxes under
   cProfile, summed per IMAP command and archive step: where the time of a mailbox goes.
3. LDAP whole restore of the set of 1 through backup.restoring.run.run (manifest check, extract, staged
   cn=config, slapadd -q, slapcat check, swap) against `slapadd -q` of the same LDIF into an empty staged
   directory. Target <= 1.5x.
   1 and 3 run --rounds times (medians) and once more under cProfile, not counted, to say where time goes.
4. one mailbox of --big messages: backed up (against tar|zstd of its spool directory), its INBOX emptied,
   restored in place (against a bare loop of APPENDs with TCP_NODELAY of the same messages, before and
   after), counted; then the restore once more under cProfile. No target: msg/s.
5. peak RSS of the process making a mail backup, each a fresh child: a quarter of the mailboxes, all of
   them, the big mailbox, and mailboxes of --huge/4 and --huge messages of --huge-mib MiB (attachments).
--small runs in a minute or two on two cores.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from base64 import encodebytes
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from functools import partial
from pathlib import Path
from typing import Any

sys.path[0] = str(Path(__file__).resolve().parent.parent)  # bench/queue.py must not shadow stdlib queue

from bench import stacktool as tool  # noqa: E402
from bench.accounts_list import DOMAIN, generate_ldif  # noqa: E402

SMALL = {"entries": 2000, "mailboxes": 100, "messages": 20, "big": 2000, "huge": 20, "profile": 30}
BASE = datetime(2021, 3, 1, 8, 0, tzinfo=UTC)
_RNG = random.Random(6)
_WORDS = ["".join(_RNG.choices("etaoinshrdlucmfwypvbgk", k=_RNG.randint(2, 9))) for _ in range(4000)]
ZSTD = ["zstd", "-q", "-T2", "-3", "-c"]
ROWS: list[
    tuple[str, str, float | None, float, float | None, str]
] = []  # what, size, raw, console, target, unit

# label -> (a piece of the file name, the function, its caller or ""), for stacktool.print_profile
LDAP_BACKUP_STEPS = {
    "Writer: open the partial file, start zstd": ("archive.py", "__init__", "make"),
    "versions for the manifest (dpkg-query)": ("versions.py", "versions", "make"),
    "slapcat of the data into a temp file": ("slapd_backup.py", "dump", "_ldap"),
    "slapcat -n0 of cn=config": ("slapd_backup.py", "dump_config", "_ldap"),
    "tar members: read the two files, sha256, write into zstd's pipe": ("archive.py", "add_file", "_ldap"),
    "commit: manifest, wait for zstd, fsync, rename": ("archive.py", "commit", "make"),
}
LDAP_RESTORE_STEPS = {
    "manifest check: archive.inspect reads and hashes the whole file": ("archive.py", "inspect", "_kinds"),
    "extract ldap/data.ldif into a temp file": ("restoring/directory.py", "_extract", "restore_whole"),
    "stage: slapadd -n0 (cn=config), slapadd -q, slapcat to check": ("stack/process.py", "run", "_stage"),
    "stage: count the entries of the LDIF and of the check": ("slapd_backup.py", "count_entries", "_stage"),
    "stop slapd": ("stack/base.py", "stop", "restore_whole"),
    "prepare: index check, private containers (a slapcat)": ("directory.py", "prepare", "restore_whole"),
    "launch slapd": ("stack/", "launch", "restore_whole"),
    "wait until it answers": ("stack/base.py", "wait_ready", "restore_whole"),
    "smoke test (ldapsearch of the base)": ("slapd_backup.py", "_smoke", "restore_whole"),
    "count the entries once more for the result": ("slapd_backup.py", "count_entries", "restore_whole"),
    "remove the old data and the staging directory": ("shutil.py", "rmtree", "restore_whole"),
}
MAIL_STEPS = {  # labels that begin with a space are parts of the line above
    "quota_get: its own admin session (connect, LOGIN, NAMESPACE, GETQUOTAROOT, LOGOUT)": (
        "imap/__init__.py", "quota_get", ""),
    " of it GETQUOTAROOT": ("imapclient.py", "get_quota_root", ""),
    "owner session: connect + greeting": ("imap/__init__.py", "_open", "owner_session"),
    "owner session: SASL PLAIN login": ("imapclient.py", "plain_login", "owner_session"),
    "owner session: NAMESPACE + LIST": ("imap/owner.py", "__init__", "owner_session"),
    "GETACL per folder": ("imapclient.py", "getacl", ""),
    "GETMETADATA folder type per folder": ("annotations.py", "get_folder_type", "folders"),
    "SELECT": ("imapclient.py", "select_folder", "messages"),
    "SEARCH ALL": ("imapclient.py", "search", "messages"),
    "UNSELECT": ("imapclient.py", "unselect_folder", ""),
    "FETCH FLAGS INTERNALDATE BODY.PEEK[] (batches of 200)": ("imapclient.py", "fetch", "messages"),
    "LOGOUT": ("imap/__init__.py", "_logout", "owner_session"),
    "tar member: pax header, sha256, write into zstd's pipe": ("archive.py", "add_bytes", "_one_mailbox"),
    " of it writes into zstd's pipe": ("~", "<method 'write' of '_io.BufferedWriter' objects>", "__write"),
    " of it sha256": ("~", "<method 'update' of '_hashlib.HASH' objects>", "read"),
    "which mailboxes (directory search + LIST)": ("making.py", "_mail_users", ""),
    "commit: manifest, wait for zstd, fsync, rename": ("archive.py", "commit", ""),
}  # fmt: skip
RESTORE_STEPS = {
    "manifest check: archive.inspect reads and hashes the whole file": ("archive.py", "inspect", "_kinds"),
    "reading members: tar headers and bytes through zstd -d": ("archive.py", "entries", "restore"),
    " bytes": ("~", "<method 'read' of '_io.BufferedReader' objects>", "restore"),
    "open the owner's session": ("contextlib.py", "__enter__", "restore"),
    "keys of the messages there (FETCH header fields)": ("imap/owner.py", "keys", "_target"),
    "message key of each restored message": ("mailheaders.py", "message_key", "message"),
    "APPEND, one per message (command, '+', literal, tagged OK)": ("mailbackup.py", "append", "message"),
    "journal writes": ("restoring/mail.py", "save", ""),
    "untag: SEARCH KEYWORD + STORE -FLAGS": ("mailbackup.py", "untag", ""),
    "reconstruct -r + quota -f": ("restoring/mail.py", "_reconstruct", "_finish"),
}


def message(uid: str, n: int, kib: float) -> bytes:
    """A text message of about `kib` KiB, its words drawn at random (zstd packs it about 2.5:1)."""
    rng = random.Random(n * 100_003 + int(uid[1:]))
    words = rng.choices(_WORDS, k=max(1, int(kib * 1024 / 6.5)))
    body = "\r\n".join(" ".join(words[i : i + 11]) for i in range(0, len(words), 11))
    return (
        f"From: sender{n % 97}@example.test\r\nTo: {uid}@{DOMAIN}\r\nSubject: bench {n} for {uid}\r\n"
        f"Message-ID: <{n}.{uid}@bench.test>\r\nDate: {format_datetime(BASE + timedelta(minutes=n))}\r\n"
        f"\r\n{body}\r\n"
    ).encode()


def attachment(uid: str, n: int, mib: float) -> bytes:
    """A message carrying `mib` MiB of random bytes in base64 (a photo or a zip: zstd cannot pack it)."""
    data = encodebytes(random.Random(n).randbytes(int(mib * 2**20))).replace(b"\n", b"\r\n")
    head = message(uid, n, 0.01).split(b"\r\n\r\n", 1)[0]
    return head + b"\r\nContent-Type: application/zip\r\nContent-Transfer-Encoding: base64\r\n\r\n" + data


def fill(port: int, uids: list[str], count: int, make: Any, kib: float, connections: int = 4) -> float:
    work = [(uid, n) for n in range(count) for uid in uids]  # interleaved: connections meet other mailboxes
    return tool.lmtp_fill(port, work, lambda uid, n: make(uid, n, kib), connections)


def create_mailboxes(uids: list[str]) -> None:
    from mailadmin import imap

    with imap.admin_session() as admin:
        for uid in uids:
            admin.create(uid)


def timed(work: Callable[[], Any], profile: cProfile.Profile | None = None) -> float:
    """The seconds `work()` takes, under `profile` when one is given."""
    began = time.perf_counter()
    if profile is not None:
        profile.enable()
    try:
        work()
    finally:
        if profile is not None:
            profile.disable()
    return time.perf_counter() - began


def row(what: str, size: str, raw: float | None, got: float, target: float | None, unit: str = "s") -> None:
    ROWS.append((what, size, raw, got, target, unit))
    ratio = f", ratio {got / raw:.2f}x" if raw else ""
    print(f"  -> {what}: raw {raw or 0:.2f} s, console {got:.2f} {unit}{ratio}", flush=True)


def fmt(values: list[float]) -> str:
    return " ".join(f"{v:.2f}" for v in values) + " s"


# --- 1 and 3: the directory ------------------------------------------------------------------------------


def ldap_backup(slapd: Any, base: str, root: Path, rounds: int) -> tuple[Path, dict[str, Any]]:
    from backup import making

    raw, console, made = [], [], [(root / "none", dict[str, Any]())]
    profile = cProfile.Profile()
    slapcat = ["/usr/sbin/slapcat", "-F", str(slapd.slapd_d), "-b", base]
    for n in range(rounds + 1):  # the last one under cProfile, not counted
        raw.append(tool.pipe_to_file(slapcat, ZSTD, root / "raw.zst"))
        made[-1][0].unlink(missing_ok=True)
        work = partial(making.make, "ldap", compression="zstd")
        console.append(timed(lambda: made.append(work()), profile if n == rounds else None))  # noqa: B023
    path, manifest = made[-1]
    sizes = f"{(root / 'raw.zst').stat().st_size >> 10} and {path.stat().st_size >> 10} KiB"
    print(
        f"LDAP backup, {rounds} rounds: raw {fmt(raw[:-1])}, console {fmt(console[:-1])}; the files {sizes}"
    )
    tool.print_profile("  the console's backup", profile, console[-1], (1, "backup"), LDAP_BACKUP_STEPS)
    entries = f"{manifest['counts']['entries']} entries"
    row("1 LDAP backup", entries, statistics.median(raw[:-1]), statistics.median(console[:-1]), 1.2)
    return path, manifest


def raw_slapadd(slapd: Any, base: str, ldif: Path, staged: Path) -> float:
    """`slapadd -q` of `ldif` into an empty staged database (its cn=config made first, untimed)."""
    from mailadmin.configfiles.slapd import render_config_ldif

    shutil.rmtree(staged, ignore_errors=True)
    (staged / "data").mkdir(parents=True)
    (staged / "slapd.d").mkdir()
    config = staged / "config.ldif"
    config.write_text(render_config_ldif(replace(slapd.params(), db_dir=staged / "data")))
    subprocess.run(["/usr/sbin/slapadd", "-n0", "-F", str(staged / "slapd.d"), "-l", str(config)], check=True)
    argv = ["/usr/sbin/slapadd", "-q", "-F", str(staged / "slapd.d"), "-b", base, "-l", str(ldif)]
    seconds = timed(partial(subprocess.run, argv, check=True, stdin=subprocess.DEVNULL))
    shutil.rmtree(staged)
    return seconds


def ldap_restore(slapd: Any, base: str, made: tuple[Path, dict[str, Any]], root: Path, rounds: int) -> None:
    from backup import archive, catalogue, making
    from backup.restoring import run
    from mailadmin.actor import Actor

    path, manifest = made
    ldif = root / "data.ldif"
    for entry in archive.entries(path, making.limits()):
        if entry.name == "ldap/data.ldif" and entry.fileobj is not None:
            ldif.write_bytes(entry.fileobj.read())
    backup = catalogue.register(path, manifest, origin="made", created_by="bench")
    raw, console, profile = [], [], cProfile.Profile()
    for n in range(rounds + 1):  # the last one under cProfile, not counted
        raw.append(raw_slapadd(slapd, base, ldif, root / "raw-staged"))
        work = partial(run.run, backup, Actor.system("bench"), users=[], mode="folder", key=uuid.uuid4().hex,
                       hooks=making.Hooks())  # fmt: skip
        console.append(timed(work, profile if n == rounds else None))
    print(f"LDAP whole restore, {rounds} rounds: raw slapadd -q {fmt(raw[:-1])}, console {fmt(console[:-1])}")
    tool.print_profile("  the console's restore", profile, console[-1], (1, "restore"), LDAP_RESTORE_STEPS)
    entries = f"{manifest['counts']['entries']} entries"
    row("3 LDAP whole restore", entries, statistics.median(raw[:-1]), statistics.median(console[:-1]), 1.5)


# --- 2, 4 and 5: mail ------------------------------------------------------------------------------------


def child(spec: dict[str, Any]) -> None:
    """In a fresh process: make one mail set (under cProfile with spec["profile"]); JSON as the last line."""
    import django

    django.setup()
    from backup import making

    before, profile, made = tool.hwm_rss_mib(), cProfile.Profile() if spec["profile"] else None, []
    cpu = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    work = partial(making.make, "mail", compression="zstd", users=spec["users"] or ())
    seconds = timed(lambda: made.append(work()), profile)
    path, manifest = made[0]
    if profile is not None:
        per = (manifest["counts"]["mailboxes"], "mailbox")
        tool.print_profile("make('mail')", profile, seconds, per, MAIL_STEPS)
        path.unlink()
    manifest = {k: v for k, v in manifest.items() if k != "members"}
    now = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    used = [a.ru_utime + a.ru_stime - b.ru_utime - b.ru_stime for a, b in zip(now, cpu, strict=True)]
    print(json.dumps({"seconds": seconds, "rss_before": before, "rss": tool.hwm_rss_mib(), "path": str(path),
                      "manifest": manifest, "cpu": used}))  # fmt: skip


def in_child(users: list[str] | None = None, *, profile: bool = False) -> dict[str, Any]:
    spec = json.dumps({"users": users, "profile": profile})
    argv = [sys.executable, str(Path(__file__).resolve()), "--child", spec]
    lines = subprocess.run(argv, check=True, stdout=subprocess.PIPE, text=True).stdout.strip().splitlines()
    for line in lines[:-1]:
        print(line)
    return dict(json.loads(lines[-1]))


def set_size(done: dict[str, Any]) -> str:
    counts = done["manifest"]["counts"]
    packed = Path(done["path"]).stat().st_size / 2**20
    return f"{counts['messages']} msgs, {counts['bytes'] / 2**20:.0f}->{packed:.0f} MiB"


def mail_backup(spool: Path, root: Path, uids: list[str], messages: int) -> dict[str, Any]:
    tar = ["tar", "-C", str(spool), "-cf", "-", "."]
    raw1 = tool.pipe_to_file(tar, ZSTD, root / "raw-mail.zst")
    cpu = tool.cpu_by_process()
    done = in_child()
    used = tool.cpu_delta(cpu, tool.cpu_by_process(), top=6)
    raw2 = tool.pipe_to_file(tar, ZSTD, root / "raw-mail.zst")
    raw_size = (root / "raw-mail.zst").stat().st_size / 2**20
    (root / "raw-mail.zst").unlink()
    print(f"mail backup: raw tar|zstd {raw1:.2f} s and {raw2:.2f} s ({raw_size:.0f} MiB), console "
          f"{done['seconds']:.2f} s ({set_size(done)}); its peak RSS {done['rss']:.0f} MiB\n"
          f"  CPU during the console's run: its Python {done['cpu'][0]:.2f}s, its zstd "
          f"{done['cpu'][1]:.2f}s, the rest of the machine: {used}")  # fmt: skip
    row("2 mail backup", f"{len(uids)}x{messages} msgs", (raw1 + raw2) / 2, done["seconds"], 1.3)
    return done


def restore(
    env: dict[str, str], backup: Any, uid: str, count: int, profile: cProfile.Profile | None
) -> float:
    """Empty the INBOX of `uid`, restore it in place from `backup`, count it; the seconds."""
    from backup import making
    from backup.restoring import run
    from mailadmin.actor import Actor

    assert tool.imap_count(env, f"user/{uid}", empty=True) == 0
    cpu, results = tool.cpu_by_process(), []
    work = partial(run.run, backup, Actor.system("bench"), users=[uid], mode="in_place", key=uuid.uuid4().hex,
                   hooks=making.Hooks())  # fmt: skip
    seconds = timed(lambda: results.append(work()), profile)
    assert tool.imap_count(env, f"user/{uid}") == count, results
    if profile is not None:
        tool.print_profile("restore in place", profile, seconds, (count, "message"), RESTORE_STEPS)
    else:
        print(f"big mailbox restored in place: {results[0]['mail'][uid]} in {seconds:.1f} s, all counted")
        print(f"  CPU while it ran: {tool.cpu_delta(cpu, tool.cpu_by_process(), top=6)}")
    return seconds


def big_mailbox(env: dict[str, str], spool: Path, uid: str, count: int, kib: float, profile: bool) -> Any:
    from backup import catalogue
    from mailadmin import cyrus

    create_mailboxes([uid])
    filled = fill(int(env["LMTP_PORT"]), [uid], count, message, kib)
    print(f"big mailbox {uid}: {count} messages delivered in {filled:.1f} s ({count / filled:.0f} msg/s)")
    where = cyrus.mailbox_path(env["CYRUS_CONF"], f"user/{uid}", bin_dir=env["CYRUS_BIN_DIR"])  # its INBOX
    raw = tool.pipe_to_file(["tar", "-C", str(where), "-cf", "-", "."], ZSTD, spool.parent / "raw-big.zst")
    (spool.parent / "raw-big.zst").unlink()
    done = in_child([uid])
    seconds = done["seconds"]
    row("4 big mailbox: backup", f"{count} msgs, {count / seconds:.0f} msg/s", raw, seconds, None)
    backup = catalogue.register(Path(done["path"]), done["manifest"], origin="made", created_by="bench")
    data = [(message(uid, n, kib), BASE + timedelta(minutes=n)) for n in range(count)]
    bare1 = tool.imap_append_loop(env, f"user/{uid}/bare", data)
    seconds = restore(env, backup, uid, count, None)
    bare2 = tool.imap_append_loop(env, f"user/{uid}/bare", data)
    print(f"bare APPEND loop (imapclient, TCP_NODELAY, one connection): {bare1:.1f} s and {bare2:.1f} s")
    row("4 big mailbox: restore in place", f"{count} msgs, {count / seconds:.0f} msg/s", (bare1 + bare2) / 2,
        seconds, None)  # fmt: skip
    if profile:
        restore(env, backup, uid, count, cProfile.Profile())
    return done


def table() -> None:
    print(f"\n{'':<34} {'size':<30} {'raw':>8} {'console':>9} {'ratio':>7} {'target':>7}  verdict")
    for what, size, raw, console, target, unit in ROWS:
        if raw:
            ratio = console / raw
            verdict = "(no target)" if target is None else "met" if ratio <= target else "NOT met"
            aim = f"<={target}x" if target else ""
            print(f"{what:<34} {size:<30} {raw:7.2f}s {console:8.2f}s {ratio:6.2f}x {aim:>7}  {verdict}")
        else:
            print(f"{what:<34} {size:<30} {'':>8} {console:5.0f} {unit}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--small", action="store_true", help="a preset that runs in a minute or two")
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--mailboxes", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=50, help="per mailbox")
    parser.add_argument("--kib", type=float, default=4, help="size of a message")
    parser.add_argument("--big", type=int, default=10_000, help="messages in the one big mailbox")
    parser.add_argument("--huge", type=int, default=40, help="messages of --huge-mib MiB in one mailbox")
    parser.add_argument("--huge-mib", type=float, default=4)
    parser.add_argument("--rounds", type=int, default=3, help="of the LDAP backup and restore")
    parser.add_argument("--profile", type=int, default=100, help="mailboxes of the profiled backup (0: none)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(json.loads(args.child))
        return 0
    if args.small:
        for key, value in SMALL.items():
            setattr(args, key, value)
    if args.entries < args.mailboxes + 10:
        parser.error("--entries must exceed --mailboxes by 10 (the owners of the big and huge mailboxes)")
    began = time.perf_counter()
    with tool.private_stack() as (root, stack, env):
        generate_ldif(root / "users.ldif", env["LDAP_BASE_DN"], args.entries - 3)  # + domain, org, ou=aliases
        env, loaded = tool.slapadd(stack, env, root / "users.ldif")
        print(f"{args.entries} entries loaded offline in {loaded:.1f} s", flush=True)
        tool.setup_django(root, env)
        slapd, base = stack.service("slapd"), env["LDAP_BASE_DN"]
        ldap_restore(slapd, base, ldap_backup(slapd, base, root, args.rounds), root, args.rounds)

        uids = [f"u{i:06d}" for i in range(args.mailboxes)]
        create_mailboxes(uids)
        filled = fill(int(env["LMTP_PORT"]), uids, args.messages, message, args.kib)
        total = len(uids) * args.messages
        print(f"filled {len(uids)} mailboxes with {total} messages of ~{args.kib} KiB over pipelined LMTP "
              f"in {filled:.1f} s ({total / filled:.0f} msg/s)", flush=True)  # fmt: skip
        spool = stack.layout.cyrus / "spool"
        done = {"all": mail_backup(spool, root, uids, args.messages)}
        done["a quarter"] = in_child(uids[: max(1, len(uids) // 4)])
        if args.profile:
            in_child(uids[: args.profile], profile=True)
        big_uid = f"u{args.entries - 4:06d}"
        done["big mailbox"] = big_mailbox(env, spool, big_uid, args.big, args.kib, bool(args.profile))
        for n, count in enumerate((max(1, args.huge // 4), args.huge)):
            huge_uid = f"u{args.entries - 5 - n:06d}"
            create_mailboxes([huge_uid])
            fill(int(env["LMTP_PORT"]), [huge_uid], count, attachment, args.huge_mib, connections=1)
            done[f"{count} msgs of {args.huge_mib:g} MiB"] = in_child([huge_uid])
        for label, made in done.items():
            grown = f"MiB, {made['rss'] - made['rss_before']:+.0f} over its start"
            row(f"5 peak RSS: {label}", set_size(made), None, made["rss"], None, grown)
        table()
    print(f"whole bench: {time.perf_counter() - began:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
