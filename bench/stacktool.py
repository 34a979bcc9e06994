"""What the benchmarks share: a private stack in a temp dir, Django pointed at it, an offline LDIF load,
percentiles and peak RSS. Not a benchmark itself."""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mailadmin.stack import Stack


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile of `values` (pct in 0..100)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextlib.contextmanager
def private_stack(
    *, keep: bool = False, announce: bool = True
) -> Iterator[tuple[Path, Stack, dict[str, str]]]:
    """(root, stack, env): a stack started in a fresh temp dir (mode 0755: the daemons run as their own users
    and must reach their dirs), with `root/var/static` for Django. Stopped and removed on the way out (kept
    and printed with `keep`)."""
    from mailadmin.stack import Stack, StackConfig

    root = Path(tempfile.mkdtemp(prefix="mailadmin-bench-"))
    root.chmod(0o755)
    (root / "var" / "static").mkdir(parents=True)
    stack = Stack(StackConfig(state_dir=root / "stack", ports="auto"))
    try:
        if announce:
            print("starting a private stack ...", flush=True)
        env = stack.start()
        yield root, stack, env
    finally:
        try:
            stack.stop()
        finally:
            if keep:
                print(f"state left in {root}")
            else:
                shutil.rmtree(root, ignore_errors=True)


def slapadd(stack: Stack, env: dict[str, str], ldif: Path) -> tuple[dict[str, str], float]:
    """Load `ldif` offline into the stack's own slapd (stopped for it, started again): `slapadd -q` skips the
    consistency checks that make an online add of 100,000 entries take minutes. The new env and the seconds
    the load took."""
    stack.stop()
    began = time.perf_counter()
    subprocess.run(
        ["/usr/sbin/slapadd", "-q", "-F", str(stack.layout.ldap / "slapd.d"), "-b", env["LDAP_BASE_DN"],
         "-l", str(ldif)],
        check=True,
        stdin=subprocess.DEVNULL,
        capture_output=True,
    )  # fmt: skip
    loaded = time.perf_counter() - began
    return stack.start(), loaded


def setup_django(root: Path, env: dict[str, str]) -> None:
    """Point this process's Django at the stack (jobs run in-process) and migrate its database."""
    os.environ.update(env)
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "mailadmin.settings",
            "MAILADMIN_IGNORE_STACK_ENV": "1",
            "MAILADMIN_VAR_DIR": str(root / "var"),
            "MAILADMIN_TLS": "0",
            "MAILADMIN_ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
            "MAILADMIN_MANIFEST_STATIC": "0",
            "MAILADMIN_JOBS_EAGER": "1",
        }
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


ADMIN_UID = "benchadmin"
ADMIN_PASSWORD = "Bench-admin-pass-1"  # a throwaway stack's account


def admin_client() -> Any:
    """A Django test Client logged in, through the real login view, as a new console administrator."""
    from django.test import Client

    from accounts.services.roles import administrator_add
    from accounts.services.users import user_create
    from mailadmin.actor import Actor
    from mailadmin.directory import dit

    actor = Actor.system("bench")
    admin_dn = user_create(
        actor=actor,
        container_dn=dit.admins_dn(),
        uid=ADMIN_UID,
        password=ADMIN_PASSWORD,
        last_name="Bench",
        create_mailbox=False,
    )
    administrator_add(actor=actor, account_dn=admin_dn)
    client = Client()
    response = client.post("/login/", {"username": ADMIN_UID, "password": ADMIN_PASSWORD})
    assert response.status_code == 302, response.content[:500]
    return client


def cpu_by_process() -> dict[str, float]:
    """CPU seconds (user + system) used so far by every live process, summed per name (Postfix's `smtpd`,
    `cleanup`, ..., Python's `manage.py <command>`). The difference of two calls says where a run spent its
    CPU; processes that ended in between are missing, so it is a lower bound for short-lived ones."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
            cmdline = Path(entry.path, "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        if comm.startswith("kworker"):  # renames itself with its work item: no stable name to compare
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        used = (int(fields[11]) + int(fields[12])) / tick
        if comm.startswith("python") and len(cmdline) > 2:  # manage.py <command>
            comm = " ".join(Path(a.decode(errors="replace")).name for a in cmdline[1:3])
        out[comm] = out.get(comm, 0.0) + used
    return out


def cpu_delta(before: dict[str, float], after: dict[str, float], top: int = 12) -> str:
    """The biggest per-name CPU differences as one line."""
    diff = {name: after[name] - before.get(name, 0.0) for name in after}
    ranked = sorted(((v, k) for k, v in diff.items() if v > 0.005), reverse=True)[:top]
    return ", ".join(f"{k} {v:.2f}s" for v, k in ranked)


def pressure() -> dict[str, float]:
    """Seconds of CPU and I/O stall so far (Linux PSI, "some": at least one task waiting), and disk writes."""
    out: dict[str, float] = {}
    for kind in ("cpu", "io"):
        try:
            first = Path(f"/proc/pressure/{kind}").read_text().splitlines()[0]
        except OSError:
            continue
        out[f"{kind} stall"] = int(first.rpartition("total=")[2]) / 1e6
    return out


def pressure_delta(before: dict[str, float], after: dict[str, float]) -> str:
    return ", ".join(f"{k} {after[k] - before.get(k, 0.0):.2f}s" for k in after)
