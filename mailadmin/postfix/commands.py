"""Running Postfix's commands: argv lists with `-c CONFIG_DIR`, output read from temp files, complaints
found in what Postfix prints (it often exits 0 after a warning)."""

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


def _run(
    argv: list[str], *, timeout: float = TIMEOUT, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Output goes through temp files, not pipes: `postfix start` leaves a background `check-warn` holding
    its stdout for seconds, and reading a pipe would wait for that helper too. `stdin`: text fed to the
    command (from a temp file as well)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as inp:
        if stdin is not None:
            inp.write(stdin.encode())
            inp.seek(0)
        try:
            proc = subprocess.run(
                argv,
                stdin=inp if stdin is not None else subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                timeout=timeout,
                check=False,
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
