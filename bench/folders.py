"""The folder tree page (FLD-01) on a Cyrus holding many mailboxes and public folders, against a raw LIST.

    sudo .venv/bin/python bench/folders.py [--mailboxes 10000] [--folders 50000] [--budget 600] [--runs 40]

Starts a private stack in a temp dir, then fills Cyrus over IMAP as its admin with 4 parallel connections:
--mailboxes user mailboxes (`user/bNNNNN`) and --folders public folders under 100 top-level folders
(`Pub_000/F_00000` ...). Cyrus 3.6 commits every CREATE to mailboxes.db with an fsync (about 50 CREATEs a
second here, and parallel connections do not help: they queue on the mailboxes.db lock), so 60,000 CREATEs
take about 20 minutes. --budget caps the time spent creating: both kinds are created in the same proportion
until the budget is used, and the figures below say how many there really were.

Then, interleaved console/raw so noise weighs on both alike, p50/p95 of:

  top level     console: /folders/ (one page of the top-level public folders, with counts and sizes)
                raw:     imapclient list_folders("", "%") (the top level, user/ included)
  level page 1  console: /folders/?parent=Pub_000 (first 50 of its children, with counts and sizes)
                raw:     imapclient list_folders("Pub_000/", "%") (all its children, names only)
  level middle  console: the same level, its middle page

The console's time is the Django test Client's whole request (session, menu, one admin login to Cyrus, one
LIST of the level, one LIST-STATUS of the page, rendering); the raw LIST reuses a logged-in connection.
Target: console p95 <= 2x the raw LIST's p95.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

sys.path[0] = str(Path(__file__).resolve().parent.parent)  # bench/queue.py must not shadow stdlib queue

from bench.stacktool import admin_client, percentile, private_stack, setup_django  # noqa: E402

TOP = 100
CONNECTIONS = 4


def imap_admin(env: dict[str, str]) -> Any:
    from imapclient import IMAPClient

    client = IMAPClient("127.0.0.1", port=int(env["IMAP_PORT"]), ssl=False, timeout=60)
    client.login(env["CYRUS_ADMIN"], env["CYRUS_ADMIN_PASSWORD"])
    return client


def create_all(env: dict[str, str], names: list[str], deadline: float) -> int:
    """CREATE `names` in order over parallel connections until done or the deadline; returns how many."""
    from concurrent.futures import ThreadPoolExecutor  # imports `queue`: only after sys.path is fixed

    chunks = [names[i::CONNECTIONS] for i in range(CONNECTIONS)]

    def work(chunk: list[str]) -> int:
        client = imap_admin(env)
        made = 0
        try:
            for name in chunk:
                if time.monotonic() > deadline:
                    break
                client.create_folder(name)
                made += 1
        finally:
            client.logout()
        return made

    with ThreadPoolExecutor(CONNECTIONS) as pool:
        return sum(pool.map(work, chunks))


def interleaved(mailboxes: int, folders: int) -> Iterable[str]:
    """Top-level folders first (the tree needs them), then user mailboxes and public folders mixed in
    proportion, so a budget that runs out leaves both kinds in the same ratio."""
    yield from (f"Pub_{t:03d}" for t in range(TOP))
    publics = [f"Pub_{i % TOP:03d}/F_{i:05d}" for i in range(folders)]
    users = [f"user/b{i:05d}" for i in range(mailboxes)]
    total = len(publics) + len(users)
    pi = ui = 0
    for step in range(total):
        if ui < len(users) and (pi >= len(publics) or ui * total <= step * len(users)):
            yield users[ui]
            ui += 1
        else:
            yield publics[pi]
            pi += 1


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mailboxes", type=int, default=10_000)
    parser.add_argument("--folders", type=int, default=50_000)
    parser.add_argument("--budget", type=float, default=600.0, help="seconds to spend creating")
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    with private_stack() as (root, stack, env):
        names = list(interleaved(args.mailboxes, args.folders))
        began = time.monotonic()
        made = create_all(env, names, began + args.budget)
        took = time.monotonic() - began
        done = set(names[:made]) if made == len(names) else None
        client = imap_admin(env)
        listed = [str(n) for _f, _s, n in client.list_folders("", "*")]
        client.logout()
        users = sum(1 for n in listed if n.startswith("user/"))
        publics = sum(1 for n in listed if n.startswith("Pub_") and "/" in n)
        print(
            f"created {made} of {len(names)} mailboxes/folders in {took:.0f} s ({made / took:.0f}/s): "
            f"{users} user mailboxes, {publics} public folders under {TOP} top-level folders"
            + ("" if done else f" (budget {args.budget:.0f} s reached: scaled down in proportion)"),
            flush=True,
        )
        return bench(root, env, args.runs)


def bench(root: Path, env: dict[str, str], runs: int) -> int:
    setup_django(root, env)

    client = admin_client()
    raw = imap_admin(env)
    level = len(raw.list_folders("Pub_000/", "%"))
    middle = max(1, level // 50 // 2 + 1)

    def page(url: str, expect: str) -> Callable[[], None]:
        def run() -> None:
            answer = client.get(url)
            assert answer.status_code == 200 and expect in answer.content.decode(), url

        return run

    def listing(directory: str) -> Callable[[], None]:
        return lambda: raw.list_folders(directory, "%")

    cases = [
        ("top level", page("/folders/", "Pub_000"), listing("")),
        (
            f"level page 1 ({level} children)",
            page("/folders/?parent=Pub_000", "F_00000"),
            listing("Pub_000/"),
        ),
        (
            f"level middle (page {middle})",
            page(f"/folders/?parent=Pub_000&page={middle}", "F_"),
            listing("Pub_000/"),
        ),
    ]
    if os.environ.get("BENCH_PROFILE"):
        import cProfile
        import pstats

        cases[1][1]()
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(5):
            cases[1][1]()
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
    print(f"\n{'case':34} {'console p50':>11} {'p95':>8} {'raw LIST p50':>13} {'p95':>8} {'ratio p95':>9}")
    worst = 0.0
    for label, console_run, raw_run in cases:
        console_run(), raw_run()  # warm both (imapd process, templates)
        console_t: list[float] = []
        raw_t: list[float] = []
        for _ in range(runs):
            for run, sink in ((console_run, console_t), (raw_run, raw_t)):
                began = time.perf_counter()
                run()
                sink.append((time.perf_counter() - began) * 1000)
        ratio = percentile(console_t, 95) / percentile(raw_t, 95)
        worst = max(worst, ratio)
        print(
            f"{label:34} {statistics.median(console_t):9.1f}ms {percentile(console_t, 95):6.1f}ms "
            f"{statistics.median(raw_t):11.1f}ms {percentile(raw_t, 95):6.1f}ms {ratio:8.2f}x"
        )
    # Where a level page's IMAP time goes: the page's counts as one LIST-STATUS, or one STATUS per folder.
    page_names = sorted(str(n) for _f, _s, n in raw.list_folders("Pub_000/", "%"))[:50]
    patterns = b"(" + b" ".join(b'"' + n.encode() + b'"' for n in page_names) + b")"

    def list_status() -> None:
        raw._raw_command_untagged(  # noqa: SLF001
            b"LIST",
            [b'""', patterns, b"RETURN", b"(STATUS (MESSAGES SIZE))"],
            uid=False,
            response_name="LIST",
        )
        raw._imap.untagged_responses.pop("STATUS", None)  # noqa: SLF001

    def statuses() -> None:
        for name in page_names:
            raw.folder_status(name, ["MESSAGES", "SIZE"])

    for label, run in (("raw: LIST-STATUS of 50 names", list_status), ("raw: 50 x STATUS", statuses)):
        times = []
        for _ in range(max(5, runs // 2)):
            began = time.perf_counter()
            run()
            times.append((time.perf_counter() - began) * 1000)
        print(f"{label:34} {statistics.median(times):9.1f}ms {percentile(times, 95):6.1f}ms")
    raw.logout()
    print(f"\nworst console/raw p95 ratio: {worst:.2f}x (target <= 2x)")
    return 0 if worst <= 2 else 1


if __name__ == "__main__":
    raise SystemExit(main())
