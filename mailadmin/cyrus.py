"""Cyrus command-line tools (everything that is not IMAP; IMAP lives in mailadmin/imap/)."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mailadmin.directory.names import InvalidName, check_login

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


# --- mailbox maintenance: reconstruct, quota -f, ctl_cyrusdb -r, ctl_mboxlist -d, mbpath -------------------
# The console's Cyrus runs with `unixhierarchysep: yes` (mailadmin/configfiles/cyrus.py), so the tools take
# and print mailbox names in the form IMAP shows them: `user/jane`, `user/jane/Sent`, `shared/support`.
# Internally (mailboxes.db, the tools' messages) the same mailbox is `user.jane.Sent`, with a dot in a name
# written as `^` (`user/j.doe` is `user.j^doe`). `user.jane` on the command line is a different (top-level)
# name that does not exist: reconstruct then prints nothing and exits 0. The allow-list below refuses it.
RECONSTRUCT_TIMEOUT = 3600.0  # one big mailbox tree may take long; a hung tool must not hold a job forever
TOOL_TIMEOUT = 600.0
MAX_MAILBOX_NAME = 490
USER_PREFIX = "user/"
_NAME_FORBIDDEN = frozenset('%*"\\')
_OUTCOME_DETAIL_LINES = 20


class CyrusNameRefused(CyrusError):
    """A mailbox name the allow-list refuses; nothing was run."""


def check_mailbox(name: str) -> str:
    """A mailbox name safe to hand to a Cyrus tool as one argument: `user/<login>[/<folder>...]` or a shared
    folder's path, `/`-separated, printable, no wildcard (reconstruct treats `*` and `%` as patterns), no
    leading `-` (it would be read as an option), not the whole `user` tree, not the internal dotted form."""
    if not isinstance(name, str) or not name or len(name) > MAX_MAILBOX_NAME:
        raise CyrusNameRefused(f"A mailbox name is 1 to {MAX_MAILBOX_NAME} characters.")
    parts = name.split("/")
    bad = (
        name.startswith("-")
        or not name.isprintable()
        or any(ch in _NAME_FORBIDDEN for ch in name)
        or any(not part or part != part.strip() or part in (".", "..") for part in parts)
    )
    if bad:
        raise CyrusNameRefused(
            f"{name!r} is not a mailbox name: '/'-separated printable names without % * \\ or quotes, "
            "not starting with '-'."
        )
    if parts[0] == "user":
        if len(parts) < 2:
            raise CyrusNameRefused("Name a user's mailbox (user/<login>), not the whole user tree.")
        try:
            check_login(parts[1])
        except InvalidName as exc:
            raise CyrusNameRefused(f"{name!r}: {parts[1]!r} is not a login name.") from exc
    elif parts[0].lower().startswith("user."):
        raise CyrusNameRefused(f"{name!r}: this server names a user's mailbox user/<login>, with a slash.")
    return name


def _tool(
    bin_dir: str | Path, tool: str, args: Sequence[str], *, timeout: float
) -> subprocess.CompletedProcess[str]:
    """Run one Cyrus tool (argv, no shell). Started as root the tools switch to the cyrus user themselves."""
    argv = [str(Path(bin_dir) / tool), *args]
    try:
        result = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise CyrusError(f"{tool} did not finish within {timeout:.0f} s") from exc
    except OSError as exc:
        raise CyrusError(f"{tool}: {exc}") from exc
    if result.returncode != 0:
        said = " ".join((result.stderr.strip() or result.stdout.strip())[-2000:].split())
        raise CyrusError(f"{tool} failed (exit {result.returncode}): {said or 'no message'}")
    return result


def _lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    # stdout first, then stderr: two pipes, so their relative order is lost anyway; every line a tool
    # writes about a mailbox names it, which is what the parsers below go by.
    return [line for line in (result.stdout + "\n" + result.stderr).splitlines() if line.strip()]


def reconstruct(
    imapd_conf: str | Path,
    mailboxes: Sequence[str],
    *,
    recursive: bool = True,
    bin_dir: str | Path = DEFAULT_BIN_DIR,
    timeout: float = RECONSTRUCT_TIMEOUT,
) -> list[str]:
    """`reconstruct -C <conf> [-r] <mailbox>...`: rebuild the index and cache files of these mailboxes (and
    with `recursive` every folder below them) from the message files, and put them right in mailboxes.db.

    Names are the IMAP form (`user/jane`), each checked by `check_mailbox` before anything runs
    (CyrusNameRefused). Returns every line the tool printed: a folder's name when it is done, the repairs
    it made before that (naming the folder the internal way, `user.jane.Sent: ...`), and for a folder it
    could not rebuild an error line without its name line after; `reconstruct_outcomes` reads them.
    A name that is no mailbox prints nothing. CyrusError when the tool cannot run or exits non-zero.
    Cyrus may run meanwhile: reconstruct locks each mailbox while it works on it.
    """
    names = [check_mailbox(name) for name in mailboxes]
    if not names:
        raise CyrusNameRefused("Name at least one mailbox to reconstruct.")
    args = ["-C", str(imapd_conf), *(["-r"] if recursive else []), *names]
    return _lines(_tool(bin_dir, "reconstruct", args, timeout=timeout))


def quota_fix(
    imapd_conf: str | Path,
    roots: Sequence[str],
    *,
    bin_dir: str | Path = DEFAULT_BIN_DIR,
    timeout: float = TOOL_TIMEOUT,
) -> list[str]:
    """`quota -C <conf> -f <root>...`: count the usage of these quota roots again from the mailboxes (after
    a reconstruct the stored usage may be wrong). Returns the report lines without the table header; a
    root without a quota prints no row."""
    names = [check_mailbox(name) for name in roots]
    if not names:
        raise CyrusNameRefused("Name at least one quota root.")
    lines = _lines(_tool(bin_dir, "quota", ["-C", str(imapd_conf), "-f", *names], timeout=timeout))
    return [line for line in lines if line.split()[:3] != ["Quota", "%", "Used"]]


def recover_databases(
    imapd_conf: str | Path, *, bin_dir: str | Path = DEFAULT_BIN_DIR, timeout: float = TOOL_TIMEOUT
) -> list[str]:
    """`ctl_cyrusdb -C <conf> -r`: recover Cyrus's databases (mailboxes.db, the seen and subscription
    files, ...) after a crash. Only while Cyrus is stopped: its services hold the databases open."""
    return _lines(_tool(bin_dir, "ctl_cyrusdb", ["-C", str(imapd_conf), "-r"], timeout=timeout))


def external_name(internal: str) -> str:
    """`user.j^doe.Sent` -> `user/j.doe/Sent` (this server's unixhierarchysep form)."""
    return "/".join(part.replace("^", ".") for part in internal.split("."))


def mailbox_names(
    imapd_conf: str | Path, *, bin_dir: str | Path = DEFAULT_BIN_DIR, timeout: float = TOOL_TIMEOUT
) -> list[str]:
    """Every live mailbox in mailboxes.db (`ctl_mboxlist -d`), IMAP form, sorted. Deleted ones (kept as
    tombstones), intermediate, remote and reserved entries are left out: there is nothing to rebuild."""
    out = _tool(bin_dir, "ctl_mboxlist", ["-C", str(imapd_conf), "-d"], timeout=timeout).stdout
    try:
        entries = json.loads(out or "{}")
    except ValueError as exc:
        raise CyrusError(f"ctl_mboxlist -d printed something that is not the expected list: {exc}") from exc
    if not isinstance(entries, dict):
        raise CyrusError("ctl_mboxlist -d printed something that is not the expected list.")
    names = []
    for internal, entry in entries.items():
        mbtype = str(entry.get("mbtype", "e")) if isinstance(entry, dict) else "e"
        if not set(mbtype) & set("dimrR"):
            names.append(external_name(str(internal)))
    return sorted(names)


def mailbox_root(name: str) -> str:
    """The top of the tree a mailbox belongs to: `user/jane` for `user/jane/Sent`, `shared` for
    `shared/support` (what one `reconstruct -r` and one quota root cover)."""
    parts = name.split("/")
    return "/".join(parts[:2]) if parts[0] == "user" and len(parts) > 1 else parts[0]


def mailbox_path(
    imapd_conf: str | Path, mailbox: str, *, bin_dir: str | Path = DEFAULT_BIN_DIR, timeout: float = 60
) -> Path:
    """The directory holding a mailbox's files (`mbpath`): its messages, cyrus.index, cyrus.header, ..."""
    result = _tool(bin_dir, "mbpath", ["-C", str(imapd_conf), check_mailbox(mailbox)], timeout=timeout)
    path = result.stdout.strip()
    if not path.startswith("/"):
        raise CyrusError(f"mbpath {mailbox}: {' '.join((result.stderr or path).split()) or 'no path'}")
    return Path(path)


@dataclass(frozen=True)
class FolderOutcome:
    """What reconstruct did to one folder: `ok` (nothing to mend), `repaired` (the lines say what), `failed`
    (the lines say why) or `missing` (there is no such mailbox)."""

    folder: str
    outcome: str
    lines: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {"folder": self.folder, "outcome": self.outcome, "lines": list(self.lines)}


def reconstruct_outcomes(root: str, lines: Sequence[str]) -> list[FolderOutcome]:
    """Read what `reconstruct -r <root>` printed into one outcome per folder, in the order it went.

    A line that is the root or a folder below it in IMAP form marks that folder done. Every other line is
    about the folder whose internal name it holds (the longest match, so `user.jane.Sent Items` is not
    taken for `user.jane.Sent`); the folders are the done ones and those an error line (`<internal name>:
    ...`) names. A done folder with such lines was repaired; a folder with lines and no done mark was not
    rebuilt (reconstruct reports it and goes on). Lines naming no folder stay with the root. Nothing
    printed at all: the root is no mailbox."""
    done: list[str] = []
    messages: list[str] = []
    for line in lines:
        text = line.rstrip()
        if text == root or text.startswith(root + "/"):
            if text not in done:
                done.append(text)
        else:
            messages.append(text)
    root_internal = _internal_name(root)
    internal_of = {name: _internal_name(name) for name in done}
    for text in messages:
        head, sep, _rest = text.partition(": ")
        if sep and (head == root_internal or head.startswith(root_internal + ".")):
            internal_of.setdefault(external_name(head), head)
    said: dict[str, list[str]] = {name: [] for name in done}
    order = list(done)
    for text in messages:
        folder = _folder_named(text, internal_of) or root
        if folder not in said:
            said[folder] = []
            order.append(folder)
        said[folder].append(text)
    if not order:
        return [FolderOutcome(root, "missing")]
    outcomes = []
    for folder in order:
        kept = tuple(said[folder][:_OUTCOME_DETAIL_LINES])
        if folder not in done:
            outcomes.append(FolderOutcome(folder, "failed", kept))
        else:
            outcomes.append(FolderOutcome(folder, "repaired" if kept else "ok", kept))
    return outcomes


def _internal_name(name: str) -> str:
    return ".".join(part.replace(".", "^") for part in name.split("/"))


def _folder_named(text: str, internal_of: dict[str, str]) -> str:
    """The folder whose internal name the line holds as a word of its own (the longest such name); "" when
    none."""
    best, best_len = "", -1
    for folder, internal in internal_of.items():
        for match in re.finditer(re.escape(internal), text):
            start, end = match.span()
            bounded = (start == 0 or text[start - 1] in " (") and (end == len(text) or text[end] in " :(),")
            if bounded and len(internal) > best_len:
                best, best_len = folder, len(internal)
    return best
