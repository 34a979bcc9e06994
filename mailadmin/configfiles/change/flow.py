"""The Configuration menu's change flow, one implementation for every service.

propose: value checks -> render every managed file into a staging directory -> the daemon validates the
staged copy -> a three-way table (default / running / proposed) and a redacted diff of each file. Nothing is
written outside the staging directory, which is removed whatever happens.

apply: under the service's lock, the same checks once more (the files may have changed since the page was
shown) -> atomic rename of each file (mode and group of the file it replaces) -> reload -> smoke test of the
running service -> on any failure the previous files and values go back, the daemon is reloaded again, and
the outcome says why. The stored values (store.py) move with the files, so the stack's next start renders
what is running.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mailadmin.configfiles import store
from mailadmin.configfiles import values as v
from mailadmin.configfiles.change import diff
from mailadmin.configfiles.change.protocol import Managed
from mailadmin.configfiles.files import atomic_write
from mailadmin.configfiles.registry import Registry, check

log = logging.getLogger(__name__)


class ChangeRefused(Exception):
    """One or more values were refused; `errors` maps parameter name -> message. Nothing was written."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {msg}" for k, msg in self.errors.items()))


class DaemonRefused(Exception):
    """The daemon refused the staged files; the message is its own. The running files were not touched."""


class StaleProposal(Exception):
    """The stored values changed since the proposal was made (another administrator applied a change)."""


@dataclass(frozen=True)
class Proposal:
    service: str
    base_version: int
    values: dict[str, str]  # the complete stored values after the change
    changes: dict[str, str | None]  # what the administrator asked for (None: back to the default)
    rows: list[diff.Row]
    file_diffs: dict[str, str]
    files: dict[str, str] = field(repr=False)

    @property
    def empty(self) -> bool:
        return not any(self.file_diffs.values())


@dataclass(frozen=True)
class Outcome:
    service: str
    applied: bool  # False: rolled back (or nothing changed)
    version: int  # the stored version now running
    smoke: str  # what the smoke test proved, or why it failed
    reason: str = ""  # why the change was rolled back
    rollback_problem: str = ""  # the rollback itself failed: the page must say so loudly
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)


def check_changes(
    registry: Registry, changes: Mapping[str, str | None], *, allowed_dirs: list[str], forbid: str = ""
) -> dict[str, str | None]:
    """The changes with each value as it will be written; ChangeRefused listing every problem."""
    errors: dict[str, str] = {}
    checked: dict[str, str | None] = {}
    for name, raw in changes.items():
        param = registry.get(name)
        if param is None:
            errors[str(name)[:100]] = "is not a parameter of this service"
            continue
        if param.fixed:
            errors[name] = "is set by the console and cannot be changed here"
            continue
        if raw is None:
            checked[name] = None
            continue
        try:
            checked[name] = check(param, raw, allowed_dirs=allowed_dirs, forbid=forbid)
        except v.ConfigValueError as exc:
            errors[name] = exc.problem
    if errors:
        raise ChangeRefused(errors)
    return checked


def merged(current: Mapping[str, str], changes: Mapping[str, str | None]) -> dict[str, str]:
    out = dict(current)
    for name, value in changes.items():
        if value is None:
            out.pop(name, None)
        else:
            out[name] = value
    return out


def _staging_root(menu_dir: Path) -> Path:
    root = menu_dir / "staging"
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    return root


@contextlib.contextmanager
def _staged(menu_dir: Path, svc: Managed, files: Mapping[str, str]) -> Iterator[Path]:
    """A staging directory holding `files` (0600), removed afterwards whatever happens."""
    staging = Path(tempfile.mkdtemp(prefix=f"{svc.name}-", dir=_staging_root(menu_dir)))
    try:
        staging.chmod(0o755)  # the daemons' checkers may drop privileges (postfix check runs as postfix)
        for name, text in files.items():
            # backdated: Postfix naps until a main.cf younger than 2 s cools down (files.atomic_write)
            atomic_write(staging / name, text, mode=0o640, backdate=3)
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


