"""SMTP injection rate through the address tables vs a plain mailbox, and Explain-this-address latency.

    sudo .venv/bin/python bench/address_routing.py [--messages 200] [--batch 25] [--explains 30]

Starts a private stack, makes a domain with users (mailboxes in Cyrus): `plain`; `fwd` forwarding to
`dest` with Keep copy; a system alias `sysalias` -> `dest`; the domain's catch-all -> `dest`. Sends
--messages to each of plain@, fwd@, sysalias@ and an unknown address (catch-all), interleaved in batches of
--batch over one SMTP connection each, and times every transaction (MAIL, RCPT, DATA until Postfix's 250:
RCPT checks and cleanup's virtual alias expansion, i.e. every ldap: lookup, happen inside it). Prints msg/s
and p50/p95 per recipient and the ratio to the plain mailbox; then times `explain_address` (postconf -n and
one postmap -q per lookup).
"""

from __future__ import annotations

import argparse
import smtplib
import statistics
import sys
import time
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench.stacktool import percentile, private_stack, setup_django  # noqa: E402

DOMAIN = "route.test"
PASSWORD = "Bench-user-pass-1"  # a throwaway stack's accounts
SENDER = f"sender@{DOMAIN}"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--batch", type=int, default=25)
    parser.add_argument("--explains", type=int, default=30)
    args = parser.parse_args()
    with private_stack() as (root, stack, env):
        return bench(root, env, args.messages, args.batch, args.explains)


def bench(root: Path, env: dict[str, str], messages: int, batch: int, explains: int) -> int:
    setup_django(root, env)
    from django.conf import settings

    from accounts.services.containers import domain_create
    from accounts.services.users import user_create
    from aliases.explain import explain_address
    from aliases.services import addresses, system
    from mailadmin.actor import Actor
    from mailadmin.directory import dit

    actor = Actor.system("bench")
    domain_create(actor=actor, name=DOMAIN)
    org = dit.organization_dn(DOMAIN, DOMAIN)
    dns = {}
    for uid in ("plain", "fwd", "dest"):
        dns[uid] = user_create(
            actor=actor,
            container_dn=org,
            uid=uid,
            password=PASSWORD,
            last_name=uid.title(),
            create_mailbox=True,
        )
    addresses.user_set_forwarding(actor=actor, dn=dns["fwd"], targets=[f"dest@{DOMAIN}"], keep_copy=True)
    system.system_aliases_save(actor=actor, new_name="sysalias", new_targets=[f"dest@{DOMAIN}"])
    addresses.domain_set_catch_all(actor=actor, domain=DOMAIN, target=f"dest@{DOMAIN}")
    host, port = env.get("SMTP_HOST", "127.0.0.1"), int(env["SMTP_PORT"])
    body = f"Subject: bench\r\nFrom: {SENDER}\r\n\r\n" + "x" * 2000 + "\r\n"

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

    kinds = {
        "plain mailbox": f"plain@{DOMAIN}",
        "forward + keep copy": f"fwd@{DOMAIN}",
        "system alias": f"sysalias@{DOMAIN}",
        "catch-all": f"nobody@{DOMAIN}",
    }
    for rcpt in kinds.values():
        run(rcpt, 3)  # warm: connections, table processes
    times: dict[str, list[float]] = {k: [] for k in kinds}
    sent = 0
    while sent < messages:
        n = min(batch, messages - sent)
        order = list(kinds.items())
        if (sent // batch) % 2:
            order.reverse()
        for label, rcpt in order:
            times[label].extend(run(rcpt, n))
        sent += n
    plain_rate = len(times["plain mailbox"]) / sum(times["plain mailbox"])
    print(f"\n{messages} messages each, batches of {batch}, one SMTP connection per batch")
    print(f"{'recipient':22} {'msg/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'vs plain':>9}")
    for label, ts in times.items():
        rate = len(ts) / sum(ts)
        p50, p95 = statistics.median(ts) * 1000, percentile(ts, 95) * 1000
        print(f"{label:22} {rate:8.1f} {p50:8.1f} {p95:8.1f} {rate / plain_rate:9.2f}")

    lat = []
    for _ in range(explains):
        began = time.perf_counter()
        result = explain_address(f"fwd@{DOMAIN}", settings.POSTFIX_CONFIG_DIR)
        lat.append(time.perf_counter() - began)
    lookups = sum(len(s.lookups) for s in result.steps)
    p50, p95 = statistics.median(lat) * 1000, percentile(lat, 95) * 1000
    print(
        f"\nexplain_address(fwd@): {lookups} table lookups shown; "
        f"p50 {p50:.0f} ms, p95 {p95:.0f} ms ({explains} runs)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
