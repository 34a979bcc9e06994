"""Mailboxes read ahead in threads come out in order, each whole, with bounded memory; an error reaches the
caller with its mailbox, and a caller that stops early stops the readers."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from backup.prefetch import ordered


def test_items_come_out_in_order_each_whole() -> None:
    def produce(n: int) -> Iterator[bytes]:
        time.sleep(0.01 * (5 - n % 5))  # later items finish first
        for k in range(n):
            yield f"{n}:{k}".encode()

    out = [(n, list(values)) for n, values in ordered(range(12), produce, size=len, workers=3)]
    assert [n for n, _ in out] == list(range(12))
    assert all(values == [f"{n}:{k}".encode() for k in range(n)] for n, values in out)


def test_readers_hold_at_most_the_limit() -> None:
    held: list[int] = []
    made = [0]

    def produce(_n: int) -> Iterator[bytes]:
        for _ in range(50):
            made[0] += 1
            yield b"x" * 1000

    pairs = ordered(range(3), produce, size=len, workers=3, limit=5000)
    first, values = next(pairs)
    time.sleep(0.3)  # the readers run ahead as far as their queues let them
    held.append(made[0])
    assert held[0] <= 3 * 6 + 1  # five items of 1000 bytes (and the one waiting to go in) per reader
    assert len(list(values)) == 50
    assert [len(list(v)) for _, v in pairs] == [50, 50]


def test_an_error_comes_out_with_its_item_and_the_rest_go_on() -> None:
    def produce(n: int) -> Iterator[int]:
        yield n
        if n == 1:
            raise LookupError("no mailbox")

    seen: list[list[object]] = []
    for _n, values in ordered(range(3), produce, size=lambda v: 1, workers=2):
        try:
            seen.append(list(values))
        except LookupError:
            seen.append(["error"])
    assert seen == [[0], ["error"], [2]]


def test_a_caller_that_stops_stops_the_readers() -> None:
    def produce(_n: int) -> Iterator[bytes]:
        while True:
            yield b"x" * 100

    before = threading.active_count()
    pairs = ordered(range(5), produce, size=len, workers=3, limit=1000)
    with pytest.raises(RuntimeError):
        for _n, values in pairs:
            next(values)
            raise RuntimeError("cancelled")
    pairs.close()
    deadline = time.monotonic() + 5
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert threading.active_count() == before
