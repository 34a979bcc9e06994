"""Latency the SMTP relay rules add per RCPT (DLV-04; target: p95 < 2 ms). Not a test.

    sudo .venv/bin/python bench/policyd.py [--rules 50] [--requests 3000] [--rcpts 1500]

Starts a private stack, publishes --rules rules through the console's service (none of them matches the
benchmark's envelope, so every request walks the whole list: the worst case), then
1. times policy requests straight to `manage.py policyd` over one connection (as Postfix's smtpd keeps it):
   write the attributes, read `action=...`;
2. times RCPT TO end to end over SMTP with the service, without it (main.cf and master.cf re-rendered with
   relay_policy=None and Postfix reloaded), and with it again (A/B/A, so drift shows), same run.
Prints p50/p95/p99 for each and the added p50/p95 of the service per RCPT.
"""

from __future__ import annotations

import argparse
import dataclasses
import smtplib
import socket
import sys
import time
from pathlib import Path

# The repo root instead of bench/ itself: bench/queue.py would shadow the standard library's `queue`.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench.stacktool import percentile, private_stack, setup_django  # noqa: E402

DOMAIN = "policy.test"
PASSWORD = "Bench-user-pass-1"  # a throwaway stack's account


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rules", type=int, default=50)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rcpts", type=int, default=1500)
    args = parser.parse_args()
    with private_stack() as (root, stack, env):
        return bench(stack, root, env, args.rules, args.requests, args.rcpts)


def stats(name: str, values: list[float]) -> tuple[float, float]:
    ms = [v * 1000 for v in values]
    p50, p95, p99 = percentile(ms, 50), percentile(ms, 95), percentile(ms, 99)
    print(f"  {name:<34} n={len(ms):>5}  p50 {p50:6.3f} ms  p95 {p95:6.3f} ms  p99 {p99:6.3f} ms")
    return p50, p95


def make_rules(count: int) -> None:
    from mailadmin.actor import Actor
    from mailqueue.relayrules.services import relayrule_create

    actor = Actor.system("bench")
    kinds = [
        ("SUBMIT", "10.{n}.0.0/16"),
        ("ANONYMOUS", "*.nomatch{n}.example"),
        ("ORIGINATOR", "*@*.spam{n}.test"),
        ("RECIPIENT", "nobody{n}@*"),
        ("RELAY", "192.0.2.{n}"),
        ("AUTH_SUCCESS", "198.51.100.{n}"),
    ]
    for n in range(count):
        event, pattern = kinds[n % len(kinds)]
        relayrule_create(actor=actor, event=event, pattern=pattern.format(n=n % 250), action="Reject")


def request_attrs(recipient: str) -> dict[str, str]:
    attrs = {
        "request": "smtpd_access_policy",
        "protocol_state": "RCPT",
        "protocol_name": "ESMTP",
        "client_address": "127.0.0.1",
        "client_name": "localhost",
        "helo_name": "bench.test",
        "sender": f"sender@{DOMAIN}",
        "recipient": recipient,
        "recipient_count": "0",
        "policy_context": "recipient",
        "sasl_username": "",
    }
    # the rest of what Postfix 3.7 sends, so the request has its real size (~30 attributes)
    for name in (
        "instance", "reverse_client_name", "sasl_method", "sasl_sender", "size", "ccert_subject",
        "ccert_issuer", "ccert_fingerprint", "ccert_pubkey_fingerprint", "encryption_protocol",
        "encryption_cipher", "encryption_keysize", "etrn_domain", "stress", "client_port", "server_address",
        "server_port", "compatibility_level", "mail_version", "queue_id",
    ):  # fmt: skip
        attrs.setdefault(name, "")
    return attrs


def direct(port: int, requests: int, recipient: str) -> list[float]:
    attrs = request_attrs(recipient)
    payload = ("".join(f"{k}={v}\n" for k, v in attrs.items()) + "\n").encode()
    times = []
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i in range(requests + 200):
            began = time.perf_counter()
            sock.sendall(payload)
            data = b""
            while not data.endswith(b"\n\n"):
                data += sock.recv(4096)
            if i >= 200:  # warm-up: imports, the first Redis round trips
                times.append(time.perf_counter() - began)
            assert data == b"action=DUNNO\n\n", data
    return times


