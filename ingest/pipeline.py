"""The one pipeline behind every collector: batch → write → (buffer) → acknowledge.

Collectors (MQTT, OPC-UA) decode protocol messages into readings and hand them to a
:class:`Pipeline`; the pipeline owns batching, the bulk write, store-and-forward, dead
letters, machine events and status, and metrics. One pipeline per collector process, shared
by all its sources; every public method is thread-safe and cheap (it only appends to the
current batch under a lock — the database work happens on the pipeline's writer thread).

API
---
``Pipeline(sink, buffer, dead_letters, metrics, *, batch_size=5000, flush_interval_s=0.2,
max_pending_readings=200_000, retry_interval_s=2.0)``

``start()`` / ``stop(timeout=10)``
    Start the writer thread; stop flushes everything pending (to the database, or to the
    buffer when the database is down) before returning.

``submit(source, readings, on_committed=None, *, ref=None)``
    ``readings`` is a sequence of :class:`~millwright.core.storage.Reading` or a
    :class:`~millwright.core.storage.ReadingColumns`. ``on_committed`` runs exactly once, on the
    writer thread, after these readings are committed in the database *or* durably in the
    on-disk buffer — acknowledge the protocol message there (MQTT PUBACK), never earlier.
    Callbacks run in submit order. Blocks while more than ``max_pending_readings`` are in
    memory (back-pressure reaches the broker through TCP rather than growing memory).
    ``ref`` says where the readings came from (an MQTT topic, an OPC-UA endpoint): a reading
    the database refuses is dead-lettered with it.

``submit_rows(source, rows, on_committed=None, *, ref=None)``
    The hot path: ``rows`` is a list of ``(machine, sensor, ts_us, value, quality)`` tuples,
    ``ts_us`` integer microseconds since the Unix epoch (UTC). Avoids building a Reading per
    sample; the batch becomes numpy columns once, on the writer thread. (Batched payloads
    that decode straight to :class:`~millwright.core.storage.ReadingColumns` go through
    ``submit`` instead: cheaper still, as no per-reading Python object is built at all.)

``dead_letter(source, topic, payload, reason, on_committed=None)``
    Record a message that could not be used (payload cut to ``max_dead_letter_payload``).
    Stored with the batch it arrived in; ``on_committed`` follows the same rule as for
    readings, so message acknowledgements stay in arrival order.

``record_event(machine, kind, ts, *, ends_at=None, details=None, source="ingest")``
    An ``events`` row (kinds: gap, offline, online, error, ...). Duplicate (machine, kind, ts,
    source) rows are no-ops, so reconnect logic may report the same gap twice. Events join
    the current batch, so they follow the acknowledgement rule of readings: a message's
    ``on_committed`` (submitted after its events) runs once its events are committed or
    durably buffered too.

``set_machine_status(machine, status, ts)``
    ``machines.status`` (running, down, maintenance, offline) as of ``ts``; an older change
    never overwrites a newer one. Rides in the batch like events.

``health()``
    A JSON-able dict for the ``/health`` endpoint: writer alive, database up, replay backlog
    (buffered readings and batches), readings quarantined (refused by the database).

Write path. A batch is flushed when it reaches ``batch_size`` readings or is
``flush_interval_s`` old, whichever comes first. Failures are told apart at the storage
boundary by SQLSTATE (:mod:`millwright.core.storage.errors`). A write refused for a data
reason (``DataRejected``: a name too long for an index, a NUL byte, ...) is bisected until
the refused rows are isolated (:mod:`ingest.quarantine`); they are dead-lettered with the
database's reason and their message reference, the rest are written, and the database is
still up. A write that raises ``DatabaseUnavailable`` marks the database down: live batches
then go straight to the buffer and the writer probes the database every ``retry_interval_s``
by replaying the oldest buffered batch. Replay follows the same rule, so a buffered batch
holding a refused row is written minus that row and removed — it never blocks the batches
behind it. Once a probe succeeds the writer alternates one live batch and one
buffered batch, so the backlog drains in order without starving live data. When the buffer
refuses a batch (``stop_acknowledging`` policy, full), the batch stays in memory,
unacknowledged, and is retried; new submits then block once memory holds
``max_pending_readings``. Writes are idempotent on (machine, sensor, ts), so replays and
broker re-deliveries never duplicate rows.
"""

