"""The directory's backup and whole restore, mixed into the stack's Slapd.

Backup: `slapcat` while slapd runs. back-mdb gives slapcat one read transaction, so the dump is a consistent
snapshot however busy slapd is, and nothing has to stop.

Whole restore (docs/backup.md): the LDIF goes into a STAGED database first (its own cn=config pointing at a
staging directory, `slapadd -q`), which is counted and checked; only then is slapd stopped, the live data
directory renamed aside, the staged one renamed in, and slapd started and smoke-tested. slapd is down for
two renames and a start. Any failure after the stop renames the old data back and starts slapd on it. A
journal file (`restore.json`) marks the swap: a stack start or `recover_interrupted_restore` that finds it
puts the old data back, so a worker killed in the middle never leaves a half-swapped directory.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

from mailadmin.configfiles import atomic_write
from mailadmin.configfiles.slapd import SlapdParams, render_config_ldif
from mailadmin.stack.base import Context
from mailadmin.stack.config import Layout
from mailadmin.stack.process import StackError, run

SLAPCAT = "/usr/sbin/slapcat"
SLAPADD = "/usr/sbin/slapadd"


def count_entries(ldif: Path) -> int:
    """Entries in an LDIF file (records begin with `dn:` at the start of a line), counted in 1 MiB chunks."""
    found = 0
    tail = b"\n"  # the file's start counts as a line start
    with ldif.open("rb") as f:
        while chunk := f.read(1024 * 1024):
            found += (tail + chunk).count(b"\ndn:")
            tail = chunk[-3:]
    return found


class SlapdBackup:
    ctx: Context
    layout: Layout
    swapping = False  # True while restore_whole starts slapd on the swapped-in data (prepare must keep it)

    @property
    def slapd_d(self) -> Path:
        raise NotImplementedError

    def params(self) -> SlapdParams:
        raise NotImplementedError

    # --- backup -----------------------------------------------------------------------------------------

    def dump(self, out: Path, *, subtree: str | None = None) -> int:
        """The directory's data (or one subtree: a domain) as LDIF into `out`; the number of entries."""
        argv: list[str | Path] = [SLAPCAT, "-F", self.slapd_d, "-b", self.ctx.base_dn, "-o", "ldif_wrap=no"]
        if subtree is not None:
            if any(ch in subtree for ch in "()\\*\0\n"):
                raise StackError(f"not a subtree DN for slapcat: {subtree!r}")
            # not -s: slapcat 2.5.13 crashes with it (see Slapd._private_containers)
            argv += ["-a", f"(entryDN:dnSubtreeMatch:={subtree})"]
        out.unlink(missing_ok=True)
        run([*argv, "-l", out], timeout=3600)
        return count_entries(out)

    def dump_config(self, out: Path) -> int:
        """cn=config as slapd holds it now (for the record and for an upgrade: a restore renders its own)."""
        out.unlink(missing_ok=True)
        run([SLAPCAT, "-F", self.slapd_d, "-n", "0", "-o", "ldif_wrap=no", "-l", out], timeout=600)
        return count_entries(out)

    # --- whole restore ----------------------------------------------------------------------------------

    @property
    def _journal(self) -> Path:
        return self.layout.ldap / "restore.json"

    @property
    def _staging(self) -> Path:
        return self.layout.ldap / "restore"

    def _stage(self, ldif: Path, say: Callable[[str], None]) -> tuple[Path, int]:
        """slapadd into a staged database and check it; the staged data directory and its entry count."""
        staging = self._staging
        shutil.rmtree(staging, ignore_errors=True)
        (staging / "data").mkdir(parents=True)
        (staging / "slapd.d").mkdir(mode=0o700)
        staging.chmod(0o700)
        params = replace(self.params(), db_dir=staging / "data")
        config = atomic_write(staging / "config.ldif", render_config_ldif(params), mode=0o600)
        run([SLAPADD, "-n0", "-F", staging / "slapd.d", "-l", config])
        expected = count_entries(ldif)
        say(f"Loading {expected} entries into a staged database")
        started = time.monotonic()
        run([SLAPADD, "-q", "-F", staging / "slapd.d", "-b", self.ctx.base_dn, "-l", ldif], timeout=7200)
        check = staging / "check.ldif"
        run([SLAPCAT, "-F", staging / "slapd.d", "-b", self.ctx.base_dn, "-o", "ldif_wrap=no", "-l", check])
        loaded = count_entries(check)
        check.unlink()
        if loaded != expected:
            raise StackError(f"the staged database holds {loaded} entries, the backup {expected}")
        say(f"Staged database checked: {loaded} entries ({time.monotonic() - started:.1f} s)")
        return staging / "data", loaded

    def restore_whole(self, ldif: Path, *, say: Callable[[str], None] = lambda text: None) -> dict[str, Any]:
        """Replace the whole directory with `ldif` (already verified against its backup's manifest)."""
        service = cast(Any, self)
        staged, entries = self._stage(ldif, say)
        live = self.layout.ldap / "data"
        before = self.layout.ldap / f"data.before-{int(time.time())}"
        atomic_write(self._journal, json.dumps({"before": before.name}), mode=0o600)
        stopped = time.monotonic()
        service.stop()
        live.rename(before)
        staged.rename(live)
        try:
            self.swapping = True
            try:
                service.prepare()
            finally:
                self.swapping = False
            service.launch()
            service.wait_ready(self.ctx.config.timeout)
            self._smoke()
        except Exception as exc:
            say(f"The restored directory did not come up ({exc}); putting the previous data back")
            self._swap_back(before)
            raise StackError(
                f"the restored directory did not start: {exc}; the previous data is live"
            ) from exc
        down = time.monotonic() - stopped
        self._journal.unlink()  # the commit point: from here on the restored data stays
        shutil.rmtree(before, ignore_errors=True)
        shutil.rmtree(self._staging, ignore_errors=True)
        say(f"Directory swapped in; slapd was down {down:.2f} s")
        return {"entries": entries, "down_seconds": round(down, 3)}

    def _smoke(self) -> None:
        result = self.ctx.ldap_as_postfix("ldapsearch", "-LLL", "-s", "base", "-b", self.ctx.base_dn, "1.1")
        if result.returncode != 0:
            raise StackError(f"a search of the base failed: {result.stderr.strip()[:200]}")

    def _swap_back(self, before: Path) -> None:
        service = cast(Any, self)
        service.stop()
        self.undo_unfinished_swap(before)
        service.prepare()
        service.launch()
        service.wait_ready(self.ctx.config.timeout)

    def _journal_before(self) -> Path | None:
        try:
            before = json.loads(self._journal.read_text(encoding="utf-8"))["before"]
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise StackError(
                f"the restore journal {self._journal} cannot be read ({exc}); fix it by hand"
            ) from exc
        if not isinstance(before, str) or "/" in before or not before.startswith("data.before-"):
            raise StackError(f"the restore journal {self._journal} names {before!r}; fix it by hand")
        return self.layout.ldap / before

    def undo_unfinished_swap(self, before: Path | None = None) -> bool:
        """With slapd stopped: if a whole restore began its swap and never committed, the old data goes back
        in place (the stack's start calls this first). True if something was undone."""
        before = before or self._journal_before()
        if before is None:
            return False
        live = self.layout.ldap / "data"
        if before.exists():
            if live.exists():
                shutil.rmtree(live)
            before.rename(live)
        self._journal.unlink(missing_ok=True)
        shutil.rmtree(self._staging, ignore_errors=True)
        return True

    def recover_interrupted_restore(self) -> bool:
        """A whole restore whose worker died before its commit point: stop slapd, put the old data back, start
        it. True if there was one."""
        before = self._journal_before()
        if before is None:
            return False
        self._swap_back(before)
        return True
