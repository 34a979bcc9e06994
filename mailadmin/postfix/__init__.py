"""The only package that runs Postfix commands: postconf, postfix, postmap, postqueue, postsuper, postcat.

Every call is an argv list with `-c CONFIG_DIR`, so the same code drives the system instance (/etc/postfix)
and a private one. Postfix reports many failures only on stderr with exit 0, or (the `postfix` command) only
when stderr is a terminal, so the helpers here read the output rather than trusting exit codes.

Here: postconf, postfix (check, start, stop, reload), postmap; `queue`: postqueue, postsuper, postcat;
`commands`: how every command is run.
"""

from __future__ import annotations

import functools
import re
import shlex
from pathlib import Path

from mailadmin.postfix.commands import TIMEOUT, PostfixError, _bin, _complaints, _dir, _run
from mailadmin.postfix.queue import (  # noqa: F401 — callers use postfix.X as before the split
    QUEUE_ID,
    QUEUE_NAMES,
    PostsuperReport,
    postcat,
    postqueue_flush,
    postqueue_lines,
    postsuper,
    requeue_waiting_for,
    retry_waiting_for,
    valid_queue_id,
)


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


def postconf_n(config_dir: str | Path, *, warnings_ok: bool = False) -> dict[str, str]:
    """The explicitly set parameters of main.cf. Raises on a syntax error *and* on any warning, because
    `postconf` exits 0 for a misspelled parameter name, which Postfix then silently ignores. `warnings_ok`:
    only for showing what runs (a hand edit with such a name must not make the page fail)."""
    result = _run([_bin("postconf"), "-c", _dir(config_dir), "-n"])
    complaints = _complaints(result.stderr)
    if result.returncode != 0 or (complaints and not warnings_ok):
        detail = "; ".join(complaints) or result.stderr.strip() or f"exit {result.returncode}"
        raise PostfixError(f"postconf -n in {config_dir}: {detail}")
    return _parameters(result.stdout)


def postconf_values(config_dir: str | Path, names: list[str], *, expand: bool = False) -> dict[str, str]:
    """Several parameters' values as Postfix uses them (set or default) in one run, for showing; `expand`:
    with every `$name` replaced by its value (`postconf -x`), as smtpd sees the restriction lists. Warnings
    about other parameters (a hand edit) do not stop it; a failure does."""
    if not names or not all(re.fullmatch(r"[a-z0-9_]{1,100}", n) for n in names):
        raise PostfixError(f"not parameter names: {names!r}")
    argv = [_bin("postconf"), "-c", _dir(config_dir), *(["-x"] if expand else []), *names]
    result = _run(argv)
    if result.returncode != 0:
        raise PostfixError(f"postconf {' '.join(names)} failed: {result.stderr.strip()}")
    return _parameters(result.stdout)


def master_services(config_dir: str | Path) -> set[str]:
    """The names of master.cf's `unix` services (`postconf -M`): what a transport name may be, e.g. in a
    FILTER action or content_filter."""
    result = _run([_bin("postconf"), "-c", _dir(config_dir), "-M"])
    if result.returncode != 0:
        raise PostfixError(f"postconf -M failed in {config_dir}: {result.stderr.strip()}")
    names = set()
    for line in result.stdout.splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[1] == "unix":
            names.add(fields[0])
    return names


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


def pcre_lookup(
    lines: list[str], table: str | Path, config_dir: str | Path
) -> tuple[dict[str, str], list[str]]:
    """Look each of `lines` up in the `pcre:` table file `table` (one postmap run, `-q -`): the lines that
    matched with the table's answer, and postmap's warnings. A pattern PCRE cannot compile, or one that hits
    its match limit, is only a warning (postmap skips the rule and goes on), so the caller reads them."""
    path = _dir(table)
    if any(ch in line for line in lines for ch in "\n\r\0"):
        raise PostfixError("a lookup line must not contain a newline or NUL")
    result = _run(
        [_bin("postmap"), "-c", _dir(config_dir), "-q", "-", f"pcre:{path}"],
        timeout=30,
        stdin="".join(f"{line}\n" for line in lines),
    )
    if result.returncode not in (0, 1):
        raise PostfixError(f"postmap -q - pcre:{path}: exit {result.returncode} {result.stderr.strip()}")
    found: dict[str, str] = {}
    for line in result.stdout.splitlines():
        key, sep, value = line.rpartition("\t")  # the value has no tab (checks.py refuses one)
        if sep:
            found.setdefault(key, value)
    return found, _complaints(result.stderr)