from __future__ import annotations

import bisect
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from ingest.buffer import StoreAndForwardBuffer
from ingest.dead_letters import DEFAULT_MAX_STORED_PAYLOAD, DeadLetterSink, printable
from ingest.errors import BufferFull, PipelineStopped, StoreAndForwardError
from ingest.metrics import CollectorMetrics
from ingest.quarantine import reason_of, write_isolating
from ingest.records import DeadLetter, MachineEvent, StatusChange
from ingest.sink import ReadingSink
from millwright.core.storage import (
    DatabaseUnavailable,
    Reading,
    ReadingColumns,
    Rejection,
    WriteResult,
)

__all__ = ["Callback", "Pipeline", "Row", "to_epoch_us"]

log = logging.getLogger(__name__)

Row = tuple[str, str, int, float, int]  # machine, sensor, ts (µs since epoch, UTC), value, quality
Callback = Callable[[], object]  # return value ignored (e.g. paho ack returns a code)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_REJECTED_SAMPLE = 50


def to_epoch_us(ts: datetime) -> int:
    """Microseconds since the epoch; naive datetimes are refused (their zone is unknown)."""
    if ts.tzinfo is None:
        raise ValueError(f"timestamp {ts.isoformat()} has no timezone.")
    delta = ts - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


@dataclass
class _Batch:
    """What arrived since the last flush, in arrival order."""

    rows: list[Row] = field(default_factory=list)
    chunks: list[tuple[int, ReadingColumns]] = field(default_factory=list)  # (rows before, cols)
    runs: list[tuple[str, int]] = field(default_factory=list)  # (source, first reading index)
    refs: list[tuple[int, str | None]] = field(default_factory=list)  # (first index, message)
    callbacks: list[Callback] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    events: list[MachineEvent] = field(default_factory=list)
    statuses: list[StatusChange] = field(default_factory=list)
    size: int = 0
    started: float = 0.0
    retried: bool = False  # came back from the held queue: re-hold at the front

    def has_work(self) -> bool:
        return bool(
            self.size or self.dead_letters or self.callbacks or self.events or self.statuses
        )

    def is_empty(self) -> bool:
        return not (self.size or self.dead_letters or self.events or self.statuses)

    def note_source(self, source: str, n: int, ref: str | None = None) -> None:
        if not self.runs or self.runs[-1][0] != source:
            self.runs.append((source, self.size))
        if (self.refs[-1][1] if self.refs else None) != ref:
            self.refs.append((self.size, ref))
        self.size += n

    def origin(self, index: int) -> tuple[str, str | None]:
        """(source, message reference) of the reading at ``index``."""
        i = bisect.bisect_right([start for _, start in self.runs], index) - 1
        source = self.runs[i][0] if i >= 0 else "buffer"
        j = bisect.bisect_right([start for start, _ in self.refs], index) - 1
        return source, (self.refs[j][1] if j >= 0 else None)

    def meta(self) -> dict[str, object]:
        """Where the readings came from, kept with the batch in the buffer."""
        return {"runs": self.runs, "refs": self.refs}

    @classmethod
    def from_meta(cls, meta: dict[str, Any], size: int) -> _Batch:
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

    def columns(self) -> ReadingColumns:
        if not self.chunks:
            return _rows_to_columns(self.rows)
        return _merge_in_order(self.rows, self.chunks)


def _rows_to_columns(rows: Sequence[Row]) -> ReadingColumns:
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
            parts.append(_rows_to_columns(rows[pos:offset]))
            pos = offset
        parts.append(chunk)
    if pos < len(rows):
        parts.append(_rows_to_columns(rows[pos:]))
    return _concat(parts)