def in_process(redis_url: str, requests: int, recipient: str) -> list[float]:
    """The service's own work per request (RuleCache check + evaluate), without the socket hop: the part
    of the figure that does not depend on how busy the machine's scheduler is."""
    import asyncio

    from mailqueue.relayrules.policyd import Owners, PolicyServer, RuleCache, ldap_owners

    attrs = request_attrs(recipient)

    async def run() -> list[float]:
        server = PolicyServer(RuleCache(redis_url), Owners(ldap_owners))
        times = []
        for i in range(requests + 200):
            began = time.perf_counter()
            decision = await server.decide(attrs)
            if i >= 200:
                times.append(time.perf_counter() - began)
            assert decision.action == "DUNNO", decision
        return times

    return asyncio.run(run())


def rcpts(host: str, port: int, count: int, recipient: str) -> list[float]:
    times = []
    with smtplib.SMTP(host, port, timeout=30) as smtp:
        smtp.ehlo("bench.test")
        done = 0
        while done < count + 50:
            smtp.mail(f"sender@{DOMAIN}")
            for _ in range(min(100, count + 50 - done)):
                began = time.perf_counter()
                code, _ = smtp.docmd("RCPT", f"TO:<{recipient}>")
                elapsed = time.perf_counter() - began
                assert code == 250, code
                if done >= 50:  # warm-up: the smtpd process opens its table and policy connections
                    times.append(elapsed)
                done += 1
            smtp.rset()
    return times


def switch_policy(stack: object, *, on: bool) -> None:
    """Re-render main.cf/master.cf with or without the relay policy and reload Postfix (this stack only)."""
    from mailadmin import postfix
    from mailadmin.configfiles import atomic_write
    from mailadmin.configfiles.postfix import render_main_cf, render_master_cf
    from mailadmin.stack.config import load_ports
    from mailadmin.stack.mail import Postfix

    svc = next(s for s in stack._services(load_ports(stack.layout)) if isinstance(s, Postfix))  # type: ignore[attr-defined]  # noqa: SLF001
    params = svc.params()
    if not on:
        params = dataclasses.replace(params, relay_policy=None)
    atomic_write(svc.etc / "main.cf", render_main_cf(params), backdate=3)
    atomic_write(svc.etc / "master.cf", render_master_cf(params), backdate=3)
    postfix.postfix_reload(svc.etc)
    time.sleep(1.5)  # reload is asynchronous: old smtpd processes finish, new ones read the new files


def bench(stack: object, root: Path, env: dict[str, str], rules: int, requests: int, count: int) -> int:
    setup_django(root, env)
    from accounts.services.containers import domain_create
    from accounts.services.users import user_create
    from mailadmin.actor import Actor
    from mailadmin.directory import dit

    actor = Actor.system("bench")
    domain_create(actor=actor, name=DOMAIN)
    user_create(
        actor=actor,
        container_dn=dit.organization_dn(DOMAIN, DOMAIN),
        uid="bench",
        password=PASSWORD,
        last_name="Bench",
        create_mailbox=False,
    )
    recipient = f"bench@{DOMAIN}"
    make_rules(rules)
    print(f"{rules} rules published; none matches the benchmark envelope (the whole list is walked)")
    host, smtp_port, policy_port = env["SMTP_HOST"], int(env["SMTP_PORT"]), int(env["POLICYD_PORT"])

    print("policy request -> answer, straight to manage.py policyd (one connection):")
    _p50, direct_p95 = stats("policyd request", direct(policy_port, requests, recipient))
    stats("in-process decide() (no socket)", in_process(env["REDIS_URL"], requests, recipient))

    print("RCPT TO end to end over SMTP (one connection, 100 RCPT per transaction):")
    with_a = stats("with the policy service (A)", rcpts(host, smtp_port, count, recipient))
    switch_policy(stack, on=False)
    without = stats("without it (B)", rcpts(host, smtp_port, count, recipient))
    switch_policy(stack, on=True)
    with_b = stats("with the policy service (A again)", rcpts(host, smtp_port, count, recipient))
    with_p50 = (with_a[0] + with_b[0]) / 2
    with_p95 = (with_a[1] + with_b[1]) / 2
    print(
        f"added per RCPT: p50 {with_p50 - without[0]:+.3f} ms, p95 {with_p95 - without[1]:+.3f} ms "
        f"(mean of the two A runs minus B)"
    )
    ok = direct_p95 < 2.0 and with_p95 - without[1] < 2.0
    print(f"target p95 < 2 ms: {'met' if ok else 'MISSED'} (direct p95 {direct_p95:.3f} ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
