"""Isolating the rows a database refuses, so one bad row never stops the rows around it.

A batch write that fails with :class:`~millwright.core.storage.DataRejected` (SQLSTATE
classes 22, 23, 54, a NUL byte, a lone surrogate, ...) is bisected: each half is written on
its own, and a half that fails is split again, until every refused row stands alone with the
database's reason. Good rows are committed on the way (the writer is idempotent, so a row
written twice is a no-op). With ``k`` bad rows in ``n`` the cost is about ``2·k·log2(n)``
writes — one bad row in 5,000 costs 26 — and the common case (no bad row) costs nothing.

:class:`~millwright.core.storage.DatabaseUnavailable` is never a data problem: it stops the
bisection at once and propagates, so the caller buffers the whole batch and retries later.
Any other exception is treated as a refusal of the data (a row that breaks our own code must
not block the stream either); its reason names the exception.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from millwright.core.storage import (
    DatabaseUnavailable,
    DataRejected,
    ReadingColumns,
    Rejection,
    WriteResult,
)

__all__ = ["Isolated", "slice_columns", "write_isolating"]

log = logging.getLogger(__name__)

Write = Callable[[ReadingColumns], WriteResult]


@dataclass(frozen=True)
class Isolated:
    """What a bisected write did: the combined result and the rows the database refused."""

    result: WriteResult  # rejected: the writer's own rejections, indices into the whole batch
    refused: list[Rejection]  # rows the database refused, indices into the whole batch
    writes: int  # write calls made (1 when nothing was refused)


def slice_columns(columns: ReadingColumns, start: int, end: int) -> ReadingColumns:
    sl = slice(start, end)
    return ReadingColumns(
        columns.machine[sl],
        columns.sensor[sl],
        columns.ts[sl],
        columns.value[sl],
        columns.quality[sl],
        None if columns.naive is None else columns.naive[sl],
    )


def reason_of(exc: BaseException) -> str:
    """One line saying why a write was refused."""
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    if isinstance(exc, DataRejected):
        return first or "the database refused the row"
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def write_isolating(write: Write, columns: ReadingColumns) -> Isolated:
    """Write ``columns``; on a data refusal, bisect until the refused rows are isolated."""
    n = len(columns)
    if n == 0:
        return Isolated(WriteResult(0, 0), [], 0)
    inserted = 0
    rejected: list[Rejection] = []
    refused: list[Rejection] = []
    writes = 0
    pending = [(0, n)]
    while pending:
        start, end = pending.pop()
        part = columns if (start, end) == (0, n) else slice_columns(columns, start, end)
        writes += 1
        try:
            result = write(part)
        except DatabaseUnavailable:
            raise
        except Exception as exc:
            if end - start == 1:
                refused.append(Rejection(start, reason_of(exc)))
                continue
            if (start, end) == (0, n):
                log.warning(
                    "the database refused a batch of %d readings (%s); isolating the rows",
                    n,
                    reason_of(exc),
                )
            middle = (start + end) // 2
            pending.append((middle, end))  # popped second: rows stay in order
            pending.append((start, middle))
            continue
        inserted += result.inserted
        rejected.extend(Rejection(r.index + start, r.reason) for r in result.rejected)
        # WriteResult.duplicates = received - rejected - inserted, so received stays n
    refused.sort(key=lambda r: r.index)
    rejected.sort(key=lambda r: r.index)
    if refused:
        log.warning(
            "isolated %d of %d readings the database refused in %d writes (first: %s)",
            len(refused),
            n,
            writes,
            refused[0].reason,
        )
    return Isolated(WriteResult(n - len(refused), inserted, rejected), refused, writes)
