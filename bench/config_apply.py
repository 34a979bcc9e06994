"""The Configuration menu's change flow against the raw tools (CFG-01; targets: flow <= 5x the raw tools,
p95 < 3 s; help search p95 < 50 ms). Not a test.

    sudo .venv/bin/python bench/config_apply.py [--rounds 20]

Starts a private stack and, alternating, changes Postfix's message_size_limit
1. through the whole flow: value check, render into a staging dir, `postfix check` + `postconf -n` on the
   staged copy, three-way rows and diff, atomic rename, `postfix reload`, smoke test (EHLO, RCPT to a mailbox,
   LMTP greeting);
2. with the raw tools on the same instance: `postconf -e message_size_limit=N` + `postfix reload` (which waits
   about 2 s for the freshly written main.cf to cool down), and the same with main.cf's time set back first
   (what the flow does) for the fair comparison of the work itself.
Then times the help browser's search over every parameter of every service.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench.stacktool import peak_rss_mib, percentile, private_stack, setup_django  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    with private_stack() as (root, stack, env):
        setup_django(root, env)
        return bench(stack, args.rounds)


def line(name: str, values: list[float]) -> tuple[float, float]:
    ms = [v * 1000 for v in values]
    p50, p95 = percentile(ms, 50), percentile(ms, 95)
    print(f"  {name:<44} n={len(ms):>4}  p50 {p50:8.1f} ms  p95 {p95:8.1f} ms")
    return p50, p95


def bench(stack: object, rounds: int) -> int:
    from mailadmin.configfiles.change import flow
    from mailadmin.configfiles.registry.postfix import POSTFIX

    svc = stack.service("postfix")  # type: ignore[attr-defined]
    menu = stack.layout.menu  # type: ignore[attr-defined]
    etc = svc.etc
    through_flow: list[float] = []
    raw: list[float] = []
    raw_cool: list[float] = []
    steps: dict[str, list[float]] = {"validate+diff": [], "install": [], "reload": [], "smoke": []}
    for i in range(rounds):
        size = str(20_000_000 + i * 1024)
        began = time.monotonic()
        tick = time.monotonic()
        proposal = flow.propose(svc, POSTFIX, menu, {"message_size_limit": size})
        steps["validate+diff"].append(time.monotonic() - tick)
        outcome = flow.apply(svc, POSTFIX, menu, proposal)
        through_flow.append(time.monotonic() - began)
        if not outcome.applied:
            print(f"flow did not apply: {outcome.reason}")
            return 1
        for key in ("install", "reload", "smoke"):
            steps[key].append(outcome.timings.get(key, 0.0))
        began = time.monotonic()
        subprocess.run(["postconf", "-c", str(etc), "-e", f"message_size_limit={int(size) + 1}"], check=True)
        subprocess.run(["postfix", "-c", str(etc), "reload"], check=True, capture_output=True)
        raw.append(time.monotonic() - began)
        # the same, with main.cf's time set back as the flow does (Postfix waits for a main.cf younger
        # than 2 s to cool down before it reloads)
        began = time.monotonic()
        subprocess.run(["postconf", "-c", str(etc), "-e", f"message_size_limit={int(size) + 2}"], check=True)
        past = time.time() - 3
        os.utime(etc / "main.cf", (past, past))
        subprocess.run(["postfix", "-c", str(etc), "reload"], check=True, capture_output=True)
        raw_cool.append(time.monotonic() - began)
    print(f"Postfix message_size_limit change, {rounds} rounds each:")
    flow_p50, flow_p95 = line("whole flow (propose + apply)", through_flow)
    for key, values in steps.items():
        line(f"  of which {key}", values)
    raw_p50, _ = line("postconf -e + postfix reload", raw)
    cool_p50, _ = line("postconf -e + backdated main.cf + reload", raw_cool)
    ratios = f"{flow_p50 / raw_p50:.1f}x, against the backdated raw: {flow_p50 / cool_p50:.1f}x"
    print(f"  ratio flow/raw at p50: {ratios}")
    print(f"  (target <= 5x); flow p95 {flow_p95:.0f} ms (target < 3000)")

    from configuration import selectors
    from mailadmin.configfiles.registry.catalog import every_param

    queries = [
        "size",
        "message size limit",
        "timeout",
        "tls certificate",
        "ldap bind",
        "quota",
        "zzz-nothing",
    ]
    times = []
    for _ in range(50):
        for q in queries:
            tick = time.monotonic()
            selectors.search_help(q)
            times.append(time.monotonic() - tick)
    print(f"Help search over {len(every_param())} parameters, {len(times)} queries:")
    line("search_help", times)
    print(f"  peak RSS {peak_rss_mib():.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
