"""A minimal syslog sink for machines without a syslog daemon.

Cyrus and saslauthd log only through syslog(3), i.e. datagrams to /dev/log; without a listener their
start-up errors vanish. This process binds /dev/log and appends every message to a file.

Run as a child: `python -m mailadmin.stack.devlog --socket /dev/log --out FILE --pidfile FILE`. It detaches
and the starting process returns only once the socket is in place (or with an error), so the caller needs
no sleep. /dev/log is global: the sink never replaces a live listener, and on exit it removes the path only
if it still is the socket it bound (another stack may have taken over).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import sys
from pathlib import Path
from types import FrameType


def listener_alive(path: Path) -> bool:
    """True when something receives on the datagram socket `path` (a stale socket file refuses)."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        probe.connect(str(path))
    except OSError:
        return False
    finally:
        probe.close()
    return True


def sink_file(path: Path) -> Path | None:
    """The file a running sink (ours or another stack's) writes /dev/log messages to, found through its
    command line; None when the listener is something else (a real syslogd) or nobody."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                argv = [a.decode(errors="replace") for a in handle.read().split(b"\0")]
        except OSError:
            continue
        if not any(a.endswith(("devlog.py", "mailadmin.stack.devlog")) for a in argv):
            continue
        options = dict(zip(argv, argv[1:], strict=False))
        if options.get("--socket", "/dev/log") == str(path) and "--out" in options:
            return Path(options["--out"])
    return None


def _bind(path: Path) -> tuple[socket.socket, int]:
    """Bind under a private name, then hard-link it into place: link() fails if the path exists, so two
    stacks starting at once cannot both believe they own /dev/log."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp))
    os.chmod(tmp, 0o666)  # noqa: S103 - every local daemon must be able to log
    try:
        try:
            os.link(tmp, path)
        except FileExistsError:
            if listener_alive(path) or not path.is_socket():
                raise
            os.replace(tmp, path)  # a stale socket left by a killed sink
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return sock, os.stat(path).st_ino


def _serve(path: Path, out: Path, pidfile: Path, ready: int) -> None:
    try:
        sock, inode = _bind(path)
    except OSError as exc:
        os.write(ready, f"cannot bind {path}: {exc}".encode())
        os._exit(1)
    pidfile.write_text(f"{os.getpid()}\n", encoding="ascii")

    def leave(_signum: int, _frame: FrameType | None) -> None:
        with contextlib.suppress(OSError):
            if os.stat(path).st_ino == inode:
                path.unlink()
        with contextlib.suppress(OSError):
            pidfile.unlink()
        os._exit(0)

    signal.signal(signal.SIGTERM, leave)
    signal.signal(signal.SIGINT, leave)
    os.write(ready, b"ok")
    os.close(ready)
    with open(out, "ab", buffering=0) as sink:
        while True:
            data = sock.recv(65536)
            sink.write(data.rstrip(b"\0\n") + b"\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--socket", default="/dev/log", type=Path)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--pidfile", required=True, type=Path)
    args = parser.parse_args(argv)
    if listener_alive(args.socket):
        print(f"{args.socket} already has a listener", file=sys.stderr)
        return 3
    read_end, write_end = os.pipe()
    if os.fork() != 0:
        # Parent: report what the detached child says, then exit.
        os.close(write_end)
        with os.fdopen(read_end, "rb") as pipe:
            message = pipe.read().decode(errors="replace")
        if message == "ok":
            return 0
        print(message or "devlog sink died during start", file=sys.stderr)
        return 1
    os.close(read_end)
    os.setsid()
    os.chdir("/")
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    _serve(args.socket, args.out, args.pidfile, write_end)
    return 0


if __name__ == "__main__":
    sys.exit(main())
