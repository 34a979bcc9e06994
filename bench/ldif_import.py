"""LDIF import through the console's pipeline against a bare `ldapadd -f` of the same entries (issue 15):
the target is a pipeline at least 0.5x as fast as ldapadd without mailboxes; with mailboxes it reports
entries per second.

    sudo .venv/bin/python bench/ldif_import.py [--n 10000] [--mailboxes 1000]

Starts a private stack in a temp dir, points Django at it (jobs run in-process, as with
MAILADMIN_JOBS_EAGER) and logs in as a new administrator. Then, on the same slapd:
- ldapadd: --n entries as the console writes them (inetOrgPerson + mailAccount, uid, cn, sn, mail,
  mailEnabled, a clear userPassword that slapd hashes) into one domain, with `ldapadd -x -f`;
- the pipeline: the same --n people as an LDIF upload into another domain, without mailboxes: upload and
  check (the report), then confirm and create (one `user_create` each, journaled and audited);
- the pipeline with mailboxes: --mailboxes people into a third domain.
Prints seconds, entries per second, the ratio and where the CPU went.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)  # bench/queue.py must not shadow stdlib queue

from bench.stacktool import (  # noqa: E402
    admin_client,
    cpu_by_process,
    cpu_delta,
    peak_rss_mib,
    private_stack,
    setup_django,
)

TARGET = 0.5
PASSWORD = "Bench-import-1"


def _raw_ldif(org: str, domain: str, n: int) -> str:
    return "\n".join(
        f"dn: uid=raw{i:05d},{org}\nobjectClass: inetOrgPerson\nobjectClass: mailAccount\nuid: raw{i:05d}\n"
        f"cn: Raw {i:05d}\nsn: Raw\nmail: raw{i:05d}@{domain}\nmailEnabled: TRUE\nuserPassword: {PASSWORD}\n"
        for i in range(n)
    )


def _people_ldif(org: str, domain: str, prefix: str, n: int) -> str:
    return "version: 1\n\n" + "\n".join(
        f"dn: uid={prefix}{i:05d},{org}\nobjectClass: inetOrgPerson\nuid: {prefix}{i:05d}\n"
        f"cn: Person {i:05d}\nsn: Person\ngivenName: Bench\nmail: {prefix}{i:05d}@{domain}\n"
        f"userPassword: {PASSWORD}\n"
        for i in range(n)
    )


def _pipeline(client: Any, ldif: str, org: str, *, mailboxes: bool) -> dict[str, float]:
    """Upload, check, confirm, create; seconds of each half. Jobs run eagerly inside the requests."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from migration.models import ImportRun

    form: dict[str, Any] = {"container": org, "file": SimpleUploadedFile("bench.ldif", ldif.encode())}
    if mailboxes:
        form["create_mailbox"] = "on"
    began = time.perf_counter()
    response = client.post("/tools/import/new/ldif/", form)
    assert response.status_code == 302, response.content[:2000]
    run = ImportRun.objects.get(pk=response["Location"].rstrip("/").split("/")[-1])
    checked = time.perf_counter()
    assert run.status == ImportRun.Status.READY, (run.status, run.error)
    response = client.post(f"/tools/import/{run.pk}/confirm/")
    assert response.status_code == 302
    done = time.perf_counter()
    run = ImportRun.objects.get(pk=run.pk)
    assert run.status == ImportRun.Status.DONE and run.failed == 0, (run.status, run.error, run.failed)
    return {"check_s": checked - began, "create_s": done - checked, "total_s": done - began, "n": run.created}


def _ldapadd(env: dict[str, str], path: Path) -> float:
    began = time.perf_counter()
    subprocess.run(
        ["ldapadd", "-x", "-H", env["LDAP_URI"], "-D", env["LDAP_ADMIN_DN"], "-w", env["LDAP_ADMIN_PASSWORD"],
         "-f", str(path)],
        check=True,
        capture_output=True,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    return time.perf_counter() - began


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=10_000, help="entries without mailboxes (both ways)")
    parser.add_argument("--mailboxes", type=int, default=1000, help="entries with mailboxes (pipeline)")
    args = parser.parse_args()

    with private_stack() as (root, _stack, env):
        setup_django(root, env)
        from accounts import services
        from mailadmin import directory
        from mailadmin.actor import Actor
        from mailadmin.directory import dit

        actor = Actor.system("bench")
        for name in ("raw.test", "pipe.test", "mbox.test"):
            services.domain_create(actor=actor, name=name)
        client = admin_client()
        org = {name: dit.organization_dn(name, name) for name in ("raw.test", "pipe.test", "mbox.test")}

        raw = root / "raw.ldif"
        raw.write_text(_raw_ldif(org["raw.test"], "raw.test", args.n), encoding="utf-8")
        print(f"ldapadd -f: {args.n} entries ...", flush=True)
        ldapadd_s = _ldapadd(env, raw)
        assert directory.count(org["raw.test"], "(objectClass=mailAccount)") == args.n

        print(f"pipeline: {args.n} entries without mailboxes ...", flush=True)
        cpu = cpu_by_process()
        people = _people_ldif(org["pipe.test"], "pipe.test", "imp", args.n)
        plain = _pipeline(client, people, org["pipe.test"], mailboxes=False)
        plain_cpu = cpu_delta(cpu, cpu_by_process())
        assert directory.count(org["pipe.test"], "(objectClass=mailAccount)") == args.n

        print(f"pipeline: {args.mailboxes} entries with mailboxes ...", flush=True)
        cpu = cpu_by_process()
        boxed = _pipeline(
            client, _people_ldif(org["mbox.test"], "mbox.test", "box", args.mailboxes), org["mbox.test"],
            mailboxes=True,
        )  # fmt: skip
        boxed_cpu = cpu_delta(cpu, cpu_by_process())
        directory.close_all()

    ldapadd_rate = args.n / ldapadd_s
    plain_rate = args.n / plain["total_s"]
    ratio = plain_rate / ldapadd_rate
    lines = [
        ("ldapadd -f", args.n, ldapadd_s),
        ("pipeline, no mailboxes (total)", args.n, plain["total_s"]),
        ("  upload + check (report)", args.n, plain["check_s"]),
        ("  confirm + create", args.n, plain["create_s"]),
        ("pipeline, with mailboxes (total)", args.mailboxes, boxed["total_s"]),
        ("  upload + check (report)", args.mailboxes, boxed["check_s"]),
        ("  confirm + create", args.mailboxes, boxed["create_s"]),
    ]
    print()
    print(f"{'':34} {'entries':>8} {'seconds':>8} {'entries/s':>10}")
    for label, n, seconds in lines:
        print(f"{label:34} {n:>8} {seconds:>8.1f} {n / seconds:>10.1f}")
    print(f"CPU, no mailboxes: {plain_cpu}")
    print(f"CPU, with mailboxes: {boxed_cpu}")
    print(f"peak RSS of this process: {peak_rss_mib():.0f} MiB")
    print(f"ratio pipeline / ldapadd (no mailboxes): {ratio:.3f}; target >= {TARGET} "
          f"({'met' if ratio >= TARGET else 'NOT met'})")  # fmt: skip
    return 0 if ratio >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
