"""SMTP injection rate to an alias of 10 members vs a plain mailbox: same stack, same run (target >= 0.8x).

    sudo .venv/bin/python bench/alias_delivery.py [--messages 300] [--batch 25]

Starts a private stack, makes a domain with 11 users (mailboxes in Cyrus) and an alias (the default kind:
senders of hosted domains only, so the ali-closed restriction class runs too) whose members are 10 of them.
Then sends --messages messages to the alias and as many to the 11th user's address, in interleaved batches
of --batch over one SMTP connection each, and times every transaction (MAIL, RCPT, DATA until Postfix's 250:
the RCPT checks and cleanup's virtual alias expansion, i.e. every ldap: lookup, happen inside it). Prints
messages/s for both and the ratio, then waits until every INBOX holds its messages (IMAP STATUS), which shows
each member got each message once.
"""

from __future__ import annotations

import argparse
import smtplib
import statistics
import sys
import time
from pathlib import Path

# The repo root instead of bench/ itself: bench/queue.py would shadow the standard library's `queue`.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench.stacktool import percentile, private_stack, setup_django  # noqa: E402

DOMAIN = "deliver.test"
PASSWORD = "Bench-user-pass-1"  # a throwaway stack's accounts
SENDER = f"sender@{DOMAIN}"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--batch", type=int, default=25)
    args = parser.parse_args()
    with private_stack() as (root, stack, env):
        return bench(root, env, args.messages, args.batch)


def bench(root: Path, env: dict[str, str], messages: int, batch: int) -> int:
    setup_django(root, env)
    from accounts.services.containers import domain_create
    from accounts.services.users import user_create
    from aliases.services import alias_create
    from mailadmin.actor import Actor
    from mailadmin.directory import dit
    from tests.accounts.usertool import user_imap

    actor = Actor.system("bench")
    domain_create(actor=actor, name=DOMAIN)
    org = dit.organization_dn(DOMAIN, DOMAIN)
    uids = [f"member{n:02d}" for n in range(10)] + ["plain"]
    for uid in uids:
        user_create(
            actor=actor,
            container_dn=org,
            uid=uid,
            password=PASSWORD,
            last_name=uid.title(),
            create_mailbox=True,
        )
    alias_create(actor=actor, domain=DOMAIN, name="team", members=[f"{u}@{DOMAIN}" for u in uids[:10]])
    host, port = env.get("SMTP_HOST", "127.0.0.1"), int(env["SMTP_PORT"])
    body = "Subject: bench\r\nFrom: sender@deliver.test\r\n\r\n" + "x" * 2000 + "\r\n"

    def run(recipient: str, count: int) -> list[float]:
        times = []
        with smtplib.SMTP(host, port, timeout=30) as smtp:
            smtp.ehlo()
            for _ in range(count):
                began = time.perf_counter()
                refused = smtp.sendmail(SENDER, [recipient], body)
                times.append(time.perf_counter() - began)
                assert refused == {}
        return times

    run(f"team@{DOMAIN}", 3), run(f"plain@{DOMAIN}", 3)  # warm: connections, table processes
    alias_times: list[float] = []
    plain_times: list[float] = []
    sent = 0
    while sent < messages:
        n = min(batch, messages - sent)
        first, second = (alias_times, "team"), (plain_times, "plain")
        for times, name in (first, second) if (sent // batch) % 2 else (second, first):
            times.extend(run(f"{name}@{DOMAIN}", n))
        sent += n
    alias_rate = len(alias_times) / sum(alias_times)
    plain_rate = len(plain_times) / sum(plain_times)
    ratio = alias_rate / plain_rate
    print(f"\n{messages} messages each, batches of {batch}, one SMTP connection per batch")
    print(f"{'recipient':24} {'msg/s':>8} {'p50 ms':>8} {'p95 ms':>8}")
    for label, times, rate in (
        ("alias of 10 members", alias_times, alias_rate),
        ("plain mailbox", plain_times, plain_rate),
    ):
        p50, p95 = statistics.median(times) * 1000, percentile(times, 95) * 1000
        print(f"{label:24} {rate:8.1f} {p50:8.1f} {p95:8.1f}")
    print(f"ratio alias/plain: {ratio:.2f}  {'ok' if ratio >= 0.8 else 'MISSED'} (target >= 0.8)")

    want = dict.fromkeys(uids, messages + 3)
    deadline = time.monotonic() + 600
    began = time.perf_counter()
    while want and time.monotonic() < deadline:
        for uid in list(want):
            with user_imap(uid, PASSWORD) as client:
                have = client.folder_status("INBOX", ["MESSAGES"])[b"MESSAGES"]
            if have == want[uid]:
                del want[uid]
            elif have > want[uid]:
                print(f"DUPLICATES: {uid} has {have} messages, expected {want[uid]}")
                return 1
        time.sleep(0.5)
    if want:
        print(f"NOT DELIVERED within 600 s: {sorted(want)}")
        return 1
    print(
        f"every INBOX holds exactly its {messages + 3} messages ({time.perf_counter() - began:.1f} s after)"
    )
    return 0 if ratio >= 0.8 else 1


if __name__ == "__main__":
    sys.exit(main())
