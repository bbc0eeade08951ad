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

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from ingest.batch import Batch
from ingest.dead_letters import DeadLetterSink, printable
from ingest.metrics import CollectorMetrics
from ingest.records import DeadLetter, MachineEvent, StatusChange
from ingest.sink import ReadingSink
from millwright.core.storage import (
    DatabaseUnavailable,
    DataRejected,
    ReadingColumns,
    Rejection,
    WriteResult,
)

__all__ = ["GuardedWriter", "Isolated", "reason_of", "slice_columns", "write_isolating"]

log = logging.getLogger(__name__)

_MAX_REJECTED_SAMPLE = 50

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


class GuardedWriter:
    """Writes a batch's readings, dead letters, events and status changes so that nothing the
    database refuses for a data reason can stop the batch: refused readings are isolated
    (:func:`write_isolating`) and dead-lettered with their source, message reference and the
    database's reason; a refused event or status change is dead-lettered; a refused dead
    letter (its text is made storable first, so this should not happen) is logged and
    dropped. Only :class:`DatabaseUnavailable` propagates — that is the buffer's business.

    Shared by the live write path (:mod:`ingest.pipeline`) and buffer replay
    (:mod:`ingest.replay`), so both follow one rule.
    """

    def __init__(self, sink: ReadingSink, dead_letters: DeadLetterSink, metrics: CollectorMetrics):
        self.sink = sink
        self.dead_sink = dead_letters
        self.metrics = metrics

    def readings(self, batch: Batch, columns: ReadingColumns) -> WriteResult:
        if not len(columns):
            return WriteResult(0, 0)
        isolated = write_isolating(self.sink.write, columns)
        if isolated.refused:
            self.letters(self._refused_letters(batch, columns, isolated.refused))
        return isolated.result

    def _refused_letters(
        self, batch: Batch, columns: ReadingColumns, refused: list[Rejection]
    ) -> list[DeadLetter]:
        self.metrics.quarantined.inc(len(refused))
        now = datetime.now(UTC)
        letters = []
        for rejection in refused:
            i = rejection.index
            source, ref = batch.origin(i)
            row = {
                "machine": printable(str(columns.machine[i]), 300),
                "sensor": printable(str(columns.sensor[i]), 300),
                "ts": str(columns.ts[i]),
                "value": float(columns.value[i]),
                "quality": int(columns.quality[i]),
            }
            reason = printable(f"database refused the reading: {rejection.reason}")
            letters.append(
                DeadLetter(source, printable(ref), json.dumps(row).encode(), reason or "", now)
            )
            self.metrics.dead_lettered.labels(source).inc()
        return letters

    def letters(self, letters: Sequence[DeadLetter]) -> None:
        if not letters:
            return
        try:
            self.dead_sink.write(letters)
            return
        except DatabaseUnavailable:
            raise
        except Exception as exc:
            log.warning("the database refused a set of dead letters (%s); one by one", exc)
        for letter in letters:
            try:
                self.dead_sink.write([letter])
            except DatabaseUnavailable:
                raise
            except Exception as exc:
                log.error(
                    "dropped a dead letter from %s the database refused (%s): %s",
                    letter.source,
                    reason_of(exc),
                    printable(letter.reason, 200),
                )

    def side(self, events: Sequence[MachineEvent], statuses: Sequence[StatusChange]) -> None:
        if not events and not statuses:
            return
        try:
            self.sink.record_events(events)
            self.sink.set_statuses(statuses)
            return
        except DatabaseUnavailable:
            raise
        except Exception as exc:
            log.warning("the database refused machine events (%s); isolating them", exc)
        refused: list[DeadLetter] = []
        for event in events:
            try:
                self.sink.record_events([event])
            except DatabaseUnavailable:
                raise
            except Exception as exc:
                refused.append(self._side_letter(event.source, event.machine, event.kind, exc))
        for change in statuses:
            try:
                self.sink.set_statuses([change])
            except DatabaseUnavailable:
                raise
            except Exception as exc:
                refused.append(self._side_letter("ingest", change.machine, change.status, exc))
        self.letters(refused)

    def _side_letter(self, source: str, machine: str, what: str, exc: Exception) -> DeadLetter:
        self.metrics.dead_lettered.labels(source).inc()
        payload = json.dumps({"machine": printable(machine, 300), "record": what}).encode()
        reason = printable(f"database refused the {what} record: {reason_of(exc)}") or what
        return DeadLetter(source, None, payload, reason, datetime.now(UTC))

    def rejections(self, batch: Batch, columns: ReadingColumns, result: WriteResult) -> None:
        """Readings the writer refused (e.g. timestamps far in the future) become one dead
        letter per (source, reason) with a sample of the rows, not one per reading."""
        self.metrics.rejected.inc(len(result.rejected))
        grouped: dict[tuple[str, str], list[int]] = {}
        for rejection in result.rejected:
            source = batch.source_of(rejection.index)
            grouped.setdefault((source, rejection.reason), []).append(rejection.index)
        letters = []
        for (source, reason), indices in grouped.items():
            sample = [
                {
                    "machine": printable(str(columns.machine[i]), 300),
                    "sensor": printable(str(columns.sensor[i]), 300),
                    "ts": str(columns.ts[i]),
                    "value": float(columns.value[i]),
                }
                for i in indices[:_MAX_REJECTED_SAMPLE]
            ]
            payload = json.dumps({"rejected": len(indices), "sample": sample}).encode()
            letters.append(
                DeadLetter(source, None, payload, f"writer rejected: {reason}", datetime.now(UTC))
            )
            self.metrics.dead_lettered.labels(source).inc()
        self.letters(letters)
