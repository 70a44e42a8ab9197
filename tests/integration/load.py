"""Clients that keep calling the service while a test does something to it."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator

import grpc


@contextlib.contextmanager
def clients(call: Callable[[int], object], threads: int) -> Iterator[tuple[list, list]]:
    """`threads` clients calling `call(i)` (i counting each client's calls) until the block
    ends, after a second's head start; yields (failures: the status code of each failed call,
    seen: what each successful call returned)."""
    stop, failures, seen = threading.Event(), [], []

    def client():
        i = 0
        while not stop.is_set():
            i += 1
            try:
                seen.append(call(i))
            except grpc.RpcError as e:
                failures.append(e.code())

    workers = [threading.Thread(target=client) for _ in range(threads)]
    for t in workers:
        t.start()
    try:
        time.sleep(1)
        yield failures, seen
    finally:
        stop.set()
        for t in workers:
            t.join()