def _values_of(svc: Managed, directory: Path | None) -> dict[str, str]:
    reader = getattr(svc, "values_of", None)
    return dict(reader(directory)) if reader is not None else {}


def _defaults(svc: Managed) -> dict[str, str]:
    reader = getattr(svc, "defaults", None)
    return dict(reader()) if reader is not None else {}


def propose(
    svc: Managed,
    registry: Registry,
    menu_dir: Path,
    changes: Mapping[str, str | None],
    *,
    replace_all: bool = False,
) -> Proposal:
    """Check, render, let the daemon validate, and describe the change; writes nothing that stays.

    `replace_all`: `changes` is a complete set of stored values (restoring a version from the history, or
    adopting a hand edit) rather than a few edits on top of the current ones."""
    stored = store.load(menu_dir, svc.name)
    checked = check_changes(registry, changes, allowed_dirs=svc.allowed_dirs())
    new_values = merged({} if replace_all else stored.values, checked)
    if replace_all:
        checked = {
            **{name: None for name in stored.values if name not in new_values},
            **{k: val for k, val in new_values.items() if stored.values.get(k) != val},
        }
    try:
        files = svc.render(new_values)
    except v.ConfigValueError as exc:
        raise ChangeRefused({exc.parameter: exc.problem}) from exc
    with _staged(menu_dir, svc, files) as staging:
        try:
            svc.validate_dir(staging)
        except Exception as exc:  # the daemon's own words; StackError, PostfixError, ...
            raise DaemonRefused(str(exc)) from exc
        effective = _values_of(svc, staging)
    running = _values_of(svc, None)
    rows = diff.rows(
        registry.params, defaults=_defaults(svc), running=running, proposed=checked, effective=effective
    )
    file_diffs = {
        name: diff.file_diff(name, _read(svc.config_path(name)), text) for name, text in files.items()
    }
    return Proposal(
        service=svc.name,
        base_version=stored.version,
        values=new_values,
        changes=checked,
        rows=rows,
        file_diffs=file_diffs,
        files=files,
    )


def values_in(svc: Managed, menu_dir: Path, files: Mapping[str, str]) -> dict[str, str]:
    """The parameters `files` set, as the daemon reads them (validated first: DaemonRefused if it won't)."""
    with _staged(menu_dir, svc, files) as staging:
        try:
            svc.validate_dir(staging)
        except Exception as exc:
            raise DaemonRefused(str(exc)) from exc
        return _values_of(svc, staging)


def adoptable(svc: Managed, registry: Registry, menu_dir: Path) -> tuple[dict[str, str | None], list[str]]:
    """A hand edit of the managed files as menu changes: (changes, names that cannot be adopted because the
    menu does not manage them or the console fixes them)."""
    stored = store.load(menu_dir, svc.name)
    rendered = svc.render(stored.values)
    on_disk = {name: _read(svc.config_path(name)) or "" for name in rendered}
    ours = values_in(svc, menu_dir, rendered)
    theirs = values_in(svc, menu_dir, on_disk)
    changes: dict[str, str | None] = {}
    left_out = []
    for name in sorted(set(ours) | set(theirs)):
        if ours.get(name) == theirs.get(name):
            continue
        param = registry.get(name)
        if param is None or param.fixed:
            left_out.append(name)
        else:
            changes[name] = theirs.get(name)
    return changes, left_out


def _install_files(svc: Managed, files: Mapping[str, str]) -> None:
    for name, text in files.items():
        target = svc.config_path(name)
        if _read(target) == text:
            continue
        try:
            st = target.stat()
        except FileNotFoundError:
            atomic_write(target, text, mode=0o640, backdate=3)
            continue
        # keep the mode and group the stack gave the file (0640 + the daemon's group for a bind password)
        atomic_write(target, text, mode=stat.S_IMODE(st.st_mode), backdate=3)
        if st.st_gid != 0 or st.st_uid != 0:
            os.chown(target, st.st_uid, st.st_gid)


def _install(svc: Managed, old: Mapping[str, str], new: Mapping[str, str], files: Mapping[str, str]) -> None:
    installer = getattr(svc, "install", None)
    if installer is not None:
        installer(old, new, files)
    else:
        _install_files(svc, files)


