"""End-to-end throughput of mail with the disclaimer filter (DLV-03) against the same stack without it:
SMTP in -> Postfix -> [mailfilter -> re-injection smtpd ->] LMTP -> Cyrus, counted in IMAP. Target: with the
filter at least 0.7x the messages per second without it.

    sudo .venv/bin/python bench/filter.py [--n 300] [--clients 4] [--rounds 2] [--cpu]

A private stack in a temp dir; a domain, a sender and two mailboxes; a domain disclaimer (text + HTML). Each
round sends --n multipart/alternative messages (about 2 KB) over --clients parallel SMTP connections and
stops the clock when the last one is in the recipient's INBOX (IMAP STATUS). "Without" is the same stack with
main.cf rendered without content_filter/receive_override_options and `postfix reload`; rounds alternate
with, without, with, ... Prints messages/s per round, the median of each, their ratio, and the median of the
per-round ratios (the verdict: back-to-back runs cancel the machine's drift).
"""

from __future__ import annotations

import argparse
import os
import smtplib
import statistics
import sys
import threading
import time
from dataclasses import replace
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)  # bench/queue.py must not shadow stdlib queue

from bench.stacktool import (  # noqa: E402
    cpu_by_process,
    cpu_delta,
    pressure,
    pressure_delta,
    private_stack,
    setup_django,
)

DOMAIN = "bench.test"
PASSWORD = "Bench-pass-123"
TARGET = 0.7
RETRIES: list[str] = []
SENT: list[float] = []  # seconds until the last client had its last 250, per round


def _message(sender: str, to: str, i: int) -> bytes:
    alt = MIMEMultipart("alternative")
    body = f"Message {i}.\n" + "Lorem ipsum dolor sit amet, consectetur adipiscing elit.\n" * 12
    alt.attach(MIMEText(body, "plain", "utf-8"))
    alt.attach(MIMEText(f"<html><body><p>{body}</p></body></html>", "html", "utf-8"))
    alt["From"], alt["To"], alt["Subject"] = sender, to, f"bench {i}"
    return alt.as_bytes()


def _count(uid: str) -> int:
    from imapclient import IMAPClient

    with IMAPClient(os.environ["IMAP_HOST"], port=int(os.environ["IMAP_PORT"]), ssl=False) as client:
        client.login(uid, PASSWORD)
        return int(client.folder_status("INBOX", ["MESSAGES"])[b"MESSAGES"])


def _round(sender: str, uid: str, n: int, clients: int) -> float:
    """Messages per second for n messages to uid@DOMAIN: first SMTP connection to the last one in IMAP."""
    start_count = _count(uid)
    to = f"{uid}@{DOMAIN}"
    messages = [_message(sender, to, i) for i in range(n)]
    errors: list[BaseException] = []

    def worker(chunk: list[bytes]) -> None:
        try:
            with smtplib.SMTP(os.environ["SMTP_HOST"], int(os.environ["SMTP_PORT"]), timeout=60) as smtp:
                for raw in chunk:
                    for attempt in range(5):
                        try:
                            smtp.sendmail(sender, [to], raw)
                            break
                        except smtplib.SMTPRecipientsRefused as exc:
                            # a 4xx from a restriction (the relay rules' policy service under load has
                            # answered "Server configuration problem"): counted, tried again
                            if attempt == 4 or not all(400 <= c < 500 for c, _ in exc.recipients.values()):
                                raise
                            RETRIES.append(str(exc.recipients))
                            smtp.rset()
        except BaseException as exc:  # reported below
            errors.append(exc)

    began = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(messages[i::clients],)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    SENT.append(time.perf_counter() - began)
    # one IMAP session asks until the last one is there: a login per poll would load the machine it measures
    from imapclient import IMAPClient

    deadline = time.monotonic() + 300
    with IMAPClient(os.environ["IMAP_HOST"], port=int(os.environ["IMAP_PORT"]), ssl=False) as client:
        client.login(uid, PASSWORD)
        while int(client.folder_status("INBOX", ["MESSAGES"])[b"MESSAGES"]) < start_count + n:
            if time.monotonic() > deadline:
                raise RuntimeError("messages did not all arrive within 300 s")
            time.sleep(0.02)
    return n / (time.perf_counter() - began)


