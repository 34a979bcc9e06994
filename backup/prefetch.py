"""Reading several mailboxes at once while the archive is written in order.

A mail backup spends most of its time waiting for Cyrus's answers (a login, a LIST, a FETCH per batch), one
mailbox after the other. `ordered` lets a few threads read the next mailboxes ahead, each into its own queue
bounded by bytes, while the caller takes the mailboxes strictly in order — so the file still holds each
mailbox's members together (its listing first), which the restore relies on. Memory stays bounded: each
reader holds at most QUEUE_BYTES of messages beyond the one it is fetching.

The readers touch IMAP only (no database); everything else (progress, log, Cancel) stays in the caller's
thread. If the caller stops early (an error, a Cancel), the readers stop at their next message.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")
I = TypeVar("I")  # noqa: E741
QUEUE_BYTES = 8 * 1024 * 1024


class _Stopped(Exception):
    pass


@dataclass
class _Queue(Generic[T]):
    """A queue that holds at most `limit` bytes (one item larger than that is let through alone)."""

    limit: int
    stop: threading.Event
    items: deque[tuple[str, T | BaseException | None, int]] = field(default_factory=deque)
    held: int = 0
    cond: threading.Condition = field(default_factory=threading.Condition)

    def put(self, kind: str, value: T | BaseException | None, size: int) -> None:
        with self.cond:
            while self.items and self.held + size > self.limit:
                if self.stop.is_set():
                    raise _Stopped
                self.cond.wait(timeout=0.2)
            self.items.append((kind, value, size))
            self.held += size
            self.cond.notify_all()

    def get(self) -> tuple[str, T | BaseException | None]:
        with self.cond:
            while not self.items:
                self.cond.wait(timeout=0.2)
            kind, value, size = self.items.popleft()
            self.held -= size
            self.cond.notify_all()
            return kind, value


def ordered(
    items: Iterable[I],
    produce: Callable[[I], Iterable[T]],
    *,
    size: Callable[[T], int],
    workers: int = 3,
    limit: int = QUEUE_BYTES,
) -> Generator[tuple[I, Iterator[T]], None, None]:
    """For each item, in order: (item, what `produce(item)` yields). Up to `workers` items are produced at
    once in threads. Each inner iterator must be used up before the next pair is taken; an exception of
    `produce` comes out of its inner iterator."""
    stop = threading.Event()

    def run(item: I, queue: _Queue[T]) -> None:
        try:
            for value in produce(item):
                if stop.is_set():
                    return
                queue.put("item", value, size(value))
            queue.put("end", None, 0)
        except _Stopped:
            return
        except BaseException as exc:  # handed to the caller's thread, raised there
            try:
                queue.put("error", exc, 0)
            except _Stopped:
                return

    def drain(queue: _Queue[T]) -> Iterator[T]:
        while True:
            kind, value = queue.get()
            if kind == "end":
                return
            if kind == "error":
                raise value  # type: ignore[misc]
            yield value  # type: ignore[misc]

    source = iter(items)
    pending: deque[tuple[I, _Queue[T]]] = deque()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="backup-read") as pool:

        def submit() -> None:
            for item in source:
                queue: _Queue[T] = _Queue(limit, stop)
                pool.submit(run, item, queue)
                pending.append((item, queue))
                return

        try:
            for _ in range(workers):
                submit()
            while pending:
                item, queue = pending.popleft()
                yield item, drain(queue)
                submit()
        finally:
            stop.set()
