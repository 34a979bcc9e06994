"""Cyrus command-line tools (everything that is not IMAP; IMAP lives in mailadmin/imap/)."""

from __future__ import annotations

import subprocess
from pathlib import Path

DEFAULT_BIN_DIR = Path("/usr/lib/cyrus/bin")


class CyrusError(Exception):
    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


def conf_lint(imapd_conf: str | Path, *, bin_dir: str | Path = DEFAULT_BIN_DIR) -> list[str]:
    """Unknown keys in an imapd.conf, one `key: value` line each (empty list when clean).

    `cyr_info conf-lint` (Cyrus 3.x) prints the unknown lines and exits 0 either way. Where the tool is
    missing (older Cyrus, not installed) the check is skipped and reports nothing, since there is nothing
    better to validate with.
    """
    tool = Path(bin_dir) / "cyr_info"
    if not tool.is_file():
        return []
    try:
        result = subprocess.run(
            [str(tool), "-C", str(imapd_conf), "conf-lint"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CyrusError(f"cyr_info conf-lint {imapd_conf}: {exc}") from exc
    if result.returncode != 0:
        raise CyrusError(
            f"cyr_info conf-lint {imapd_conf}: {result.stderr.strip() or f'exit {result.returncode}'}"
        )
    return [line for line in result.stdout.splitlines() if line.strip()]
