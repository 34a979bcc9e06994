"""SMTP throughput with 200 header + 50 body PCRE checks against none (CFG-02; target >= 0.8x). Not a test.

    sudo .venv/bin/python bench/uce.py [--messages 300] [--clients 4] [--rounds 5]

Starts a private stack and, alternating within the same run (none, rules, none, rules, ...), applies the
tables through the change flow and sends `--messages` messages from `--clients` parallel SMTP clients. Each
message has 15 header lines and 60 body lines, and no rule matches, so every rule is tried on every line:
the worst case for the checks short of a match. Throughput is counted at the SMTP client (250 after DATA):
cleanup runs the checks before it answers, so that is where they cost. The queue is emptied between runs.
"""

from __future__ import annotations

import argparse
import smtplib
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench.stacktool import private_stack, setup_django  # noqa: E402

HEADER_RULES = 200
BODY_RULES = 50


def header_rules() -> list[dict[str, str]]:
    """Rules of the kinds administrators write: subjects, senders, mailers, received chains."""
    kinds = [
        ("^Subject:.*\\bpromo{i}\\b", "REJECT", "5.7.1 no promo {i}"),
        ("^From:.*@spam{i}\\.example\\b", "REJECT", "5.7.1 sender {i} refused"),
        ("^X-Mailer:.*bulkmailer{i}", "HOLD", "bulk {i}"),
        ("^Received: from [a-z0-9.-]*relay{i}\\.example", "WARN", "relay {i}"),
    ]
    return [
        {"pattern": p.format(i=i), "action": a, "text": t.format(i=i)}
        for i in range(HEADER_RULES // len(kinds))
        for p, a, t in kinds
    ]


def body_rules() -> list[dict[str, str]]:
    return [
        {"pattern": f"(cheap|free) pills{i}|casino{i} bonus", "action": "REJECT", "text": f"body {i}"}
        for i in range(BODY_RULES)
    ]


def message(n: int) -> bytes:
    headers = [
        f"From: sender{n}@bench.example",
        "To: nobody@remote.example",
        f"Subject: Quarterly report number {n} for the team",
        f"Message-ID: <bench-{n}@bench.example>",
        "Date: Mon, 07 Dec 2026 12:00:00 +0000",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "X-Mailer: BenchMailer 1.0",
        *(f"Received: from host{k}.bench.example (host{k}.bench.example [192.0.2.{k}])" for k in range(7)),
    ]
    body = [f"Line {k} of the report: figures, notes and the usual words about numbers." for k in range(60)]
    return ("\r\n".join(headers) + "\r\n\r\n" + "\r\n".join(body) + "\r\n").encode()


def send_all(port: int, count: int, clients: int) -> float:
    """Messages per second accepted (250 after DATA), `clients` connections sending in parallel."""
    from concurrent.futures import ThreadPoolExecutor  # after sys.path[0]: bench/queue.py is no `queue`

    def worker(start: int) -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
            for n in range(start, count, clients):
                smtp.sendmail(f"sender{n}@bench.example", ["nobody@remote.example"], message(n))

    began = time.monotonic()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, range(clients)))
    return count / (time.monotonic() - began)


def set_rules(stack: object, with_rules: bool) -> None:
    from mailadmin.configfiles.change import flow
    from mailadmin.configfiles.postfix import checks
    from mailadmin.configfiles.registry.postfix import POSTFIX

    svc = stack.service("postfix")  # type: ignore[attr-defined]
    menu = stack.layout.menu  # type: ignore[attr-defined]
    if with_rules:
        header = checks.canonical(checks.parse("header_checks_rules", _json(header_rules())))
        body = checks.canonical(checks.parse("body_checks_rules", _json(body_rules())))
        changes: dict[str, str | None] = {"header_checks_rules": header, "body_checks_rules": body}
    else:
        changes = {"header_checks_rules": None, "body_checks_rules": None}
    outcome = flow.apply(svc, POSTFIX, menu, flow.propose(svc, POSTFIX, menu, changes))
    if not outcome.applied and outcome.reason:
        raise SystemExit(f"the flow did not apply: {outcome.reason}")


def _json(rules: list[dict[str, str]]) -> str:
    import json

    return json.dumps(rules)


def empty_queue(etc: Path) -> None:
    subprocess.run(["postsuper", "-c", str(etc), "-d", "ALL"], capture_output=True, check=False)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with private_stack() as (root, stack, env):
        setup_django(root, env)
        etc = stack.layout.postfix_etc
        port = int(env["SMTP_PORT"])
        results: dict[bool, list[float]] = {False: [], True: []}
        send_all(port, 20, args.clients)  # warm-up: processes started, tables read
        for r in range(args.rounds):
            # the order alternates too, so neither side always follows the other's leftovers
            for with_rules in (False, True) if r % 2 == 0 else (True, False):
                set_rules(stack, with_rules)
                send_all(port, 8, args.clients)  # the reloaded cleanup processes start
                empty_queue(etc)
                time.sleep(1)  # the queue manager and the filters go idle
                rate = send_all(port, args.messages, args.clients)
                results[with_rules].append(rate)
                label = f"{HEADER_RULES} header + {BODY_RULES} body rules" if with_rules else "no rules"
                print(f"  round {r + 1}: {label:<32} {rate:7.1f} msg/s", flush=True)
                empty_queue(etc)
        none, rules = (statistics.median(results[k]) for k in (False, True))
        # each round's pair was measured back to back, so its ratio is the least disturbed by the machine
        pairs = [b / a for a, b in zip(results[False], results[True], strict=True)]
        print(
            f"{args.messages} messages x {args.rounds} rounds, {args.clients} clients: median no rules "
            f"{none:.1f} msg/s, with rules {rules:.1f} msg/s, ratio {rules / none:.2f}x; per-round ratios "
            f"{', '.join(f'{r:.2f}' for r in pairs)} (median {statistics.median(pairs):.2f}x; target >= 0.8x)"
        )
        set_rules(stack, False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
