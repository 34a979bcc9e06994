"""The only module that runs Postfix commands: postconf, postfix, postmap, postqueue, postsuper, postcat.

Every call is an argv list with `-c CONFIG_DIR`, so the same code drives the system instance (/etc/postfix)
and a private one. Postfix reports many failures only on stderr with exit 0, or (the `postfix` command) only
when stderr is a terminal, so the helpers here read the output rather than trusting exit codes.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from mailadmin.errors import GatewayError

TIMEOUT = 120
_WARNING = re.compile(r"^(?:\S+: )?(?:warning|fatal|error|panic): ", re.MULTILINE)


class PostfixError(GatewayError):
    """A Postfix command failed or complained; the message carries Postfix's own words."""


def _bin(name: str) -> str:
    # /usr/sbin is not on a non-root PATH, yet postconf/postmap are usable by anyone.
    found = shutil.which(name, path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/bin"]))
    if not found:
        raise PostfixError(f"{name} not found (is the postfix package installed?)")
    return found


def _dir(config_dir: str | Path) -> str:
    path = str(config_dir)
    if not path.startswith("/") or any(ch in path for ch in "\n\r\0"):
        raise PostfixError(f"not an absolute config directory: {path!r}")
    return path


def _run(argv: list[str], *, timeout: float = TIMEOUT) -> subprocess.CompletedProcess[str]:
    """Output goes through temp files, not pipes: `postfix start` leaves a background `check-warn` holding
    its stdout for seconds, and reading a pipe would wait for that helper too."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.run(
                argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise PostfixError(f"{shlex.join(argv)} did not finish within {timeout} s") from exc
        except OSError as exc:
            raise PostfixError(f"{shlex.join(argv)}: {exc}") from exc
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(
            argv, proc.returncode, out.read().decode(errors="replace"), err.read().decode(errors="replace")
        )


def _complaints(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if _WARNING.match(line.strip())]


def postconf_warnings(config_dir: str | Path) -> list[str]:
    """What `postconf -n` warns about: misspelled ("unused") parameters and the like. Empty when clean."""
    result = _run([_bin("postconf"), "-c", _dir(config_dir), "-n"])
    if result.returncode != 0:
        raise PostfixError(
            f"postconf -n failed in {config_dir}: {result.stderr.strip() or result.stdout.strip()}"
        )
    return _complaints(result.stderr)


def postconf_h(config_dir: str | Path, name: str) -> str:
    """One parameter's value as Postfix uses it (set or default), e.g. `mail_version`, `queue_directory`."""
    if not re.fullmatch(r"[a-z0-9_]{1,100}", name):
        raise PostfixError(f"not a parameter name: {name!r}")
    result = _run([_bin("postconf"), "-c", _dir(config_dir), "-h", name])
    if result.returncode != 0 or _complaints(result.stderr):
        raise PostfixError(f"postconf -h {name} failed: {result.stderr.strip()}")
    return result.stdout.strip()


def postconf_n(config_dir: str | Path) -> dict[str, str]:
    """The explicitly set parameters of main.cf. Raises on a syntax error *and* on any warning, because
    `postconf` exits 0 for a misspelled parameter name, which Postfix then silently ignores."""
    result = _run([_bin("postconf"), "-c", _dir(config_dir), "-n"])
    complaints = _complaints(result.stderr)
    if result.returncode != 0 or complaints:
        detail = "; ".join(complaints) or result.stderr.strip() or f"exit {result.returncode}"
        raise PostfixError(f"postconf -n in {config_dir}: {detail}")
    return _parameters(result.stdout)


@functools.cache
def postconf_d() -> dict[str, str]:
    """Every parameter's built-in default (`postconf -d`) of the installed Postfix; asked once per process."""
    result = _run([_bin("postconf"), "-d"])
    if result.returncode != 0:
        raise PostfixError(f"postconf -d failed: {result.stderr.strip()}")
    return _parameters(result.stdout)


def _parameters(output: str) -> dict[str, str]:
    """`name = value` lines of postconf's output (an empty value prints as `name =`)."""
    params: dict[str, str] = {}
    for line in output.splitlines():
        key, sep, value = line.partition(" =")
        if sep:
            params[key.strip()] = value.strip()
    return params


def _under_pty(argv: list[str], *, timeout: float = TIMEOUT) -> tuple[int, str]:
    """Run argv with a terminal as stdout/stderr: `postfix` prints its fatal errors only to a TTY.

    `script` takes one command string for `sh -c`; shlex.join quotes every argument, so a config dir with
    odd characters cannot become shell syntax. -e returns the command's exit status.
    """
    result = _run([_bin("script"), "-qec", shlex.join(argv), "/dev/null"], timeout=timeout)
    return result.returncode, (result.stdout + result.stderr).replace("\r\n", "\n").strip()


def postfix_check(config_dir: str | Path) -> list[str]:
    """`postfix check` (ownership, permissions, numeric parameters). Raises with Postfix's message on failure;
    returns its warnings (which do not stop Postfix from running) otherwise. Takes a few seconds."""
    code, output = _under_pty([_bin("postfix"), "-c", _dir(config_dir), "check"])
    if code != 0:
        raise PostfixError(f"postfix check failed in {config_dir}: {output or f'exit {code}'}")
    return _complaints(output)


def _control(config_dir: str | Path, verb: str) -> None:
    result = _run([_bin("postfix"), "-c", _dir(config_dir), verb])
    if result.returncode == 0:
        return
    # Ask again under a pty to get the reason: the non-TTY run is silent.
    code, output = _under_pty([_bin("postfix"), "-c", _dir(config_dir), verb])
    if code == 0:
        return
    raise PostfixError(
        f"postfix {verb} failed in {config_dir}: {output or result.stderr.strip() or f'exit {code}'}"
    )


def postfix_start(config_dir: str | Path) -> None:
    _control(config_dir, "start")


def postfix_stop(config_dir: str | Path) -> None:
    """Asks the master to stop and returns at once: the caller waits for the master's PID to go."""
    _control(config_dir, "stop")


def postfix_reload(config_dir: str | Path) -> None:
    _control(config_dir, "reload")


def postfix_running(config_dir: str | Path) -> bool:
    return _run([_bin("postfix"), "-c", _dir(config_dir), "status"]).returncode == 0


def master_pid_file(config_dir: str | Path) -> Path:
    """Where the master writes its PID (space-padded): <queue_directory>/pid/master.pid."""
    queue_dir = postconf_n(config_dir).get("queue_directory", "/var/spool/postfix")
    return Path(queue_dir) / "pid" / "master.pid"


def postmap_query(key: str, table: str, config_dir: str | Path) -> str | None:
    """Look `key` up in `table` (e.g. `ldap:/etc/postfix/accounts.cf`). None when the key is not found;
    PostfixError when the lookup itself fails (server down, bind refused, bad filter), which postmap also
    reports with exit 1, so stderr tells the two apart."""
    if not key or any(ch in key for ch in "\n\r\0"):
        raise PostfixError(f"bad lookup key {key!r}")
    if ":" not in table or any(ch in table for ch in "\n\r\0"):
        raise PostfixError(f"bad table {table!r} (expected TYPE:NAME)")
    result = _run([_bin("postmap"), "-c", _dir(config_dir), "-q", key, table], timeout=30)
    complaints = _complaints(result.stderr)
    if complaints:
        raise PostfixError(f"postmap -q {key!r} {table}: {'; '.join(complaints)}")
    if result.returncode == 0:
        return result.stdout.rstrip("\n")
    if result.returncode == 1 and not result.stdout.strip():
        return None
    raise PostfixError(f"postmap -q {key!r} {table}: exit {result.returncode} {result.stderr.strip()}")


# --- the mail queue: postqueue, postsuper, postcat (DLV-01, DLV-02) ----------------------------------------

# Long queue ids (enable_long_queue_ids = yes): 10 characters of time and microseconds, "z", the inode number,
# in a base-52 alphabet without vowels; short ids are upper-case hex (the manual's "547A816C"). Neither can
# spell ALL, a flag, a path or shell syntax.
_LONG_ID_CHARS = "0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-z"
QUEUE_ID = re.compile(rf"(?:[0-9A-F]{{6,16}}|[{_LONG_ID_CHARS}]{{10}}z[{_LONG_ID_CHARS}]{{1,20}})\Z")
QUEUE_NAMES = ("maildrop", "incoming", "active", "deferred", "hold", "corrupt")
# What postsuper says for each id it changed ("postsuper: 4jXz...: placed on hold").
_POSTSUPER_FLAGS = {"hold": "-h", "release": "-H", "requeue": "-r", "delete": "-d"}
_POSTSUPER_DONE = re.compile(
    r"^postsuper: ([0-9A-Za-z]+): (placed on hold|released from hold|requeued|removed)\s*$"
)
_POSTSUPER_FATAL = re.compile(r"^postsuper: (?:fatal|panic|error): (.*)$")


def valid_queue_id(queue_id: str) -> bool:
    return isinstance(queue_id, str) and QUEUE_ID.match(queue_id) is not None


def postqueue_lines(config_dir: str | Path, *, timeout: float = TIMEOUT) -> Generator[bytes, None, None]:
    """Stream `postqueue -j`: one JSON object (bytes, one message) per line, as Postfix's showq writes them.

    Nothing is held but the current line, so the queue may be any size. Stopping early (closing the
    generator) kills postqueue, and showq stops when its reader goes away: the first page of a huge queue
    costs only that page. Parse with `json.loads`; callers may skip lines by a cheap substring test first.
    """
    argv = [_bin("postqueue"), "-c", _dir(config_dir), "-j"]
    with tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err)
        except OSError as exc:
            raise PostfixError(f"{shlex.join(argv)}: {exc}") from exc
        watchdog = threading.Timer(timeout, proc.kill)
        watchdog.daemon = True
        watchdog.start()
        finished = False
        try:
            assert proc.stdout is not None  # noqa: S101 — stdout=PIPE above
            for line in proc.stdout:
                if line.strip():
                    yield line
            finished = True
        finally:
            watchdog.cancel()
            if not finished:
                proc.kill()  # the caller stopped early (or failed): no need for the rest
            if proc.stdout is not None:
                proc.stdout.close()
            code = proc.wait()
        err.seek(0)
        complaint = err.read().decode(errors="replace").strip()
    if code != 0:
        if code < 0:
            raise PostfixError(f"postqueue -j did not finish within {timeout} s", permanent=False)
        raise PostfixError(f"postqueue -j failed: {complaint or f'exit {code}'}", permanent=False)


