"""The only module that runs Postfix commands: postconf, postfix, postmap (later postqueue, postsuper).

Every call is an argv list with `-c CONFIG_DIR`, so the same code drives the system instance (/etc/postfix)
and a private one. Postfix reports many failures only on stderr with exit 0, or (the `postfix` command) only
when stderr is a terminal, so the helpers here read the output rather than trusting exit codes.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import tempfile
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


def mail_version(config_dir: str | Path) -> str:
    """The running Postfix's version, e.g. "3.7.11"."""
    result = _run([_bin("postconf"), "-c", _dir(config_dir), "-h", "mail_version"])
    if result.returncode != 0:
        raise PostfixError(f"postconf -h mail_version failed: {result.stderr.strip()}")
    return result.stdout.strip()


def postconf_n(config_dir: str | Path) -> dict[str, str]:
    """The explicitly set parameters of main.cf. Raises on a syntax error *and* on any warning, because
    `postconf` exits 0 for a misspelled parameter name, which Postfix then silently ignores."""
    result = _run([_bin("postconf"), "-c", _dir(config_dir), "-n"])
    complaints = _complaints(result.stderr)
    if result.returncode != 0 or complaints:
        detail = "; ".join(complaints) or result.stderr.strip() or f"exit {result.returncode}"
        raise PostfixError(f"postconf -n in {config_dir}: {detail}")
    params: dict[str, str] = {}
    for line in result.stdout.splitlines():
        key, sep, value = line.partition(" = ")
        if sep:
            params[key.strip()] = value.strip()
        elif line.endswith(" ="):
            params[line[:-2].strip()] = ""
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