def _set_filter(stack: Any, on: bool) -> None:
    from mailadmin import postfix
    from mailadmin.configfiles import atomic_write
    from mailadmin.configfiles.postfix import render_main_cf
    from mailadmin.stack.base import Context
    from mailadmin.stack.config import load_ports
    from mailadmin.stack.mail import Postfix

    ports = load_ports(stack.layout)
    if ports is None:
        raise RuntimeError("the stack has no ports.json")
    svc = Postfix(Context(config=stack.config, layout=stack.layout, ports=ports, secrets=stack.secrets))
    params = svc.params() if on else replace(svc.params(), content_filter=None)
    atomic_write(svc.etc / "main.cf", render_main_cf(params), backdate=3)
    postfix.postfix_reload(svc.etc)
    time.sleep(1.0)  # old smtpd processes finish their sessions and exit


def _last_has_disclaimer(uid: str) -> bool:
    from imapclient import IMAPClient

    with IMAPClient(os.environ["IMAP_HOST"], port=int(os.environ["IMAP_PORT"]), ssl=False) as client:
        client.login(uid, PASSWORD)
        client.select_folder("INBOX", readonly=True)
        last = client.search("ALL")[-1]
        raw = client.fetch([last], ["RFC822"])[last][b"RFC822"]
    return b"X-Mailadmin-Disclaimer:" in raw


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="leave the state dir (and print it)")
    parser.add_argument("--cpu", action="store_true", help="print the CPU seconds per process name per round")
    args = parser.parse_args()

    with private_stack(keep=args.keep) as (root, stack, env):
        try:
            setup_django(root, env)
            from accounts import services
            from mailadmin.actor import Actor
            from mailadmin.directory import dit
            from mailqueue.disclaimers.services import disclaimer_save

            actor = Actor.system("bench")
            services.domain_create(actor=actor, name=DOMAIN)
            org = dit.organization_dn(DOMAIN, DOMAIN)
            for uid in ("sender", "with", "without"):
                services.user_create(actor=actor, container_dn=org, uid=uid, password=PASSWORD, last_name=uid)
            disclaimer_save(
                actor=actor,
                owner=DOMAIN,
                text="This message is confidential and meant for its recipients only.",
                html="<p>This message is <b>confidential</b> and meant for its recipients only.</p>",
                outbound_only=False,
            )
            sender = f"sender@{DOMAIN}"
            _round(sender, "with", 20, args.clients)  # warm-up: connections, caches, first lookups
            results: dict[str, list[float]] = {"with": [], "without": []}
            for r in range(args.rounds):
                for mode in ("with", "without"):
                    _set_filter(stack, mode == "with")
                    before, stalls = cpu_by_process(), pressure()
                    rate = _round(sender, mode, args.n, args.clients)
                    results[mode].append(rate)
                    print(f"round {r + 1} {mode:<7} filter: {rate:7.1f} msg/s", flush=True)
                    if args.cpu:
                        stalled = pressure_delta(stalls, pressure())
                        print(f"  all sent after {SENT[-1]:.2f} s; {stalled}", flush=True)
                        print(f"  cpu: {cpu_delta(before, cpu_by_process())}", flush=True)
            if RETRIES:
                print(f"{len(RETRIES)} messages needed a second try after a 4xx at RCPT, e.g. {RETRIES[0]}")
            assert _last_has_disclaimer("with"), "the filtered messages lack the disclaimer"
            assert not _last_has_disclaimer("without"), "the unfiltered messages carry a disclaimer"
            # medians: on a shared machine one lucky round would decide a best-of comparison. The verdict is
            # on the median of the per-round ratios: each round's two runs are back to back, so a drift of
            # the machine's speed over the minutes of the benchmark (seen: +-10 % on this VM) cancels out.
            med_with, med_without = statistics.median(results["with"]), statistics.median(results["without"])
            pairs = zip(results["with"], results["without"], strict=True)
            paired = statistics.median(w / wo for w, wo in pairs)
            verdict = "meets" if paired >= TARGET else "MISSES"
            print(
                f"n={args.n} clients={args.clients} rounds={args.rounds}: median with {med_with:.1f} msg/s, "
                f"without {med_without:.1f} msg/s (ratio of medians {med_with / med_without:.2f}); median "
                f"per-round ratio {paired:.2f} ({verdict} the >= {TARGET} target)"
            )
            return 0
        except Exception:
            # Postfix says why it refused (e.g. "Server configuration problem") only in its log
            log = stack.layout.maillog.read_text(errors="replace").splitlines()
            bad = [line for line in log if any(w in line for w in ("warning", "error", "fatal"))]
            bad = [line for line in bad if "check_sasl_access' ignored" not in line]
            print("\n".join(bad[-20:]))
            raise


if __name__ == "__main__":
    raise SystemExit(main())