@dataclass(frozen=True)
class PostsuperReport:
    """What postsuper said it did, per id (`done`: id -> "placed on hold", ...), and its warnings."""

    done: dict[str, str]
    warnings: list[str]


def postsuper(
    config_dir: str | Path,
    action: str,
    queue_ids: Iterable[str],
    *,
    tick: Callable[[int], None] | None = None,
    timeout: float = TIMEOUT,
) -> PostsuperReport:
    """`postsuper -h|-H|-r|-d -` with the ids on standard input, one per line.

    Every id must look like a queue id (PostfixError before anything runs otherwise: never "ALL", "-" or a
    flag). postsuper exits 0 whether or not it found the ids, so the result is what it *reports* on stderr,
    id by id; an id it does not name was not changed (gone, or already in that state). `tick(n)` is called
    as the reports come in (n = ids reported so far), for progress bars.
    """
    ids = list(dict.fromkeys(queue_ids))
    bad = [i for i in ids if not valid_queue_id(i)]
    if bad:
        raise PostfixError(f"not a queue id: {bad[0]!r}")
    if not ids:
        return PostsuperReport({}, [])
    return _postsuper(config_dir, action, iter(ids), tick=tick, timeout=timeout)


def _postsuper(
    config_dir: str | Path,
    action: str,
    ids: Iterator[str],
    *,
    tick: Callable[[int], None] | None,
    timeout: float,
) -> PostsuperReport:
    flag = _POSTSUPER_FLAGS.get(action)
    if flag is None:
        raise PostfixError(f"unknown queue action {action!r}")
    done: dict[str, str] = {}
    warnings: list[str] = []
    first = next(ids, None)  # nothing to do: postsuper is not even started
    if first is None:
        return PostsuperReport(done, warnings)
    ids = itertools.chain([first], ids)
    argv = [_bin("postsuper"), "-c", _dir(config_dir), flag, "-"]
    try:
        proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
    except OSError as exc:
        raise PostfixError(f"{shlex.join(argv)}: {exc}") from exc
    failure: list[BaseException] = []

    def feed() -> None:
        # A writer thread: postsuper reports on stderr while it reads stdin, and a full stderr pipe would
        # stop it from reading more ids.
        assert proc.stdin is not None  # noqa: S101
        seen: set[str] = set()
        try:
            for queue_id in ids:
                if not valid_queue_id(queue_id):
                    failure.append(PostfixError(f"not a queue id: {queue_id!r}"))
                    break
                if queue_id not in seen:
                    seen.add(queue_id)
                    proc.stdin.write(queue_id.encode() + b"\n")
        except OSError:
            pass  # postsuper died; its stderr says why
        except Exception as exc:  # noqa: BLE001 — the producer failed (postqueue): re-raised below
            failure.append(exc)
        finally:
            with contextlib.suppress(OSError):
                proc.stdin.close()

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    watchdog = threading.Timer(timeout, proc.kill)
    watchdog.daemon = True
    watchdog.start()
    fatal = ""
    try:
        assert proc.stderr is not None  # noqa: S101
        for raw in proc.stderr:
            line = raw.decode(errors="replace").rstrip()
            hit = _POSTSUPER_DONE.match(line)
            if hit:
                done[hit.group(1)] = hit.group(2)
                if tick is not None and len(done) % 500 == 0:
                    tick(len(done))
            elif (bad_line := _POSTSUPER_FATAL.match(line)) is not None:
                fatal = bad_line.group(1)
            elif _WARNING.match(line):
                warnings.append(line)
    finally:
        watchdog.cancel()
        writer.join(timeout=timeout)
        code = proc.wait()
    if fatal or code < 0:
        raise PostfixError(f"postsuper {flag}: {fatal or 'did not finish in time'}", permanent=False)
    if failure:
        raise failure[0]
    if tick is not None:
        tick(len(done))
    return PostsuperReport(done, warnings)


