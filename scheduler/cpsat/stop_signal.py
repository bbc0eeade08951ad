"""A stop signal (a worker's SIGTERM) wired into one CP-SAT solve.

CP-SAT searches in C++ threads, so the Python side cannot interrupt it by returning: a watcher
thread calls `CpSolver.stop_search()` as soon as the signal is set, and CP-SAT then returns its
best solution exactly as it does at its time limit.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from ortools.sat.python import cp_model

POLL_S = 0.05  # how often the watcher looks at the signal: the stop's latency


@contextmanager
def stopping(solver: cp_model.CpSolver, stop: threading.Event | None) -> Iterator[None]:
    """While the block runs, `stop` being set stops `solver`'s search."""
    if stop is None:
        yield
        return
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            if stop.wait(POLL_S):
                solver.stop_search()
                return

    watcher = threading.Thread(target=watch, name="cpsat-stop", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        watcher.join()
