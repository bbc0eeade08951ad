"""The batcher's unit: what arrived since the last flush, in arrival order.

Rows (tuples from the hot path) and column chunks (batched payloads decoded straight to
:class:`~millwright.core.storage.ReadingColumns`) are kept as they came and become one set of
columns once, on the writer thread.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ingest.records import DeadLetter, MachineEvent, StatusChange
from ingest.rows import Callback, Row
from millwright.core.storage import ReadingColumns

__all__ = ["Batch", "rows_to_columns"]


@dataclass
class Batch:
    """What arrived since the last flush, in arrival order."""

    rows: list[Row] = field(default_factory=list)
    chunks: list[tuple[int, ReadingColumns]] = field(default_factory=list)  # (rows before, cols)
    runs: list[tuple[str, int]] = field(default_factory=list)  # (source, first reading index)
    refs: list[tuple[int, str | None]] = field(default_factory=list)  # (first index, message)
    callbacks: list[Callback] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    events: list[MachineEvent] = field(default_factory=list)  # ride with the readings, so
    statuses: list[StatusChange] = field(default_factory=list)  # acks wait for them too
    size: int = 0
    started: float = 0.0
    retried: bool = False  # came back from the held queue: re-hold at the front

    @property
    def has_work(self) -> bool:
        return bool(
            self.size or self.dead_letters or self.callbacks or self.events or self.statuses
        )

    @property
    def is_empty(self) -> bool:
        """Nothing to write yet (the flush clock starts with the first item)."""
        return not (self.size or self.dead_letters or self.events or self.statuses)

    def note_source(self, source: str, n: int, ref: str | None = None) -> None:
        if not self.runs or self.runs[-1][0] != source:
            self.runs.append((source, self.size))
        if (self.refs[-1][1] if self.refs else None) != ref:
            self.refs.append((self.size, ref))
        self.size += n

    def origin(self, index: int) -> tuple[str, str | None]:
        """(source, message reference such as the MQTT topic) of reading ``index``."""
        i = bisect.bisect_right([start for _, start in self.runs], index) - 1
        source = self.runs[i][0] if i >= 0 else "buffer"
        j = bisect.bisect_right([start for start, _ in self.refs], index) - 1
        return source, (self.refs[j][1] if j >= 0 else None)

    def meta(self) -> dict[str, object]:
        """Where the readings came from, kept with the batch in the buffer."""
        return {"runs": self.runs, "refs": self.refs}

    @classmethod
    def from_meta(cls, meta: dict[str, Any], size: int) -> Batch:
        """A replayed batch's origins (batches buffered by older versions: source 'buffer')."""
        batch = cls(size=size)
        try:
            batch.runs = [(str(s), int(b)) for s, b in meta.get("runs", [])]
            batch.refs = [(int(b), None if r is None else str(r)) for b, r in meta.get("refs", [])]
        except (TypeError, ValueError):
            batch.runs, batch.refs = [], []
        if not batch.runs:
            batch.runs = [("buffer", 0)]
        return batch

    def source_ranges(self) -> dict[str, list[tuple[int, int]]]:
        """source → its [start, end) ranges in the batch's reading order."""
        out: dict[str, list[tuple[int, int]]] = {}
        for i, (source, start) in enumerate(self.runs):
            end = self.runs[i + 1][1] if i + 1 < len(self.runs) else self.size
            if end > start:
                out.setdefault(source, []).append((start, end))
        return out

    def source_of(self, index: int) -> str:
        """The source that submitted reading `index` of the batch."""
        return self.origin(index)[0]

    def columns(self) -> ReadingColumns:
        if not self.chunks:
            return rows_to_columns(self.rows)
        return _merge_in_order(self.rows, self.chunks)


def rows_to_columns(rows: Sequence[Row]) -> ReadingColumns:
    if not rows:
        return ReadingColumns(
            np.empty(0, dtype=object),
            np.empty(0, dtype=object),
            np.empty(0, dtype="datetime64[us]"),
            np.empty(0, dtype=np.float64),
            np.empty(0, dtype=np.int16),
        )
    machine, sensor, ts, value, quality = zip(*rows, strict=True)
    return ReadingColumns(
        machine=np.array(machine, dtype=object),
        sensor=np.array(sensor, dtype=object),
        ts=np.array(ts, dtype=np.int64).view("datetime64[us]"),
        value=np.array(value, dtype=np.float64),
        quality=np.array(quality, dtype=np.int16),
    )


def _concat(parts: Sequence[ReadingColumns]) -> ReadingColumns:
    if len(parts) == 1:
        return parts[0]
    naive = None
    if any(p.naive is not None for p in parts):
        naive = np.concatenate(
            [p.naive if p.naive is not None else np.zeros(len(p), dtype=bool) for p in parts]
        )
    return ReadingColumns(
        machine=np.concatenate([p.machine for p in parts]),
        sensor=np.concatenate([p.sensor for p in parts]),
        ts=np.concatenate([p.ts.astype("datetime64[us]", copy=False) for p in parts]),
        value=np.concatenate([p.value.astype(np.float64, copy=False) for p in parts]),
        quality=np.concatenate([p.quality.astype(np.int16, copy=False) for p in parts]),
        naive=naive,
    )


def _merge_in_order(rows: list[Row], chunks: list[tuple[int, ReadingColumns]]) -> ReadingColumns:
    """Rows and column chunks back in arrival order (``offset`` = rows before the chunk)."""
    parts: list[ReadingColumns] = []
    pos = 0
    for offset, chunk in chunks:
        if offset > pos:
            parts.append(rows_to_columns(rows[pos:offset]))
            pos = offset
        parts.append(chunk)
    if pos < len(rows):
        parts.append(rows_to_columns(rows[pos:]))
    return _concat(parts)