def postqueue_flush(config_dir: str | Path, queue_id: str | None = None) -> None:
    """Attempt delivery now: the whole queue (`postqueue -f`) or one message (`postqueue -i ID`).
    postqueue exits 0 for an unknown id too; callers check the id against the listing first."""
    argv = [_bin("postqueue"), "-c", _dir(config_dir)]
    if queue_id is None:
        argv.append("-f")
    elif valid_queue_id(queue_id):
        argv += ["-i", queue_id]
    else:
        raise PostfixError(f"not a queue id: {queue_id!r}")
    result = _run(argv, timeout=60)
    complaints = _complaints(result.stderr)
    if result.returncode != 0 or any(": fatal: " in c for c in complaints):
        raise PostfixError(f"{' '.join(argv[3:])}: {'; '.join(complaints) or f'exit {result.returncode}'}")


def postcat(config_dir: str | Path, queue_id: str, *, limit: int = 256 * 1024) -> tuple[bytes, bool]:
    """`postcat -q ID`: envelope records, the message, extracted records. At most `limit` bytes are read
    (a queued message can be huge); returns (output, truncated). None of it is trusted: it is the
    sender's text. PostfixError when the message is not (or no longer) in the queue."""
    if not valid_queue_id(queue_id):
        raise PostfixError(f"not a queue id: {queue_id!r}")
    argv = [_bin("postcat"), "-c", _dir(config_dir), "-q", queue_id]
    with tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err)
        except OSError as exc:
            raise PostfixError(f"{shlex.join(argv)}: {exc}") from exc
        watchdog = threading.Timer(60, proc.kill)
        watchdog.daemon = True
        watchdog.start()
        try:
            assert proc.stdout is not None  # noqa: S101
            data = proc.stdout.read(limit + 1)
            truncated = len(data) > limit
            if truncated:
                proc.kill()
            proc.stdout.close()
            code = proc.wait()
        finally:
            watchdog.cancel()
        err.seek(0)
        complaint = err.read().decode(errors="replace").strip()
    if not truncated and (code != 0 or not data):
        raise PostfixError(f"postcat -q {queue_id}: {complaint or f'exit {code}'}")
    return data[:limit], truncated
