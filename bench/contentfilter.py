"""Delivered messages per second with the content filter (amavisd + ClamAV + SpamAssassin, CFG-03) on and off,
on the same private stack: SMTP in -> Postfix -> [amavisd -> re-injection smtpd ->] disclaimer filter ->
LMTP -> Cyrus, counted in IMAP. No target (the issue asks for the ratio and where the time goes).

    sudo .venv/bin/python bench/contentfilter.py [--n 300] [--clients 4] [--rounds 2] [--children 2]

A private stack in a temp dir; a domain, a sender and two mailboxes. The filter is switched through the
Configuration menu's own change flow (validate, apply, smoke test), with amavisd's children as --children.
Rounds alternate on, off, on, off; each sends --n messages (about 2 KB, multipart/alternative, the same as
bench/filter.py) over --clients SMTP connections and stops the clock when the last one is in the INBOX.
Then amavisd's own TIMING lines of the "on" rounds say where its time went (summed over messages, the ten
biggest sections) and what SpamAssassin's share was (TIMING-SA).
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)  # bench/queue.py must not shadow stdlib queue

from bench.filter import _round  # noqa: E402
from bench.stacktool import private_stack, setup_django  # noqa: E402

DOMAIN = "bench.test"
PASSWORD = "Bench-pass-123"
# "SA check: 86 (44%)83," : a section's name, its milliseconds, its share, the running share
SECTION = re.compile(r"([A-Za-z][\w -]*?): ([\d.]+) \(\d+%\)\d+")
TOTAL = re.compile(r"TIMING \[total (\d+) ms")


def _switch(stack: Any, on: bool, children: int) -> None:
    from mailadmin.configfiles.change import flow
    from mailadmin.configfiles.registry.amavis import AMAVIS

    svc, menu = stack.service("amavis"), stack.layout.menu
    changes = {"enabled": "yes" if on else "no", "max_servers": str(children)}
    outcome = flow.apply(svc, AMAVIS, menu, flow.propose(svc, AMAVIS, menu, changes))
    if not outcome.applied:
        raise RuntimeError(f"the content filter change failed: {outcome.reason}")


def where_time_goes(lines: list[str]) -> tuple[int, float, Counter[str]]:
    """(messages, mean total ms, summed ms per section) from amavisd's TIMING lines."""
    sections: Counter[str] = Counter()
    totals = []
    for line in lines:
        total = TOTAL.search(line)
        if total is None:
            continue
        totals.append(int(total[1]))
        for name, ms in SECTION.findall(line[total.end() :]):
            sections[name.strip()] += float(ms)  # type: ignore[assignment]
    return len(totals), (statistics.mean(totals) if totals else 0.0), sections


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--children", type=int, default=2, help="amavisd's max_servers (the page's setting)")
    parser.add_argument("--keep", action="store_true", help="leave the state dir (and print it)")
    args = parser.parse_args()

    with private_stack(keep=args.keep) as (root, stack, env):
        setup_django(root, env)
        from accounts import services
        from mailadmin.actor import Actor
        from mailadmin.directory import dit

        actor = Actor.system("bench")
        services.domain_create(actor=actor, name=DOMAIN)
        org = dit.organization_dn(DOMAIN, DOMAIN)
        for uid in ("sender", "on", "off"):
            services.user_create(actor=actor, container_dn=org, uid=uid, password=PASSWORD, last_name=uid)
        sender = f"sender@{DOMAIN}"
        log = stack.layout.amavis_log
        results: dict[str, list[float]] = {"on": [], "off": []}
        timing: list[str] = []
        _switch(stack, True, args.children)
        _round(sender, "on", 20, args.clients)  # warm-up: amavis's children load SpamAssassin's rules
        for r in range(args.rounds):
            for mode in ("on", "off"):
                _switch(stack, mode == "on", args.children)
                offset = log.stat().st_size
                rate = _round(sender, mode, args.n, args.clients)
                results[mode].append(rate)
                if mode == "on":
                    with log.open("rb") as f:
                        f.seek(offset)
                        timing += f.read().decode("utf-8", "replace").splitlines()
                print(f"round {r + 1} filter {mode:<3}: {rate:7.1f} msg/s", flush=True)
        med_on, med_off = statistics.median(results["on"]), statistics.median(results["off"])
        paired = statistics.median(a / b for a, b in zip(results["on"], results["off"], strict=True))
        print(
            f"n={args.n} clients={args.clients} rounds={args.rounds} amavis children={args.children}: median "
            f"on {med_on:.1f} msg/s, off {med_off:.1f} msg/s; ratio on/off {med_on / med_off:.2f} "
            f"(median per-round ratio {paired:.2f})"
        )
        count, mean_total, sections = where_time_goes(timing)
        spent = sum(sections.values()) or 1.0
        print(f"amavisd: {count} messages, mean {mean_total:.0f} ms each inside amavisd; biggest sections:")
        for name, ms in sections.most_common(10):
            print(f"  {name:<24} {ms / max(count, 1):7.1f} ms/msg  {100 * ms / spent:5.1f} %")
        sa = [float(m[1]) for line in timing if (m := re.search(r"TIMING-SA total (\d+) ms", line))]
        if sa:
            print(f"  SpamAssassin (TIMING-SA): mean {statistics.mean(sa):.0f} ms/msg")
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
