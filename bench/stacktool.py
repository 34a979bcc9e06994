"""What the benchmarks share: a private stack in a temp dir, Django pointed at it, an offline LDIF load,
percentiles and peak RSS. Not a benchmark itself."""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mailadmin.stack import Stack


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile of `values` (pct in 0..100)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def hwm_rss_mib() -> float:
    """Peak RSS of this program alone (VmHWM). Linux keeps ru_maxrss across fork and exec, so a child
    started by a big parent would report the parent's size; the high-water mark of its own memory does not."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return peak_rss_mib()


@contextlib.contextmanager
def private_stack(
    *, keep: bool = False, announce: bool = True
) -> Iterator[tuple[Path, Stack, dict[str, str]]]:
    """(root, stack, env): a stack started in a fresh temp dir (mode 0755: the daemons run as their own users
    and must reach their dirs), with `root/var/static` for Django. Stopped and removed on the way out (kept
    and printed with `keep`)."""
    from mailadmin.stack import Stack, StackConfig

    root = Path(tempfile.mkdtemp(prefix="mailadmin-bench-"))
    root.chmod(0o755)
    (root / "var" / "static").mkdir(parents=True)
    stack = Stack(StackConfig(state_dir=root / "stack", ports="auto"))
    try:
        if announce:
            print("starting a private stack ...", flush=True)
        env = stack.start()
        yield root, stack, env
    finally:
        try:
            stack.stop()
        finally:
            if keep:
                print(f"state left in {root}")
            else:
                shutil.rmtree(root, ignore_errors=True)


def slapadd(stack: Stack, env: dict[str, str], ldif: Path) -> tuple[dict[str, str], float]:
    """Load `ldif` offline into the stack's own slapd (stopped for it, started again): `slapadd -q` skips the
    consistency checks that make an online add of 100,000 entries take minutes. The new env and the seconds
    the load took."""
    stack.stop()
    began = time.perf_counter()
    subprocess.run(
        ["/usr/sbin/slapadd", "-q", "-F", str(stack.layout.ldap / "slapd.d"), "-b", env["LDAP_BASE_DN"],
         "-l", str(ldif)],
        check=True,
        stdin=subprocess.DEVNULL,
        capture_output=True,
    )  # fmt: skip
    loaded = time.perf_counter() - began
    return stack.start(), loaded


def setup_django(root: Path, env: dict[str, str]) -> None:
    """Point this process's Django at the stack (jobs run in-process) and migrate its database."""
    os.environ.update(env)
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "mailadmin.settings",
            "MAILADMIN_IGNORE_STACK_ENV": "1",
            "MAILADMIN_VAR_DIR": str(root / "var"),
            "MAILADMIN_TLS": "0",
            "MAILADMIN_ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
            "MAILADMIN_MANIFEST_STATIC": "0",
            "MAILADMIN_JOBS_EAGER": "1",
        }
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


ADMIN_UID = "benchadmin"
ADMIN_PASSWORD = "Bench-admin-pass-1"  # a throwaway stack's account


def admin_client() -> Any:
    """A Django test Client logged in, through the real login view, as a new console administrator."""
    from django.test import Client

    from accounts.services.roles import administrator_add
    from accounts.services.users import user_create
    from mailadmin.actor import Actor
    from mailadmin.directory import dit

    actor = Actor.system("bench")
    admin_dn = user_create(
        actor=actor,
        container_dn=dit.admins_dn(),
        uid=ADMIN_UID,
        password=ADMIN_PASSWORD,
        last_name="Bench",
        create_mailbox=False,
    )
    administrator_add(actor=actor, account_dn=admin_dn)
    client = Client()
    response = client.post("/login/", {"username": ADMIN_UID, "password": ADMIN_PASSWORD})
    assert response.status_code == 302, response.content[:500]
    return client


