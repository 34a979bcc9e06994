"""The mail queue at 50,000-100,000 deferred messages: the console's pages and bulk Hold against Postfix's own
commands on the same queue, in the same run.

    sudo .venv/bin/python bench/queue.py [--messages 100000] [--runs 20]

Starts a private stack in a temp dir (mode 0755, like the test plugin), migrates the console's database and
logs in an administrator through the real login view (Django test Client). Fills the queue (timed):

  1. --seeds distinct messages by real SMTP to remote domains; the stack's relay port is dead, so each one is
     deferred at once with "connection refused" (sender domain d<n>.bench, n = seed mod 10);
  2. each seed's queue file and defer log copied until there are --messages messages, under fresh long queue
     ids (same time part, so the same hash directory; a new inode part in Postfix's id alphabet), owned by
     postfix like the originals. `postqueue -j` lists every copy and postsuper acts on them like any message;
     the queue manager leaves them alone for an hour (queue_run_delay).

Then, interleaved so noise weighs on both alike, p50/p95 of:

  first page        console GET /queue/                         vs `postqueue -j > /dev/null`
  filtered page     console GET /queue/?domain=d3.bench (10%)   vs the same
  filtered, no hit  console GET /queue/?recipient=nobody-here (a full pass over the queue) vs the same

Targets: console p95 <= 1.3x postqueue's p95, and flat memory (peak RSS of this process before and after the
page runs). Then bulk Hold of the 10% in d3.bench (10,000 at 100k), each run undone with `postsuper -H -`:

  by ids      console "Act on queue IDs" (POST /queue/ids/ with the 10,000 ids, checked against the spool,
              the job run in-process)  vs `postsuper -h - < ids` with the same ids. Target <= 1.5x.
  by filter   console "everything matching this filter" (POST /queue/action/ domain=d3.bench, a full
              listing pass in the job)  vs `postqueue -j | sed | postsuper -h -` (information).
"""

from __future__ import annotations

import argparse
import json
import os
import smtplib
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path[0] = str(Path(__file__).resolve().parent.parent)  # bench/queue.py must not shadow stdlib queue

from bench.stacktool import admin_client, peak_rss_mib, percentile, private_stack, setup_django  # noqa: E402

# The inode part of a long queue id: Postfix's alphabet without vowels, and without "z" (the separator;
# showq skips a name whose inode part holds one).
ID_CHARS = "0123456789BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxy"


def encode(n: int) -> str:
    out = ""
    while True:
        n, digit = divmod(n, len(ID_CHARS))
        out = ID_CHARS[digit] + out
        if not n:
            return out


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--hold-runs", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="leave the state dir (and print it)")
    args = parser.parse_args()
    with private_stack(keep=args.keep) as (root, stack, env):
        return bench(root, env, args)


