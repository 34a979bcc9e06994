"""Cold start and stop of the private stack, from an empty state dir each time (not a test).

    sudo .venv/bin/python bench/stack_start.py [-n 3]

Prints each run's start and stop time, the median, and per daemon the time of its own start command
(slapd, saslauthd, cyrmaster, postfix start, redis-server, pg_ctl start + createdb) next to the whole
prepare + start + readiness step, so the harness's overhead is visible. Target: cold start < 10 s.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from mailadmin.stack import Stack, StackConfig
from mailadmin.stack.base import Service

LAUNCH: dict[str, float] = {}


def timed_launch(original: Callable[[Service], None]) -> Callable[[Service], None]:
    def launch(self: Service) -> None:
        began = time.monotonic()
        try:
            original(self)
        finally:
            LAUNCH[self.name] = time.monotonic() - began

    return launch


def instrument() -> None:
    for cls in Service.__subclasses__():
        if "launch" in cls.__dict__:
            setattr(cls, "launch", timed_launch(cls.__dict__["launch"]))  # noqa: B010 - patched for timing


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", type=int, default=3, help="number of cold starts (default 3)")
    args = parser.parse_args()
    instrument()
    starts: list[float] = []
    stops: list[float] = []
    per_service: dict[str, list[float]] = defaultdict(list)
    per_launch: dict[str, list[float]] = defaultdict(list)
    for run in range(1, args.n + 1):
        root = Path(tempfile.mkdtemp(prefix="mailadmin-bench-"))
        root.chmod(0o755)
        stack = Stack(StackConfig(state_dir=root / "stack", ports="auto"))
        try:
            LAUNCH.clear()
            began = time.monotonic()
            stack.start()
            starts.append(time.monotonic() - began)
            began = time.monotonic()
            stack.stop()
            stops.append(time.monotonic() - began)
        finally:
            stack.stop()
            shutil.rmtree(root, ignore_errors=True)
        for name, seconds in stack.timings.items():
            per_service[name].append(seconds)
            per_launch[name].append(LAUNCH.get(name, 0.0))
        steps = "  ".join(f"{name} {seconds:.2f}" for name, seconds in stack.timings.items())
        print(f"run {run}: start {starts[-1]:.2f} s  stop {stops[-1]:.2f} s   [{steps}]")
    median_start, median_stop = statistics.median(starts), statistics.median(stops)
    print(f"median: start {median_start:.2f} s  stop {median_stop:.2f} s  (target < 10 s)")
    print("per daemon (median): whole step / its start command alone")
    raw_total = 0.0
    for name in per_service:
        whole, raw = statistics.median(per_service[name]), statistics.median(per_launch[name])
        raw_total += raw
        print(f"  {name:<10} {whole:5.2f} s / {raw:5.2f} s")
    ratio = median_start / raw_total if raw_total else float("nan")
    print(f"start commands alone: {raw_total:.2f} s; whole start / start commands = {ratio:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
