"""Cost of creating users with a mailbox (`user_create`) as the directory grows: 200 users at 1k and at 100k
existing ones; the 100k cost should be at most 1.2x the 1k cost.

    sudo .venv/bin/python bench/user_create.py [--sizes 1000,100000] [--n 200]

For each size, in a child process of its own: start a private stack in a temp dir, stop it, bulk-load the
existing users offline with `slapadd -q` into the stopped database (an LDAP add of 100k entries one by one
takes minutes; slapadd takes seconds), start it again, point Django at it (as mailadmin/pytest_stack.py
does) and time `user_create(..., create_mailbox=True)` for --n new users in the same organization as the
loaded ones. The loaded users are directory entries only (no mailboxes): what grows with them is what
every creation consults (the uniqueness searches, slapd's unique overlay and indexes).
Prints per-user milliseconds (p50, p95, mean) per size and the ratios.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)  # bench/queue.py must not shadow stdlib queue

from bench.stacktool import private_stack, setup_django, slapadd  # noqa: E402

DOMAIN = "bench.test"
TARGET = 1.2


def _ldif(base_dn: str, size: int) -> str:
    org = f"o={DOMAIN},dc={DOMAIN},ou=domains,{base_dn}"
    parts = [
        f"dn: dc={DOMAIN},ou=domains,{base_dn}\nobjectClass: domain\nobjectClass: mailDomain\ndc: {DOMAIN}\n",
        f"dn: {org}\nobjectClass: organization\nobjectClass: mailContainer\no: {DOMAIN}\n",
        f"dn: ou=aliases,dc={DOMAIN},ou=domains,{base_dn}\nobjectClass: organizationalUnit\nou: aliases\n",
    ]
    for i in range(size):
        uid = f"load{i:06d}"
        parts.append(
            f"dn: uid={uid},{org}\nobjectClass: inetOrgPerson\nobjectClass: mailAccount\nuid: {uid}\n"
            f"cn: Loaded {i:06d}\nsn: Loaded\nmail: {uid}@{DOMAIN}\nmailEnabled: TRUE\n"
        )
    return "\n".join(parts)


def _one(size: int, n: int) -> dict[str, Any]:
    """Runs in a child: a stack of its own, `size` loaded users, `n` timed creations."""
    with private_stack(announce=False) as (root, stack, env):
        ldif = root / "load.ldif"
        ldif.write_text(_ldif(env["LDAP_BASE_DN"], size), encoding="utf-8")
        env, load_s = slapadd(stack, env, ldif)
        return {"size": size, "load_s": load_s, **_timed(env, root, n)}


def _timed(env: dict[str, str], root: Path, n: int) -> dict[str, Any]:
    setup_django(root, env)

    from accounts.services.users import user_create
    from mailadmin import directory, imap
    from mailadmin.actor import Actor
    from mailadmin.directory import dit

    org = dit.organization_dn(DOMAIN, DOMAIN)
    existing = directory.count(org, "(objectClass=mailAccount)")
    actor = Actor.system("bench")
    # Warm-up outside the timing: first connections, Django's lazy imports, Cyrus's first mailbox.
    for i in range(3):
        user_create(
            actor=actor, container_dn=org, uid=f"warm{i}", password="Bench-pass-123", last_name="Warm"
        )
    times: list[float] = []
    for i in range(n):
        began = time.perf_counter()
        user_create(
            actor=actor, container_dn=org, uid=f"new{i:04d}", password="Bench-pass-123", last_name=f"New {i}"
        )
        times.append((time.perf_counter() - began) * 1000)
    assert imap.mailbox_exists(f"new{n - 1:04d}")
    directory.close_all()
    times.sort()
    return {
        "existing": existing,
        "n": n,
        "p50_ms": statistics.median(times),
        "p95_ms": times[min(len(times) - 1, int(0.95 * len(times)))],
        "mean_ms": statistics.fmean(times),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes", default="1000,100000", help="existing users, comma-separated (first = base)"
    )
    parser.add_argument("--n", type=int, default=200, help="users created and timed per size")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # child mode
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(_one(args.one, args.n)), flush=True)
        return 0

    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        print(f"existing {size}: starting a stack, loading, creating {args.n} users ...", flush=True)
        child = subprocess.run(
            [sys.executable, __file__, "--one", str(size), "--n", str(args.n)],
            capture_output=True,
            text=True,
            check=False,
        )
        if child.returncode != 0:
            print(child.stdout[-2000:], child.stderr[-4000:], sep="\n")
            return 1
        results.append(json.loads(child.stdout.strip().splitlines()[-1]))

    print(f"{'existing':>9} {'load s':>7} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'mean ms':>8} {'ratio':>6}")
    base = results[0]
    ok = True
    for r in results:
        ratio = r["mean_ms"] / base["mean_ms"]
        ok = ok and ratio <= TARGET
        print(
            f"{r['existing']:>9} {r['load_s']:>7.1f} {r['n']:>4} {r['p50_ms']:>8.1f} {r['p95_ms']:>8.1f} "
            f"{r['mean_ms']:>8.1f} {ratio:>6.2f}"
        )
    print(f"target: mean at the largest size <= {TARGET}x the first ({'met' if ok else 'NOT met'})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