def apply(svc: Managed, registry: Registry, menu_dir: Path, proposal: Proposal) -> Outcome:
    """Apply `proposal` (from `propose`) to the running service; roll back by itself if the daemon does not
    take it or the smoke test fails. Raises StaleProposal, ChangeRefused or DaemonRefused before anything is
    written."""
    began = time.monotonic()
    timings: dict[str, float] = {}
    with contextlib.ExitStack() as locks:
        locks.enter_context(store.locked(menu_dir, svc.name))
        # a service that also writes another's file (the content filter writes Postfix's main.cf) holds that
        # service's lock too, so neither apply overwrites the other's main.cf unseen; always in this order
        for other in getattr(svc, "also_locks", ()):
            locks.enter_context(store.locked(menu_dir, other))
        stored = store.load(menu_dir, svc.name)
        if stored.version != proposal.base_version:
            raise StaleProposal(
                f"{svc.name} was changed by someone else (version {stored.version}, this page showed "
                f"version {proposal.base_version}); look at the new values and try again"
            )
        # Validated by `propose` for this version; render again and validate again only if the files differ
        # (a renderer input outside the stored values changed meanwhile, such as a port).
        tick = time.monotonic()
        again = proposal
        if svc.render(proposal.values) != proposal.files:
            again = propose(svc, registry, menu_dir, proposal.values, replace_all=True)
        timings["validate"] = time.monotonic() - tick
        previous_files = {name: _read(svc.config_path(name)) for name in again.files}
        try:
            # inside the try: an install that fails half-way (a modify slapd refuses, a full disk) is rolled
            # back like a failed reload
            tick = time.monotonic()
            _install(svc, stored.values, again.values, again.files)
            store.save(menu_dir, svc.name, again.values, stored.version + 1)
            timings["install"] = time.monotonic() - tick
            tick = time.monotonic()
            _reload(svc, registry, again.changes)
            timings["reload"] = time.monotonic() - tick
            tick = time.monotonic()
            smoke = svc.smoke()
            timings["smoke"] = time.monotonic() - tick
        except Exception as exc:
            reason = str(exc) or type(exc).__name__
            log.warning(
                "%s: change to version %s failed (%s); rolling back", svc.name, stored.version + 1, reason
            )
            problem = _roll_back(svc, registry, menu_dir, stored, again.values, previous_files)
            return Outcome(
                service=svc.name,
                applied=False,
                version=stored.version,
                smoke="",
                reason=reason,
                rollback_problem=problem,
                seconds=time.monotonic() - began,
                timings=timings,
            )
    return Outcome(
        service=svc.name,
        applied=True,
        version=stored.version + 1,
        smoke=smoke,
        seconds=time.monotonic() - began,
        timings=timings,
    )


def _reload(svc: Managed, registry: Registry, changes: Mapping[str, str | None]) -> None:
    """A reload, or a restart when a changed parameter takes effect only then (Param.restart) and the
    service can restart itself."""
    restart = getattr(svc, "restart", None)
    if restart is not None and any((p := registry.get(name)) is not None and p.restart for name in changes):
        restart()
    else:
        svc.reload()


def _roll_back(
    svc: Managed,
    registry: Registry,
    menu_dir: Path,
    stored: store.Stored,
    failed_values: Mapping[str, str],
    previous_files: Mapping[str, str | None],
) -> str:
    """Put the previous files and values back and reload; '' when the service then passes its smoke test."""
    try:
        restore = {name: text for name, text in previous_files.items() if text is not None}
        _install(svc, failed_values, stored.values, restore)
        for name, text in previous_files.items():
            if text is None:
                svc.config_path(name).unlink(missing_ok=True)
        store.save(menu_dir, svc.name, stored.values, stored.version)
        names = set(stored.values) | set(failed_values)
        _reload(svc, registry, {n: None for n in names if stored.values.get(n) != failed_values.get(n)})
        svc.smoke()
    except Exception as exc:  # reported on the page and in the log; nothing more can be done here
        log.exception("%s: rollback failed", svc.name)
        return str(exc) or type(exc).__name__
    return ""
