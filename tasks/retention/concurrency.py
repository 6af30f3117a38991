"""log-retention's bounded pool for per-object S3 requests (`retention.s3_concurrency`).

One pool per process and size, its threads reused across prefixes and runs, so the
number of S3 requests in flight from this process never exceeds the configured bound
however many prefixes are planned at once. Callers are never pool threads themselves
(prefix workers, the deleter), so waiting on the pool cannot deadlock it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

_POOLS: dict[int, ThreadPoolExecutor] = {}
_LOCK = threading.Lock()


def s3_pool(size: int) -> ThreadPoolExecutor:
    with _LOCK:
        pool = _POOLS.get(size)
        if pool is None:
            pool = _POOLS[size] = ThreadPoolExecutor(size, thread_name_prefix="retention-s3")
        return pool


def pmap(fn: Callable[[T], R], items: Sequence[T], size: int) -> list[R]:
    """fn over items with at most `size` at once; results in order.

    Every call finishes before the first error is raised, so no request of a batch is
    still in flight when the caller moves on (e.g. to its crash-safe commit point).
    """
    if size <= 1 or len(items) <= 1:
        return [fn(item) for item in items]
    futures = [s3_pool(size).submit(fn, item) for item in items]
    wait(futures)
    return [f.result() for f in futures]
