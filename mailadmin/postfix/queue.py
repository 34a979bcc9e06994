"""The mail queue through Postfix's own tools: postqueue (list, flush), postsuper (hold, release, requeue,
delete), postcat (one message). Queue ids are checked against Postfix's alphabets before they are passed."""

from __future__ import annotations

import contextlib
import itertools
import json
import re
import shlex
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from mailadmin.postfix.commands import _WARNING, TIMEOUT, PostfixError, _bin, _complaints, _dir, _run

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


def deferred_for(config_dir: str | Path, address: str) -> list[str]:
    """The deferred messages with a recipient whose delay reason names `address` (e.g.
    `127.0.0.1[127.0.0.1]:10032`, as Postfix writes a next hop in a delay reason)."""
    if not re.fullmatch(r"[0-9a-zA-Z.:\[\]-]{1,100}", address):
        raise PostfixError(f"not an address as Postfix logs it: {address!r}")
    needle = address.encode()
    ids = []
    for line in postqueue_lines(config_dir):
        if needle not in line:
            continue
        item = json.loads(line)
        reasons = (str(r.get("delay_reason", "")) for r in item.get("recipients", []))
        if item.get("queue_name") == "deferred" and any(address in r for r in reasons):
            ids.append(str(item["queue_id"]))
    return ids


def requeue_waiting_for(config_dir: str | Path, address: str) -> int:
    """Requeue the deferred messages that wait for `address`. A queued message keeps the content filter it
    arrived with, so when the content filter page switches amavis off, mail that could not reach amavis
    stays bound to it. Requeued, it goes through cleanup again and takes main.cf's filter as it is now.
    Nothing else is touched: not the hold queue (an administrator's decision), not mail deferred for other
    reasons (it has passed the filters already and would pass them twice). Returns how many messages
    postsuper requeued."""
    ids = deferred_for(config_dir, address)
    if not ids:
        return 0
    done = len(postsuper(config_dir, "requeue", ids).done)
    wake_pickup(config_dir)
    return done


FLUSH_ONE_BY_ONE = 100  # more waiting messages than this: one `postqueue -f` instead of one -i each


def retry_waiting_for(config_dir: str | Path, address: str) -> int:
    """After a next hop was restarted (amavisd): a message that arrived while it was down, or found it down,
    is deferred, and qmgr then treats the hop as dead and defers what follows without trying. Here qmgr
    forgets dead hops (`postkick public qmgr F`) and each message waiting for `address` is tried now
    (`postqueue -i`), instead of after its back-off (minutes). Returns how many were waiting."""
    _kick(config_dir, "qmgr", "F")
    ids = deferred_for(config_dir, address)
    if len(ids) > FLUSH_ONE_BY_ONE:
        postqueue_flush(config_dir)
    else:
        for queue_id in ids:
            postqueue_flush(config_dir, queue_id)
    return len(ids)


def wake_pickup(config_dir: str | Path) -> None:
    """`postsuper -r` moves messages into the maildrop, where pickup finds them only at its next scan (up to
    a minute later); `postkick public pickup W` asks it to look now, as postdrop does for new mail."""
    _kick(config_dir, "pickup", "W")


def _kick(config_dir: str | Path, service: str, request: str, *, attempts: int = 5) -> None:
    """`postkick public SERVICE REQUEST`. Right after a reload the service may close its trigger socket
    under postkick (killed by SIGPIPE): that is tried again a few times, a tenth of a second apart."""
    argv = [_bin("postkick"), "-c", _dir(config_dir), "public", service, request]
    for attempt in range(attempts):
        result = _run(argv)
        if result.returncode == 0:
            return
        if result.returncode != -signal.SIGPIPE or attempt == attempts - 1:
            detail = result.stderr.strip() or f"exit {result.returncode}"
            raise PostfixError(f"postkick public {service} {request}: {detail}", permanent=False)
        time.sleep(0.1)


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
