"""View / Find aliases at 50,000 aliases: p50/p95 of the console's pages (target p95 < 150 ms).

    sudo .venv/bin/python bench/alias_list.py [--aliases 50000] [--domains 5] [--runs 30]

Starts a private stack in a temp dir, stops it, loads --aliases aliases over --domains domains offline
(`slapadd -q` into the stack's own database; each alias has 3 members, every 7th an owner), starts it
again, migrates the console's database and logs in an administrator through the real login view (Django test
Client). Then p50/p95 (ms) of:

  all p1 / all mid      View aliases, every domain, page 1 and the middle page (VLV window sorted by address)
  domain p1 / mid       View aliases of one domain
  find prefix           Find aliases, name starts with SEARCH (about 100 of them)
  find member           Find aliases by a member's address
  find owner            Find aliases by an owner's login name
  find flag restricted  Find aliases with the Restricted flag

Each console page is checked to show the addresses `ldapsearch` (sort + VLV, same window) returns.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

sys.path[0] = str(Path(__file__).resolve().parent.parent)  # bench/queue.py must not shadow stdlib queue

from bench.stacktool import admin_client, percentile, private_stack, setup_django, slapadd  # noqa: E402

PAGE = 50
OWNERS_PER_DOMAIN = 20
# Alias names: a word and a number, like real lists (sales-0042); a prefix search hits 1/len(WORDS) of them.
WORDS = [
    "sales", "support", "info", "team", "office", "billing", "hr", "it", "marketing", "press", "board",
    "dev", "ops", "legal", "finance", "events", "jobs", "news", "service", "help", "admin", "staff",
    "research", "design", "web", "shop", "orders", "returns", "partners", "alumni", "club", "project",
]  # fmt: skip
SEARCH = "press-00"


def domain_name(d: int) -> str:
    return f"alias{d}.test"


def generate_ldif(path: Path, base_dn: str, aliases: int, domains: int) -> None:
    with path.open("w") as out:
        for d in range(domains):
            name = domain_name(d)
            domain_dn = f"dc={name},ou=domains,{base_dn}"
            org_dn = f"o={name},{domain_dn}"
            out.write(f"dn: {domain_dn}\nobjectClass: domain\nobjectClass: mailDomain\ndc: {name}\n\n")
            out.write(f"dn: {org_dn}\nobjectClass: organization\nobjectClass: mailContainer\no: {name}\n\n")
            out.write(f"dn: ou=aliases,{domain_dn}\nobjectClass: organizationalUnit\nou: aliases\n\n")
            for o in range(OWNERS_PER_DOMAIN):
                uid = f"o{d}x{o:03d}"
                out.write(
                    f"dn: uid={uid},{org_dn}\nobjectClass: inetOrgPerson\nobjectClass: mailAccount\n"
                    f"uid: {uid}\ncn: Owner {uid}\nsn: Owner\nmail: {uid}@{name}\nmailEnabled: TRUE\n\n"
                )
        for i in range(aliases):
            d = i % domains
            name = domain_name(d)
            cn = f"{WORDS[i % len(WORDS)]}-{i // len(WORDS):05d}"
            lines = [
                f"dn: cn={cn},ou=aliases,dc={name},ou=domains,{base_dn}",
                "objectClass: nisMailAlias",
                "objectClass: mailAliasEntry",
                f"cn: {cn}",
                f"mail: {cn}@{name}",
                *(f"rfc822MailMember: o{d}x{(i + k) % OWNERS_PER_DOMAIN:03d}@{name}" for k in range(3)),
            ]
            if i % 7 == 0:
                owner = f"o{d}x{i % OWNERS_PER_DOMAIN:03d}"
                lines.append(f"mailAliasOwner: uid={owner},o={name},dc={name},ou=domains,{base_dn}")
            if i % 5 == 0:
                lines.append("mailAliasRestricted: TRUE")
            elif i % 5 == 1:
                lines.append("mailAliasOpen: TRUE")
            out.write("\n".join(lines) + "\n\n")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--aliases", type=int, default=50_000)
    parser.add_argument("--domains", type=int, default=5)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--profile", action="store_true", help="print where one console page 1 spends time")
    args = parser.parse_args()
    with private_stack() as (root, stack, env):
        ldif = root / "aliases.ldif"
        generate_ldif(ldif, env["LDAP_BASE_DN"], args.aliases, args.domains)
        env, loaded = slapadd(stack, env, ldif)
        print(f"slapadd -q loaded {args.aliases} aliases in {loaded:.1f} s")
        return bench(root, env, args.aliases, args.domains, args.runs, profile=args.profile)


def bench(
    root: Path, env: dict[str, str], aliases: int, domains: int, runs: int, *, profile: bool = False
) -> int:
    setup_django(root, env)
    from django.urls import reverse

    client = admin_client()

    base = env["LDAP_BASE_DN"]
    domains_dn = f"ou=domains,{base}"
    first = domain_name(0)
    middle_all = aliases // PAGE // 2 + 1
    middle_one = aliases // domains // PAGE // 2 + 1
    listing, find = reverse("alias_list"), reverse("alias_find")
    everything = "(objectClass=mailAliasEntry)"
    owner_dn = f"uid=o0x000,o={first},dc={first},ou=domains,{base}"
    cases: list[tuple[str, str, list[str]]] = [
        ("all p1", f"{listing}?scope=all", vlv(env, domains_dn, everything, 1)),
        (
            f"all mid ({middle_all})",
            f"{listing}?{urlencode({'scope': 'all', 'page': middle_all})}",
            vlv(env, domains_dn, everything, (middle_all - 1) * PAGE + 1),
        ),
        ("domain p1", f"{listing}?scope={first}", vlv(env, f"dc={first},{domains_dn}", everything, 1)),
        (
            f"domain mid ({middle_one})",
            f"{listing}?{urlencode({'scope': first, 'page': middle_one})}",
            vlv(env, f"dc={first},{domains_dn}", everything, (middle_one - 1) * PAGE + 1),
        ),
        (
            f"find prefix {SEARCH}",
            f"{find}?{urlencode({'scope': 'all', 'text': SEARCH})}",
            vlv(env, domains_dn, f"(&{everything}(cn={SEARCH}*))", 1),
        ),
        (
            "find member",
            f"{find}?{urlencode({'scope': 'all', 'member': f'o0x005@{first}'})}",
            vlv(env, domains_dn, f"(&{everything}(rfc822MailMember=o0x005@{first}))", 1),
        ),
        (
            "find owner",
            f"{find}?{urlencode({'scope': 'all', 'owner': 'o0x000'})}",
            vlv(env, domains_dn, f"(&{everything}(mailAliasOwner={owner_dn}))", 1),
        ),
        (
            "find flag restricted",
            f"{find}?{urlencode({'scope': 'all', 'flag': 'restricted'})}",
            vlv(env, domains_dn, f"(&{everything}(mailAliasRestricted=TRUE))", 1),
        ),
    ]

    def console(url: str) -> Callable[[], str]:
        def get() -> str:
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            return response.content.decode()

        return get

    if profile:
        import cProfile
        import pstats

        get = console(cases[0][1])
        get()
        profiler = cProfile.Profile()
        profiler.runcall(lambda: [get() for _ in range(10)])
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(35)
    failed = False
    rows = []
    for label, url, argv in cases:
        html = console(url)()
        raw = subprocess.run(argv, capture_output=True, text=True, check=False, input="0\n").stdout
        want = re.findall(r"^mail: (.+)$", raw, flags=re.M)
        missing = [m for m in want if f">{m}</a>" not in html]
        if not want or missing:
            print(
                f"MISMATCH {label}: ldapsearch {len(want)} aliases, {len(missing)} not on the console's page"
            )
            failed = True
        console(url)()  # warm
        times = []
        for _ in range(runs):
            began = time.perf_counter()
            console(url)()
            times.append(time.perf_counter() - began)
        rows.append((label, times))
    print(f"\n{aliases} aliases in {domains} domains, {runs} runs each (ms)")
    header = f"{'case':28} {'p50':>7} {'p95':>7}  target"
    print(header)
    print("-" * len(header))
    for label, times in rows:
        p50, p95 = statistics.median(times) * 1000, percentile(times, 95) * 1000
        ok = p95 < 150
        failed |= not ok
        print(f"{label:28} {p50:7.1f} {p95:7.1f}  {'ok' if ok else 'MISSED'} (p95<150)")
    return 1 if failed else 0


def vlv(env: dict[str, str], base: str, filterstr: str, offset: int) -> list[str]:
    """The window the console asks for: sorted by mail, 50 entries from `offset` (1-based)."""
    return ["ldapsearch", "-LLL", "-x", "-H", env["LDAP_URI"], "-D", env["LDAP_ADMIN_DN"], "-w",
            env["LDAP_ADMIN_PASSWORD"], "-b", base, "-E", "sss=mail:caseIgnoreOrderingMatch", "-E",
            f"vlv=0/{PAGE - 1}/{offset}/0", filterstr, "mail"]  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