def raw_queue(config: str) -> list[dict[str, Any]]:
    out = subprocess.run(["/usr/sbin/postqueue", "-c", config, "-j"], capture_output=True, check=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def fill(env: dict[str, str], config: str, messages: int, seeds: int) -> None:
    began = time.perf_counter()
    with smtplib.SMTP(env["SMTP_HOST"], int(env["SMTP_PORT"]), timeout=30) as smtp:
        for i in range(seeds):
            sender = f"s{i}@d{i % 10}.bench"
            rcpt = f"r{i}@remote{i % 37}.example"
            smtp.sendmail(
                sender, [rcpt], f"From: {sender}\r\nTo: {rcpt}\r\nSubject: seed {i}\r\n\r\nSeed {i}.\r\n"
            )
    deadline = time.monotonic() + 120
    while True:
        queued = [m for m in raw_queue(config) if m["queue_name"] == "deferred"]
        if len(queued) >= seeds:
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {len(queued)} of {seeds} seeds deferred")
        time.sleep(0.2)
    smtp_s = time.perf_counter() - began
    spool = Path(
        subprocess.run(
            ["/usr/sbin/postconf", "-c", config, "-h", "queue_directory"], capture_output=True, text=True,
            check=True,
        ).stdout.strip()
    )  # fmt: skip
    began = time.perf_counter()
    copies_each = -(-(messages - seeds) // seeds)
    made = seeds
    serial = len(ID_CHARS) ** 5  # inode parts of 6 characters: never a real inode number's encoding here
    for seed in queued:
        qid = seed["queue_id"]
        prefix = qid[: qid.index("z", 10) + 1]
        queue_file = next((spool / "deferred").glob(f"*/{qid}"))
        defer_log = spool / "defer" / queue_file.parent.name / qid
        stat = queue_file.stat()
        data, log = queue_file.read_bytes(), defer_log.read_bytes()
        for _n in range(min(copies_each, messages - made)):
            serial += 1
            new = prefix + encode(serial)
            for path, content in ((queue_file.with_name(new), data), (defer_log.with_name(new), log)):
                path.write_bytes(content)
                os.chown(path, stat.st_uid, stat.st_gid)
                path.chmod(stat.st_mode & 0o777)
            made += 1
    copy_s = time.perf_counter() - began
    print(
        f"filled the queue: {seeds} seeds by SMTP in {smtp_s:.1f} s, {made - seeds} copies in {copy_s:.1f} s "
        f"({made} messages, {made / (smtp_s + copy_s):.0f} msg/s overall)",
        flush=True,
    )


def timed(first: Callable[[], Any], second: Callable[[], Any], runs: int) -> tuple[list[float], list[float]]:
    a: list[float] = []
    b: list[float] = []
    first(), second()  # warm both before counting
    for n in range(runs):
        for which, fn in ((a, first), (b, second)) if n % 2 else ((b, second), (a, first)):
            began = time.perf_counter()
            fn()
            which.append(time.perf_counter() - began)
    return a, b


def bench(root: Path, env: dict[str, str], args: argparse.Namespace) -> int:
    setup_django(root, env)

    config = env["POSTFIX_CONFIG_DIR"]
    fill(env, config, args.messages, args.seeds)
    # Counted line by line: loading the listing here would set this process's peak RSS before the
    # page runs and hide whatever the console's pages add.
    total, json_bytes, in_d3 = 0, 0, []
    with subprocess.Popen(["/usr/sbin/postqueue", "-c", config, "-j"], stdout=subprocess.PIPE) as lister:
        assert lister.stdout is not None
        for line in lister.stdout:
            total += 1
            json_bytes += len(line)
            if b"@d3.bench" in line:
                message = json.loads(line)
                if message["sender"].endswith("@d3.bench"):
                    in_d3.append(message["queue_id"])
    json_mib = json_bytes / 2**20
    print(f"postqueue -j lists {total} messages ({json_mib:.0f} MiB of JSON); {len(in_d3)} from d3.bench")

    client = admin_client()

    def console(url: str, expect: str | None) -> Callable[[], None]:
        def get() -> None:
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            if expect is not None:
                assert expect in response.content.decode(), (url, expect)

        return get

    def postqueue() -> None:
        subprocess.run(["/usr/sbin/postqueue", "-c", config, "-j"], stdout=subprocess.DEVNULL, check=True)

    cases = [
        ("first page", "/queue/", "@d"),
        ("filtered page (d3.bench)", "/queue/?domain=d3.bench", "@d3.bench"),
        ("filtered, no match (full pass)", "/queue/?recipient=nobody-here", "No message matches"),
    ]
    rss_before = peak_rss_mib()
    rows = []
    for label, url, expect in cases:
        c_times, r_times = timed(console(url, expect), postqueue, args.runs)
        rows.append((label, c_times, r_times))
    rss_after = peak_rss_mib()
    failed = False
    print(f"\n{total} queued messages, {args.runs} runs each (ms)")
    header = (
        f"{'case':30} {'console p50':>11} {'p95':>7} {'postqueue p50':>13} {'p95':>7} {'ratio':>6}  target"
    )
    print(header)
    print("-" * len(header))
    for label, c_times, r_times in rows:
        c50, c95 = statistics.median(c_times) * 1000, percentile(c_times, 95) * 1000
        r50, r95 = statistics.median(r_times) * 1000, percentile(r_times, 95) * 1000
        ratio = c95 / r95 if r95 else float("inf")
        ok = ratio <= 1.3
        failed |= not ok
        print(f"{label:30} {c50:11.1f} {c95:7.1f} {r50:13.1f} {r95:7.1f} {ratio:6.2f}  "
              f"{'ok' if ok else 'MISSED'} (<= 1.3x)")  # fmt: skip
    print(
        f"peak RSS of this process: {rss_before:.0f} MiB before the page runs, {rss_after:.0f} MiB after "
        f"({rss_after - rss_before:+.1f} MiB; the queue's JSON is {json_mib:.0f} MiB)"
    )
    failed |= rss_after - rss_before > 20

    # Bulk Hold of everything from d3.bench
    ids_text = "".join(f"{i}\n" for i in in_d3).encode()

    def postsuper(flag: str) -> str:
        done = subprocess.run(
            ["/usr/sbin/postsuper", "-c", config, flag, "-"], input=ids_text, capture_output=True, check=True
        )
        return done.stderr.decode(errors="replace").strip().splitlines()[-1]

    def in_hold() -> int:
        done = subprocess.run(["/usr/sbin/postqueue", "-c", config, "-j"], capture_output=True, check=True)
        return done.stdout.count(b'{"queue_name": "hold"')

    def pipeline() -> str:
        """What a shell user would type to hold a domain's mail: list, pick, hold (no shell here: three
        processes joined by pipes, the picking done by sed)."""
        lister = subprocess.Popen(["/usr/sbin/postqueue", "-c", config, "-j"], stdout=subprocess.PIPE)
        picker = subprocess.Popen(
            [
                "sed",
                "-nE",
                r's/^\{"queue_name": "[a-z]+", "queue_id": "([^"]+)".*"sender": "[^"]*@d3\.bench".*/\1/p',
            ],
            stdin=lister.stdout,
            stdout=subprocess.PIPE,
        )
        assert lister.stdout is not None and picker.stdout is not None
        lister.stdout.close()
        holder = subprocess.run(
            ["/usr/sbin/postsuper", "-c", config, "-h", "-"],
            stdin=picker.stdout,
            capture_output=True,
            check=True,
        )
        picker.stdout.close()
        lister.wait(), picker.wait()
        return holder.stderr.decode(errors="replace").strip().splitlines()[-1]

    ids_form = ids_text.decode()
    c_hold: list[float] = []
    r_hold: list[float] = []
    p_hold: list[float] = []
    f_hold: list[float] = []
    for n in range(args.hold_runs):
        order = ("ids", "raw", "pipeline", "filter")
        for which in order if n % 2 == 0 else order[::-1]:
            began = time.perf_counter()
            if which == "raw":
                said = postsuper("-h")
                r_hold.append(time.perf_counter() - began)
            elif which == "pipeline":
                said = pipeline()
                p_hold.append(time.perf_counter() - began)
            elif which == "ids":
                response = client.post("/queue/ids/", {"action": "hold", "ids": ids_form})
                c_hold.append(time.perf_counter() - began)
                assert response.status_code == 302, (response.status_code, response.content[:2000])
                said = f"console: {response['Location']}"
            else:
                response = client.post(
                    "/queue/action/", {"action": "hold", "apply_to": "all", "domain": "d3.bench"}
                )
                f_hold.append(time.perf_counter() - began)
                assert response.status_code == 302, response.status_code
                said = f"console: {response['Location']}"
            held = in_hold()
            if held != len(in_d3):
                print(f"MISMATCH {which}: {held} held, expected {len(in_d3)} ({said})")
                failed = True
            postsuper("-H")
    c50, r50 = statistics.median(c_hold) * 1000, statistics.median(r_hold) * 1000
    ratio = c50 / r50 if r50 else float("inf")
    ok = ratio <= 1.5
    failed |= not ok
    p50 = statistics.median(p_hold) * 1000
    f50 = statistics.median(f_hold) * 1000
    print(f"\nbulk Hold of {len(in_d3)} messages, {args.hold_runs} runs each (ms)")
    print(f"{'console: Act on queue IDs (job)':36} p50 {c50:9.1f} max {max(c_hold) * 1000:9.1f}")
    print(f"{'postsuper -h - < ids':36} p50 {r50:9.1f} max {max(r_hold) * 1000:9.1f}")
    print(f"ratio (p50) {ratio:.2f}  {'ok' if ok else 'MISSED'} (<= 1.5x)")
    print(f"{'console: everything matching (job)':36} p50 {f50:9.1f} max {max(f_hold) * 1000:9.1f}")
    print(f"{'postqueue -j | sed | postsuper -h -':36} p50 {p50:9.1f} max {max(p_hold) * 1000:9.1f}")
    print(f"ratio (p50) {f50 / p50:.2f}  (information: a filter needs every envelope, so a full listing)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
