"""Process helpers that work on this kind of machine: no systemd, PID 1 reaps orphans late (so a stopped
daemon lingers as a zombie), and pyenv shims make `$!` point at the wrong process. Everything goes by PID
files and /proc, never by process name."""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

POLL = 0.02


class StackError(Exception):
    """The private stack could not do what was asked; the message says which daemon and why."""


def read_pid(pidfile: Path) -> int | None:
    """First number in a PID file (Postfix pads it with spaces; postgres adds more lines)."""
    try:
        first = pidfile.read_text(encoding="ascii", errors="replace").split()
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return None
    if not first or not first[0].isdigit():
        return None
    return int(first[0])


def proc_state(pid: int) -> str | None:
    """The one-letter state from /proc/PID/stat, or None when the PID does not exist."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # comm may contain spaces and parentheses: the state follows the *last* ')'.
    rest = raw[raw.rfind(")") + 1 :].split()
    return rest[0] if rest else None


def alive(pid: int | None) -> bool:
    """Running and not a zombie: an orphaned daemon that exited stays <defunct> until PID 1 gets to it."""
    if not pid or pid <= 0:
        return False
    state = proc_state(pid)
    return state is not None and state not in {"Z", "X"}


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root + "/")


def _names(cmdline: str, base: str) -> bool:
    """`base` appears as a whole path component run (`/x/stack` must not match `/x/stack2`)."""
    start = cmdline.find(base)
    while start != -1:
        after = cmdline[start + len(base) : start + len(base) + 1]
        if after in {"", "/", "\0", " ", ":"}:
            return True
        start = cmdline.find(base, start + 1)
    return False


def references(pid: int, root: Path) -> bool:
    """Does the process name `root` on its command line, work inside it, or hold a file in it open?

    Postfix's and PostgreSQL's children rewrite their titles and keep only their cwd in the spool or data
    dir; redis keeps its cwd; the others name their config on the command line. All three are needed.
    """
    base = os.path.realpath(root)
    proc = Path(f"/proc/{pid}")
    try:
        cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
        if _names(cmdline, base):
            return True
        with contextlib.suppress(OSError):
            if _under(os.readlink(proc / "cwd"), base):
                return True
        for fd in os.listdir(proc / "fd"):
            with contextlib.suppress(OSError):
                if _under(os.readlink(proc / "fd" / fd), base):
                    return True
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return False
    return False


def processes_referencing(root: Path) -> list[tuple[int, str]]:
    """Live processes (zombies excluded, this one and its ancestors excluded) that reference `root`.

    Ancestors: `timeout 60 manage.py stack stop --dir ROOT` or a shell naming ROOT is not a leftover."""
    found = []
    mine = _ancestors(os.getpid())
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in mine:
            continue
        pid = int(entry)
        if alive(pid) and references(pid, root):
            found.append((pid, command_line(pid)))
    return found


def _ancestors(pid: int) -> set[int]:
    """`pid` and every parent up to init."""
    chain = set()
    while pid > 1 and pid not in chain:
        chain.add(pid)
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            break
        # the command name (2nd field) may hold spaces or parentheses: the ppid follows the last ")"
        pid = int(stat.rpartition(")")[2].split()[1])
    return chain


def command_line(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "?"
    return " ".join(part.decode(errors="replace") for part in raw.split(b"\0") if part)


def owned_pid(pidfile: Path, root: Path) -> int | None:
    """The PID from `pidfile` if that process is alive *and* belongs to the state dir `root`.

    A stale PID file can name a PID the kernel has since given to an unrelated process; checking that the
    process references our state dir keeps stop() from killing a stranger.
    """
    pid = read_pid(pidfile)
    if pid is not None and alive(pid) and references(pid, root):
        return pid
    return None


def wait_until(
    check: Callable[[], bool],
    *,
    timeout: float,
    what: str,
    abort: Callable[[], str | None] | None = None,
) -> None:
    """Poll `check` until it holds; `abort` returns a reason to give up at once (e.g. the daemon died)."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(OSError):
            if check():
                return
        if abort is not None:
            reason = abort()
            if reason:
                raise StackError(f"{what}: {reason}")
        if time.monotonic() >= deadline:
            raise StackError(f"{what}: not ready after {timeout:.0f} s")
        time.sleep(POLL)


def terminate(pid: int, *, sig: int = signal.SIGTERM, timeout: float = 15.0) -> bool:
    """Send `sig`, wait for the process to go, KILL it after `timeout`. True when KILL was needed."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
    return wait_gone(pid, timeout=timeout)


def wait_gone(pid: int, *, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while alive(pid):
        if time.monotonic() >= deadline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            end = time.monotonic() + 5
            while alive(pid) and time.monotonic() < end:
                time.sleep(POLL)
            return True
        time.sleep(POLL)
    return False


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join(
        [env.get("PATH", ""), "/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin"]
    )
    return env


def run(
    argv: Sequence[str | Path],
    *,
    log: Path | None = None,
    user: str | None = None,
    cwd: str | Path | None = None,
    stdin_text: str | None = None,
    timeout: float = 60.0,
) -> str:
    """Run a command to completion; return its output or raise StackError with it.

    Daemon-starting commands get a log *file* as stdout/stderr, never a pipe: a daemon that keeps the
    inherited pipe open would make us wait for it forever.
    """
    args = [str(a) for a in argv]
    handle = open(log, "ab") if log is not None else None  # noqa: SIM115 - closed in finally
    try:
        result = subprocess.run(
            args,
            input=stdin_text.encode() if stdin_text is not None else None,
            stdin=None if stdin_text is not None else subprocess.DEVNULL,
            stdout=handle if handle else subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=child_env(),
            timeout=timeout,
            check=False,
            # Drop root for tools that refuse it (initdb, pg_ctl), without root's supplementary groups.
            user=user,
            group=user,
            extra_groups=[] if user is not None else None,
        )
    except subprocess.TimeoutExpired as exc:
        raise StackError(f"{shlex.join(args)} did not finish within {timeout:.0f} s") from exc
    except OSError as exc:
        raise StackError(f"{shlex.join(args)}: {exc}") from exc
    finally:
        if handle is not None:
            handle.close()
    output = (result.stdout or b"").decode(errors="replace") if handle is None else ""
    if result.returncode != 0:
        if log is not None:
            output = tail(log)
        raise StackError(f"{shlex.join(args)} failed (exit {result.returncode}):\n{output.strip()}")
    return output


def tail(path: Path, lines: int = 25, *, containing: str | None = None) -> str:
    """The last lines of a log, optionally only those containing a marker (a shared syslog file)."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 65536))
            text = handle.read().decode(errors="replace")
    except OSError:
        return ""
    kept = [line for line in text.splitlines() if containing is None or containing in line]
    return "\n".join(kept[-lines:])
