"""Which queue ids are in Postfix's queue right now, read from the queue directories themselves.

`postqueue -j` asks showq, which walks these same directories *and* opens every file to report its envelope:
at 100,000 messages that is seconds. Acting on ids someone already has (picked on a page, pasted from a log)
needs only to know that each id is still queued, which is a walk over the directory names — tens of
milliseconds at the same size (docs/decisions/0008).

The queue directories belong to the `postfix` user (mode 0700): only root (or postfix) can read them. A
process that may not gets None and the caller falls back to showq's listing.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterable
from pathlib import Path

from mailadmin import postfix

# The queues showq lists. "maildrop" names are not yet queue ids (pickup gives them one), but showq lists
# them under their file names, so the two ways agree on what "in the queue" means.
QUEUES = ("maildrop", "incoming", "active", "deferred", "hold")
_MAX_DEPTH = 16  # hash_queue_depth is at most 16 levels


@functools.lru_cache(maxsize=8)
def _queue_directory(config_dir: str) -> Path:
    return Path(postfix.postconf_h(config_dir, "queue_directory"))


def queued(config_dir: str | Path, queue_ids: Iterable[str]) -> dict[str, str] | None:
    """Those of `queue_ids` that are queued now, each mapped to its queue name; None when this process may
    not read the spool.

    Hashed queues (hash_queue_names, hash_queue_depth) keep files one or more single-character directories
    down; the walk takes whatever subdirectories it finds, so the hashing rule never has to be copied here.
    The ids are only compared with the names found (a set intersection), never joined into a path; linked
    directories are not followed.
    """
    wanted = set(queue_ids)
    found: dict[str, str] = {}
    if not wanted:
        return found
    root = _queue_directory(str(config_dir))
    for queue in QUEUES:
        try:
            _walk(root / queue, queue, wanted, found, 0)
        except PermissionError:
            return None
        except FileNotFoundError:
            continue  # a queue directory Postfix has not made yet
        if len(found) == len(wanted):
            break
    return found


def _walk(directory: Path, queue: str, wanted: set[str], found: dict[str, str], depth: int) -> None:
    names = os.listdir(directory)
    for name in wanted.intersection(names):
        found[name] = queue
    if depth >= _MAX_DEPTH:
        return
    for name in names:
        if len(name) == 1 and not (sub := directory / name).is_symlink():  # a hash directory: ids are longer
            with contextlib.suppress(NotADirectoryError, FileNotFoundError):
                _walk(sub, queue, wanted, found, depth + 1)