def cpu_by_process() -> dict[str, float]:
    """CPU seconds (user + system) used so far by every live process, summed per name (Postfix's `smtpd`,
    `cleanup`, ..., Python's `manage.py <command>`). The difference of two calls says where a run spent its
    CPU; processes that ended in between are missing, so it is a lower bound for short-lived ones."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
            cmdline = Path(entry.path, "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        if comm.startswith("kworker"):  # renames itself with its work item: no stable name to compare
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        used = (int(fields[11]) + int(fields[12])) / tick
        if comm.startswith("python") and len(cmdline) > 2:  # manage.py <command>
            comm = " ".join(Path(a.decode(errors="replace")).name for a in cmdline[1:3])
        out[comm] = out.get(comm, 0.0) + used
    return out


def cpu_delta(before: dict[str, float], after: dict[str, float], top: int = 12) -> str:
    """The biggest per-name CPU differences as one line."""
    diff = {name: after[name] - before.get(name, 0.0) for name in after}
    ranked = sorted(((v, k) for k, v in diff.items() if v > 0.005), reverse=True)[:top]
    return ", ".join(f"{k} {v:.2f}s" for v, k in ranked)


def pressure() -> dict[str, float]:
    """Seconds of CPU and I/O stall so far (Linux PSI, "some": at least one task waiting), and disk writes."""
    out: dict[str, float] = {}
    for kind in ("cpu", "io"):
        try:
            first = Path(f"/proc/pressure/{kind}").read_text().splitlines()[0]
        except OSError:
            continue
        out[f"{kind} stall"] = int(first.rpartition("total=")[2]) / 1e6
    return out


def pressure_delta(before: dict[str, float], after: dict[str, float]) -> str:
    return ", ".join(f"{k} {after[k] - before.get(k, 0.0):.2f}s" for k in after)


def _lmtp_reply(reader: Any) -> list[bytes]:
    """One (multi-line) LMTP reply, every line of it."""
    lines = [reader.readline()]
    while lines[-1][3:4] == b"-":
        lines.append(reader.readline())
    return lines


def lmtp_deliver(port: int, messages: Iterable[tuple[str, bytes]]) -> int:
    """Deliver (recipient, CRLF message) pairs to Cyrus's LMTP port over one connection, pipelined
    (RFC 2920): each message's body goes out in one write with the next message's MAIL, RCPT and DATA, so a
    message costs one round trip. Raises on any refusal; the number delivered."""
    import socket

    sock = socket.create_connection(("127.0.0.1", port), timeout=120)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    reader = sock.makefile("rb")
    _lmtp_reply(reader)
    sock.sendall(b"LHLO bench.test\r\n")
    if not any(b"PIPELINING" in line for line in _lmtp_reply(reader)):
        raise RuntimeError("Cyrus's LMTP does not offer PIPELINING")
    done, pending = 0, b""
    for rcpt, data in messages:
        sock.sendall(pending + f"MAIL FROM:<bench@bench.test>\r\nRCPT TO:<{rcpt}>\r\nDATA\r\n".encode())
        replies = [_lmtp_reply(reader)[-1] for _ in range(4 if pending else 3)]
        if not all(r[:1] in (b"2", b"3") for r in replies):
            raise RuntimeError(f"LMTP refused a message to {rcpt}: {replies}")
        done += 1 if pending else 0
        pending = data.replace(b"\r\n.", b"\r\n..") + (b"" if data.endswith(b"\r\n") else b"\r\n") + b".\r\n"
    if pending:
        sock.sendall(pending + b"QUIT\r\n")
        last = _lmtp_reply(reader)[-1]
        if last[:1] != b"2":
            raise RuntimeError(f"LMTP refused the last message: {last!r}")
        done += 1
    reader.close()
    sock.close()
    return done


def profile_buckets(stats: Any, buckets: dict[str, tuple[str, str, str]]) -> dict[str, tuple[float, int]]:
    """label -> (cumulative seconds, calls) in a pstats.Stats of the functions each bucket names by (a piece
    of the file name, the function name, the calling function's name or "" for any caller). Builtins have
    the file name "~". Buckets must not nest for their sum to mean something."""
    out = dict.fromkeys(buckets, (0.0, 0))
    for (filename, _line, func), (_cc, calls, _tt, cumulative, callers) in stats.stats.items():
        for label, (where, name, caller) in buckets.items():
            if func != name or where not in filename:
                continue
            if caller:  # only the calls from that caller: pstats keeps (calls, -, own, cumulative) per edge
                edges = [v for (_f, _l, c), v in callers.items() if c == caller]
                calls, cumulative = sum(e[0] for e in edges), sum(e[3] for e in edges)
            seconds, count = out[label]
            out[label] = (seconds + cumulative, count + calls)
    return out


def lmtp_fill(port: int, work: list[tuple[str, int]], make: Any, connections: int = 4) -> float:
    """Deliver `make(recipient, n)` for each (recipient, n) in `work` over `connections` pipelined LMTP
    connections at once (lmtp_deliver); the seconds it took."""
    from concurrent.futures import ThreadPoolExecutor  # imports `queue`: only once sys.path is set

    began = time.perf_counter()
    with ThreadPoolExecutor(connections) as pool:
        parts = [work[i::connections] for i in range(connections)]
        done = sum(pool.map(lambda part: lmtp_deliver(port, ((r, make(r, n)) for r, n in part)), parts))
    if done != len(work):
        raise RuntimeError(f"delivered {done} of {len(work)} messages")
    return time.perf_counter() - began


def pipe_to_file(first: list[str], second: list[str], out: Path) -> float:
    """`first | second > out` (argv lists, no shell), the file fsynced; the seconds it took."""
    began = time.perf_counter()
    with out.open("wb") as sink:
        one = subprocess.Popen(first, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        two = subprocess.Popen(second, stdin=one.stdout, stdout=sink)
        if one.stdout is not None:
            one.stdout.close()  # `second` alone holds the pipe: `first` sees it close if `second` dies
        if two.wait() or one.wait():
            raise RuntimeError(f"{first[0]} | {second[0]} failed")
        os.fsync(sink.fileno())
    return time.perf_counter() - began


def imap_admin(env: dict[str, str]) -> Any:
    """A plain imapclient session as the stack's Cyrus admin with TCP_NODELAY: the benches' raw IMAP tool."""
    import socket

    from imapclient import IMAPClient

    client = IMAPClient("127.0.0.1", port=int(env["IMAP_PORT"]), ssl=False, timeout=120)
    client.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    client.login(env["CYRUS_ADMIN"], env["CYRUS_ADMIN_PASSWORD"])
    return client


def print_profile(
    title: str, profile: Any, total: float, per: tuple[int, str], steps: dict[str, Any]
) -> None:
    """A cProfile.Profile summed into `steps` (see profile_buckets; labels that begin with a space are parts
    of an earlier line and left out of the sum), the rest, and the functions with the most own time."""
    import io
    import pstats

    sums = profile_buckets(pstats.Stats(profile, stream=io.StringIO()), steps)
    print(f"{title}: {total:.2f} s under cProfile (wall time); last column: ms per {per[1]} ({per[0]})")
    for label, (seconds, calls) in sums.items():
        print(f"  {label:<80} {seconds:7.2f} s {calls:7d} calls {seconds * 1000 / per[0]:8.2f}")
    rest = total - sum(s for label, (s, _c) in sums.items() if not label.startswith(" "))
    print(f"  {'the rest (the Python around these, the profiler)':<80} {rest:7.2f} s")
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(8)
    print("  most own time:\n" + "\n".join("  " + line for line in out.getvalue().splitlines()[7:16]))


def imap_count(env: dict[str, str], folder: str, *, empty: bool = False) -> int:
    """The number of messages in `folder` (`user/jane`), after deleting them all with `empty`."""
    client = imap_admin(env)
    client.select_folder(folder)
    if empty and (found := client.search(["ALL"])):
        client.add_flags(found, [b"\\Deleted"], silent=True)
        client.expunge()
    count = len(client.search(["ALL"]))
    client.logout()
    return count


def imap_append_loop(env: dict[str, str], folder: str, messages: list[tuple[bytes, Any]]) -> float:
    """(message, internal date) pairs APPENDed one after another into a new `folder` as the Cyrus admin, the
    folder deleted after: what a bare client does. The seconds of the APPENDs."""
    client = imap_admin(env)
    client.create_folder(folder)
    began = time.perf_counter()
    for data, when in messages:
        client.append(folder, data, flags=[], msg_time=when)
    seconds = time.perf_counter() - began
    client.delete_folder(folder)
    client.logout()
    return seconds