class Pipeline:
    """Batching, idempotent writes, store-and-forward and acknowledgement for collectors."""

    def __init__(
        self,
        sink: ReadingSink,
        buffer: StoreAndForwardBuffer,
        dead_letters: DeadLetterSink,
        metrics: CollectorMetrics,
        *,
        batch_size: int = 5000,
        flush_interval_s: float = 0.2,
        max_pending_readings: int = 200_000,
        retry_interval_s: float = 2.0,
        max_dead_letter_payload: int = DEFAULT_MAX_STORED_PAYLOAD,
    ) -> None:
        if batch_size < 1 or flush_interval_s <= 0:
            raise ValueError("batch_size must be >= 1 and flush_interval_s > 0.")
        if max_pending_readings < batch_size:
            raise ValueError("max_pending_readings must be at least batch_size.")
        self._sink = sink
        self._buffer = buffer
        self._dead_sink = dead_letters
        self.metrics = metrics
        self.batch_size = batch_size
        self.flush_interval_s = flush_interval_s
        self.max_pending_readings = max_pending_readings
        self.retry_interval_s = retry_interval_s
        self.max_dead_letter_payload = max_dead_letter_payload

        self._cond = threading.Condition(threading.Lock())
        self._batch = _Batch()
        self._held: deque[_Batch] = deque()  # refused by a full buffer, unacknowledged
        self._held_readings = 0
        self._running = False
        self._stopping = False
        self._thread: threading.Thread | None = None

        self._db_up = True
        self._next_probe = 0.0
        self._last_commit: float | None = None
        self._last_error: str | None = None
        self._replay_turn = False

        metrics.buffered.set(buffer.readings)
        metrics.buffer_batches.set_function(lambda: buffer.batches)
        metrics.buffer_oldest_age.set_function(buffer.oldest_age_s)
        metrics.pending.set_function(lambda: self._batch.size + self._held_readings)
        metrics.database_up.set(1)

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        with self._cond:
            if self._running:
                return
            self._running = True
            self._stopping = False
        self._thread = threading.Thread(target=self._run, name="ingest-writer", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10) -> None:
        """Flush what is pending (database or buffer) and stop the writer thread."""
        with self._cond:
            if not self._running:
                return
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.error("pipeline writer did not stop within %.1f s", timeout)
        with self._cond:
            self._running = False
            self._cond.notify_all()

    def __enter__(self) -> Pipeline:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- what collectors call -----------------------------------------------------------

    def submit(
        self,
        source: str,
        readings: Sequence[Reading] | ReadingColumns,
        on_committed: Callback | None = None,
        *,
        ref: str | None = None,
    ) -> None:
        """Queue readings; ``on_committed`` runs once they are in the database or buffer."""
        if isinstance(readings, ReadingColumns):
            self._append(source, None, readings, on_committed, ref)
        else:
            rows = [
                (r.machine, r.sensor, to_epoch_us(r.ts), float(r.value), int(r.quality))
                for r in readings
            ]
            self._append(source, rows, None, on_committed, ref)

    def submit_rows(
        self,
        source: str,
        rows: list[Row],
        on_committed: Callback | None = None,
        *,
        ref: str | None = None,
    ) -> None:
        """Hot path: ``(machine, sensor, ts_us, value, quality)`` tuples, ts in epoch µs UTC."""
        self._append(source, rows, None, on_committed, ref)

    def dead_letter(
        self,
        source: str,
        topic: str | None,
        payload: bytes,
        reason: str,
        on_committed: Callback | None = None,
    ) -> None:
        """Record an unusable message with its reason; the collector keeps running."""
        letter = DeadLetter(
            source,
            printable(topic),
            bytes(payload[: self.max_dead_letter_payload]),
            printable(reason) or "unusable",
            datetime.now(UTC),
        )
        self.metrics.dead_lettered.labels(source).inc()
        with self._cond:
            self._check_running()
            batch = self._batch
            if batch.is_empty():
                batch.started = time.monotonic()
            batch.dead_letters.append(letter)
            if on_committed is not None:
                batch.callbacks.append(on_committed)

    def record_event(
        self,
        machine: str,
        kind: str,
        ts: datetime,
        *,
        ends_at: datetime | None = None,
        details: dict[str, Any] | None = None,
        source: str = "ingest",
    ) -> None:
        """Queue an ``events`` row (e.g. gap, offline, online); written by the writer thread."""
        event = MachineEvent(machine, kind, ts, source, ends_at, details or {})
        self.metrics.events.labels(kind).inc()
        with self._cond:
            batch = self._batch
            if batch.is_empty():
                batch.started = time.monotonic()
            batch.events.append(event)

    def set_machine_status(self, machine: str, status: str, ts: datetime) -> None:
        """Queue a ``machines.status`` change (e.g. offline on a Sparkplug NDEATH)."""
        change = StatusChange(machine, status, ts)
        with self._cond:
            batch = self._batch
            if batch.is_empty():
                batch.started = time.monotonic()
            batch.statuses.append(change)

    def health(self) -> dict[str, Any]:
        """State for ``/health``: ok while the writer runs (a database outage is degraded,
        not dead: the buffer is doing its job)."""
        alive = self._thread is not None and self._thread.is_alive()
        return {
            "ok": alive,
            "database_up": self._db_up,
            "pending_readings": self._batch.size + self._held_readings,
            "buffered_readings": self._buffer.readings,
            "replay_backlog_readings": self._buffer.readings,
            "replay_backlog_batches": self._buffer.batches,
            "replay_backlog_records": self._buffer.pending_records,
            "quarantined_readings": int(self.metrics.quarantined._value.get()),
            "buffer_oldest_age_s": round(self._buffer.oldest_age_s(), 3),
            "buffer_policy": str(self._buffer.policy),
            "last_commit_age_s": None
            if self._last_commit is None
            else round(time.monotonic() - self._last_commit, 3),
            "last_error": self._last_error,
        }

    @property
    def database_up(self) -> bool:
        return self._db_up

    def _check_running(self) -> None:
        if not self._running or self._stopping:
            raise PipelineStopped("the pipeline is not running; call start() first")

    def _append(
        self,
        source: str,
        rows: list[Row] | None,
        columns: ReadingColumns | None,
        on_committed: Callback | None,
        ref: str | None = None,
    ) -> None:
        n = len(rows) if rows is not None else len(columns)  # type: ignore[arg-type]
        with self._cond:
            self._check_running()
            while (
                self._batch.size + self._held_readings >= self.max_pending_readings
                and not self._stopping
            ):
                self._cond.wait(0.5)
            self._check_running()
            batch = self._batch
            if batch.is_empty():
                batch.started = time.monotonic()
            if rows is not None:
                batch.rows.extend(rows)
            elif n:
                batch.chunks.append((len(batch.rows), columns))  # type: ignore[arg-type]
            batch.note_source(source, n, ref)
            if on_committed is not None:
                batch.callbacks.append(on_committed)
            if batch.size >= self.batch_size and batch.size - n < self.batch_size:
                self._cond.notify_all()

    # --- the writer thread --------------------------------------------------------------

    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                break
            try:
                if batch.has_work():
                    self._commit(batch)
                self._replay_some()
            except Exception:  # the writer must survive anything; the next turn retries
                log.exception("unexpected error in the ingest writer")
                time.sleep(0.5)
        self._final_flush()

    def _next_batch(self) -> _Batch | None:
        """A full or old-enough batch, a held batch due for retry, or an empty batch when
        only side work (events, replay) is due or the wait timed out; None when stopping."""
        with self._cond:
            for _ in range(2):
                if self._stopping:
                    return None
                now = time.monotonic()
                if self._held and (self._db_up or now >= self._next_probe):
                    held = self._held.popleft()
                    held.retried = True
                    self._held_readings -= held.size
                    return held
                batch = self._batch
                has_work = batch.has_work()
                age = now - batch.started
                if has_work and (batch.size >= self.batch_size or age >= self.flush_interval_s):
                    self._batch = _Batch()
                    self._cond.notify_all()  # submitters blocked on back-pressure
                    return batch
                if self._db_up and (self._buffer.readings or self._buffer.pending_records):
                    return _Batch()
                wait = self.flush_interval_s - age if has_work else self.flush_interval_s
                if not self._db_up:
                    wait = min(wait, max(0.01, self._next_probe - now))
                self._cond.wait(max(0.005, wait))
            return _Batch()

    def _final_flush(self) -> None:
        with self._cond:
            batches = [*self._held, self._batch]
            self._held.clear()
            self._held_readings = 0
            self._batch = _Batch()
        for batch in batches:
            if batch.has_work():
                self._commit(batch, final=True)

    def _commit(self, batch: _Batch, *, final: bool = False) -> None:
        columns = batch.columns()
        now = time.monotonic()
        if self._db_up or now >= self._next_probe:
            try:
                result = self._write_isolating(batch, columns)
                self._write_letters(batch.dead_letters)
                self._write_side(batch.events, batch.statuses)
            except DatabaseUnavailable as exc:
                self._mark_down(exc)
            except Exception as exc:  # our own bug: keep the data (buffer), say so loudly
                self._mark_down(exc)
            else:
                self._mark_up()
                self._account(batch, columns, result)
                self._acknowledge(batch)
                return
        self._to_buffer(batch, columns, final=final)

    def _write_isolating(self, batch: _Batch, columns: ReadingColumns) -> WriteResult:
        """Write the readings; rows the database refuses become dead letters (with their
        source, message reference and the database's reason), the rest are committed."""
        if not len(columns):
            return WriteResult(0, 0)
        isolated = write_isolating(self._sink.write, columns)
        if isolated.refused:
            self._write_letters(self._refused_letters(batch, columns, isolated.refused))
        return isolated.result

    def _refused_letters(
        self, batch: _Batch, columns: ReadingColumns, refused: list[Rejection]
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
            letters.append(
                DeadLetter(
                    source,
                    printable(ref),
                    json.dumps(row).encode(),
                    printable(f"database refused the reading: {rejection.reason}") or "refused",
                    now,
                )
            )
            self.metrics.dead_lettered.labels(source).inc()
        return letters

    def _write_letters(self, letters: Sequence[DeadLetter]) -> None:
        """Dead letters to the database; one the database refuses (it should not: their text
        is made storable) is logged and dropped rather than blocking the batch."""
        if not letters:
            return
        try:
            self._dead_sink.write(letters)
            return
        except DatabaseUnavailable:
            raise
        except Exception as exc:
            log.warning("the database refused a set of dead letters (%s); one by one", exc)
        for letter in letters:
            try:
                self._dead_sink.write([letter])
            except DatabaseUnavailable:
                raise
            except Exception as exc:
                log.error(
                    "dropped a dead letter from %s the database refused (%s): %s",
                    letter.source,
                    reason_of(exc),
                    printable(letter.reason, 200),
                )

    def _write_side(self, events: Sequence[MachineEvent], statuses: Sequence[StatusChange]) -> None:
        """Events and status changes; one the database refuses is dead-lettered, not retried."""
        if not events and not statuses:
            return
        try:
            self._sink.record_events(events)
            self._sink.set_statuses(statuses)
            return
        except DatabaseUnavailable:
            raise
        except Exception as exc:
            log.warning("the database refused machine events (%s); isolating them", exc)
        refused: list[DeadLetter] = []
        for event in events:
            try:
                self._sink.record_events([event])
            except DatabaseUnavailable:
                raise
            except Exception as exc:
                refused.append(self._side_letter(event.source, event.machine, event.kind, exc))
        for change in statuses:
            try:
                self._sink.set_statuses([change])
            except DatabaseUnavailable:
                raise
            except Exception as exc:
                refused.append(self._side_letter("ingest", change.machine, change.status, exc))
        self._write_letters(refused)

    def _side_letter(self, source: str, machine: str, what: str, exc: Exception) -> DeadLetter:
        self.metrics.dead_lettered.labels(source).inc()
        payload = json.dumps({"machine": printable(machine, 300), "record": what}).encode()
        reason = printable(f"database refused the {what} record: {reason_of(exc)}") or "refused"
        return DeadLetter(source, None, payload, reason, datetime.now(UTC))

    def _to_buffer(self, batch: _Batch, columns: ReadingColumns, *, final: bool) -> None:
        try:
            dropped = self._buffer.put(columns, batch.meta())
            if batch.dead_letters:
                self._buffer.put_dead_letters(batch.dead_letters)
            self._buffer.put_side_records(batch.events, batch.statuses)
        except BufferFull as exc:
            self.metrics.buffer_refused.inc()
            if not final:
                if not batch.retried:
                    log.warning("%s", exc)
                self._hold(batch)
            else:
                log.error("stopping with %d unacknowledged readings: %s", batch.size, exc)
            return
        except StoreAndForwardError:
            log.exception("buffer write failed; %d readings stay unacknowledged", batch.size)
            if not final:
                self._hold(batch)
            return
        if dropped:
            self.metrics.buffer_dropped.inc(dropped)
        self.metrics.buffered.set(self._buffer.readings)
        self._count_received(batch)
        self._acknowledge(batch)

    def _hold(self, batch: _Batch) -> None:
        """Keep a batch in memory, unacknowledged, in order (a retried one goes first)."""
        with self._cond:
            if batch.retried:
                self._held.appendleft(batch)
            else:
                self._held.append(batch)
            self._held_readings += batch.size

    def _replay_some(self) -> None:
        """Replay one buffered batch (and buffered dead letters, events and status changes):
        every turn while the backlog drains (alternating with live batches as they come), or
        as the probe while the database is down. Rows the database refuses are isolated and
        dead-lettered like live ones, so the batch is removed either way."""
        buffer = self._buffer
        if not buffer.readings and not buffer.pending_records:
            return
        now = time.monotonic()
        if not self._db_up and now < self._next_probe:
            return
        oldest = buffer.oldest_batch()
        try:
            if oldest is not None:
                batch_id, columns, meta = oldest
                origins = _Batch.from_meta(meta, len(columns))
                result = self._write_isolating(origins, columns)
                if result.rejected:
                    self._dead_letter_rejections(origins, columns, result)
            letters = buffer.dead_letters(1000)
            if letters:
                self._write_letters([d for _, d in letters])
            last_side, events, statuses = buffer.side_records(1000)
            if last_side is not None:
                self._write_side(events, statuses)
        except Exception as exc:  # DatabaseUnavailable, or our own bug: probe again later
            self._mark_down(exc)
            return
        self._mark_up()
        if oldest is not None:
            buffer.remove(batch_id)
            self.metrics.replayed.inc(len(columns))
            self.metrics.written.inc(result.inserted)
            self.metrics.duplicates.inc(max(result.duplicates, 0))
            self.metrics.buffered.set(buffer.readings)
            if not buffer.readings:
                log.info("buffer drained; live writes only")
        if letters:
            buffer.remove_dead_letters(letters[-1][0])
        if last_side is not None:
            buffer.remove_side_records(last_side)

    # --- bookkeeping --------------------------------------------------------------------

    def _mark_down(self, exc: Exception) -> None:
        self.metrics.write_failures.inc()
        self._last_error = str(exc)
        if self._db_up:
            if isinstance(exc, DatabaseUnavailable):
                log.warning("database unavailable, buffering on disk: %s", exc)
            else:
                log.error("write failed, buffering on disk", exc_info=exc)
        self._db_up = False
        self._next_probe = time.monotonic() + self.retry_interval_s
        self.metrics.database_up.set(0)

    def _mark_up(self) -> None:
        if not self._db_up:
            log.info("database is back; replaying %d buffered readings", self._buffer.readings)
        self._db_up = True
        self._last_commit = time.monotonic()
        self.metrics.database_up.set(1)

    def _count_received(self, batch: _Batch) -> None:
        for source, ranges in batch.source_ranges().items():
            self.metrics.received.labels(source).inc(sum(e - b for b, e in ranges))

    def _account(self, batch: _Batch, columns: ReadingColumns, result: WriteResult) -> None:
        m = self.metrics
        self._count_received(batch)
        m.written.inc(result.inserted)
        m.duplicates.inc(max(result.duplicates, 0))
        m.batches.inc()
        if len(columns):
            now_us = np.datetime64(datetime.now(UTC).replace(tzinfo=None), "us")
            for source, ranges in batch.source_ranges().items():
                newest = max(columns.ts[b:e].max() for b, e in ranges)
                m.lag.labels(source).set((now_us - newest) / np.timedelta64(1, "s"))
        if result.rejected:
            self._dead_letter_rejections(batch, columns, result)

    def _dead_letter_rejections(
        self, batch: _Batch, columns: ReadingColumns, result: WriteResult
    ) -> None:
        """Readings the writer refused (e.g. timestamps far in the future) become one dead
        letter per (source, reason) with a sample of the rows, not one per reading."""
        self.metrics.rejected.inc(len(result.rejected))
        grouped: dict[tuple[str, str], list[int]] = {}
        for rejection in result.rejected:
            source = batch.origin(rejection.index)[0]
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
        try:
            self._write_letters(letters)
        except DatabaseUnavailable:
            self._buffer.put_dead_letters(letters)

    def _acknowledge(self, batch: _Batch) -> None:
        for callback in batch.callbacks:
            try:
                callback()
            except Exception:
                log.exception("an on_committed callback failed")
