"""Daemon worker threads for the experiment's calls (targets and judges): results as they
come, and an interruption (Ctrl-C) that does not wait for the calls in flight.

A ``ThreadPoolExecutor`` would not do: leaving its ``with`` block, and the interpreter at
exit, join its threads, so an interrupted run would wait for each call in flight (and,
without ``cancel_futures``, for every call still queued) before it ends.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Generator, Sequence
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


def asked(
    items: Sequence[Item],
    ask: Callable[[Item], Result],
    workers: int,
    *,
    name: str = "watchkeeper-exp",
) -> Generator[Result, None, None]:
    """``ask(item)`` of each item in up to ``workers`` daemon threads called ``name``, the
    results as they come (an exception of ``ask`` is raised here). Closing the iterator
    stops the workers taking more items; the calls in flight are abandoned."""
    pending: queue.SimpleQueue[Item] = queue.SimpleQueue()
    for item in items:
        pending.put(item)
    finished: queue.SimpleQueue[Result | BaseException] = queue.SimpleQueue()
    stop = threading.Event()

    def work() -> None:
        while not stop.is_set():
            try:
                item = pending.get_nowait()
            except queue.Empty:
                return
            try:
                finished.put(ask(item))
            except BaseException as exc:  # handed to the caller's thread, as a pool would
                finished.put(exc)

    for _ in range(min(max(1, workers), len(items))):
        threading.Thread(target=work, name=name, daemon=True).start()
    try:
        for _ in items:
            result = finished.get()
            if isinstance(result, BaseException):
                raise result
            yield result
    finally:
        stop.set()
