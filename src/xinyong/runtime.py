"""Process tuning for bulk work, kept out of the domain code: how the interpreter, the C
allocator, SQLite's page cache and a worker thread are set while a large import runs, and
the switches only benchmarks turn.

Nothing here changes what is computed, only how fast and in how much memory. The domain
code (``records.ingest``) asks for these by name; the benchmarks (bench/*.py) flip the
module-level switches below, which are not settings: no deployment should turn them.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import queue
import sys
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

from sqlalchemy import text
from sqlalchemy.orm import Session

from xinyong.db import is_postgres

# -- benchmark-only switches -----------------------------------------------------------------

# Off for profiling (bench/import_bench.py): cProfile sees only the thread it was started
# in, so ``in_background`` then produces in the caller's thread.
IN_BACKGROUND = True
# Off only to measure the audit trail's cost: bench/audit_bench.py flips it in process; a
# benchmarked server is started with XINYONG_BENCH_AUDIT_OFF=1 (docs/benchmarks.md). Never
# in service, and not a setting.
AUDIT_ENABLED = os.environ.get("XINYONG_BENCH_AUDIT_OFF") != "1"

_T = TypeVar("_T")


# -- the C allocator -------------------------------------------------------------------------


def _load_malloc_trim() -> Callable[[int], int] | None:
    if sys.platform != "linux":
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
        trim: Callable[[int], int] = libc.malloc_trim
    except (OSError, AttributeError):  # not glibc (e.g. musl)
        return None
    return trim


_malloc_trim = _load_malloc_trim()


def return_freed_memory() -> None:
    """Give the memory a finished chunk freed back to the system (glibc keeps freed blocks
    in its arenas, so an import's resident size would stay at its high-water mark)."""
    if _malloc_trim is not None:
        _malloc_trim(0)


# -- the cyclic garbage collector ------------------------------------------------------------

_gc_lock = threading.Lock()
_gc_depth = 0
_gc_saved: list[int] = []


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """Rarer cyclic garbage collection while importing (nested and threads: the outermost
    restores the thresholds).

    A chunk holds hundreds of thousands of small acyclic objects (cells, rows, records);
    with the default thresholds the collector walks them all again and again, which cost
    a third of the validation time. Reference counting frees them as before.

    The objects alive when the import starts (modules, the ORM's metadata, the catalog:
    most of the heap) are frozen for its duration: no collection walks them again (a
    tenth of an import's CPU went to walking them). They return to the oldest generation
    afterwards.
    """
    global _gc_depth
    with _gc_lock:
        if _gc_depth == 0:
            _gc_saved[:] = gc.get_threshold()
            gc.set_threshold(100_000, 50, 1000)
            gc.freeze()
        _gc_depth += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_depth -= 1
            if _gc_depth == 0:
                gc.unfreeze()
                gc.set_threshold(*_gc_saved)


# -- SQLite's page cache ---------------------------------------------------------------------

IMPORT_SQLITE_CACHE_KIB = 16 * 1024


@contextlib.contextmanager
def small_sqlite_cache(session: Session) -> Iterator[None]:
    """A smaller SQLite page cache while importing: an import touches every page once, and
    a full cache (64 MiB) would be a fifth of the import's memory budget. PostgreSQL: as is."""
    if is_postgres(session):
        yield
        return
    saved = session.execute(text("PRAGMA cache_size")).scalar()
    session.execute(text(f"PRAGMA cache_size = -{IMPORT_SQLITE_CACHE_KIB}"))
    try:
        yield
    finally:
        session.execute(text(f"PRAGMA cache_size = {int(saved or -2000)}"))


# -- a producer thread -----------------------------------------------------------------------


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


_DONE = object()


@contextlib.contextmanager
def in_background(items: Iterator[_T], name: str = "xinyong-worker") -> Iterator[Iterator[_T]]:
    """Produce the next item in a thread while the caller works on this one.

    For pure-Python production (validating a chunk) beside work that mostly waits on the
    database. Items still reach the caller one by one, in order, in the caller's thread.
    At most two items are alive (one handed over, one being produced), so memory stays
    bounded. An exception in the producer is raised in the caller's thread.
    """
    handoff: queue.Queue[object] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def put(item: object) -> bool:
        """Hand one item over and wait until it is taken, so that at most two items are
        alive at any time: the one in the caller's hands and the one produced next."""
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.1)
            except queue.Full:
                continue
            while handoff.unfinished_tasks and not stop.is_set():
                with handoff.all_tasks_done:
                    handoff.all_tasks_done.wait(0.1)
            return not stop.is_set()
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_DONE)
        except BaseException as exc:  # handed to the caller's thread
            put(_Failed(exc))

    if not IN_BACKGROUND:
        yield items
        return
    worker = threading.Thread(target=produce, name=name, daemon=True)

    def consume() -> Iterator[_T]:
        while True:
            item = handoff.get()
            handoff.task_done()
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item  # type: ignore[misc]

    worker.start()
    try:
        yield consume()
    finally:
        stop.set()
        worker.join()
        close = getattr(items, "close", None)
        if close is not None:
            close()
