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
    (buffered readings, batches, records), readings quarantined (refused by the database).

Write path. A batch is flushed when it reaches ``batch_size`` readings or is
``flush_interval_s`` old, whichever comes first. Failures are told apart at the storage
boundary by SQLSTATE (:mod:`millwright.core.storage.errors`). A write refused for a data
reason (``DataRejected``: a name too long for an index, a NUL byte, ...) is bisected until
the refused rows are isolated (:mod:`ingest.quarantine`); they are dead-lettered with the
database's reason and their message reference, the rest are written, and the database
counts as up. A write that raises ``DatabaseUnavailable`` (or anything unexpected, logged)
marks the database down: live batches then go straight to the buffer and the writer probes
the database every ``retry_interval_s`` by replaying the oldest buffered batch. Replay follows
the same rule, so a buffered batch holding a refused row is written minus that row and
removed — it never blocks the batches behind it. Once a probe succeeds the writer alternates
one live batch and one buffered batch, so the backlog drains in order without starving live
data. When the buffer
refuses a batch (``stop_acknowledging`` policy, full), the batch stays in memory,
unacknowledged, and is retried; new submits then block once memory holds
``max_pending_readings``. Writes are idempotent on (machine, sensor, ts), so replays and
broker re-deliveries never duplicate rows.

Modules: :mod:`ingest.rows` (the row type, shared with the pure decoders), :mod:`ingest.batch`
(the batcher's unit), :mod:`ingest.link` (database up/down and probing), :mod:`ingest.replay`
(buffer replay); this module is the front (what collectors call) and the writer thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np

from ingest.batch import Batch
from ingest.buffer import StoreAndForwardBuffer
from ingest.dead_letters import DEFAULT_MAX_STORED_PAYLOAD, DeadLetterSink, printable
from ingest.errors import BufferFull, PipelineStopped, StoreAndForwardError
from ingest.link import DatabaseLink
from ingest.metrics import CollectorMetrics
from ingest.quarantine import GuardedWriter
from ingest.records import DeadLetter, MachineEvent, StatusChange
from ingest.replay import BufferReplay
from ingest.rows import Callback, Row, to_epoch_us
from ingest.sink import ReadingSink
from millwright.core.storage import Reading, ReadingColumns, WriteResult

__all__ = ["Callback", "Pipeline", "Row", "to_epoch_us"]

log = logging.getLogger(__name__)


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
        self._batch = Batch()
        self._held: deque[Batch] = deque()  # refused by a full buffer, unacknowledged
        self._held_readings = 0
        self._running = False
        self._stopping = False
        self._thread: threading.Thread | None = None

        self._link = DatabaseLink(metrics, retry_interval_s)
        self._guarded = GuardedWriter(sink, dead_letters, metrics)
        self._replay = BufferReplay(buffer, self._guarded, metrics, self._link)

        metrics.buffered.set(buffer.readings)
        metrics.buffer_batches.set_function(lambda: buffer.batches)
        metrics.buffer_oldest_age.set_function(buffer.oldest_age_s)
        metrics.pending.set_function(lambda: self._batch.size + self._held_readings)

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
            if batch.is_empty:
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
            if batch.is_empty:
                batch.started = time.monotonic()
            batch.events.append(event)

    def set_machine_status(self, machine: str, status: str, ts: datetime) -> None:
        """Queue a ``machines.status`` change (e.g. offline on a Sparkplug NDEATH)."""
        change = StatusChange(machine, status, ts)
        with self._cond:
            batch = self._batch
            if batch.is_empty:
                batch.started = time.monotonic()
            batch.statuses.append(change)

    def health(self) -> dict[str, Any]:
        """State for ``/health``: ok while the writer runs (a database outage is degraded,
        not dead: the buffer is doing its job)."""
        alive = self._thread is not None and self._thread.is_alive()
        return {
            "ok": alive,
            "database_up": self._link.up,
            "pending_readings": self._batch.size + self._held_readings,
            "buffered_readings": self._buffer.readings,
            "replay_backlog_readings": self._buffer.readings,
            "replay_backlog_batches": self._buffer.batches,
            "replay_backlog_records": self._buffer.pending_records,
            "quarantined_readings": int(self.metrics.value_of(self.metrics.quarantined)),
            "buffer_oldest_age_s": round(self._buffer.oldest_age_s(), 3),
            "buffer_policy": str(self._buffer.policy),
            "last_commit_age_s": None
            if self._link.last_commit is None
            else round(time.monotonic() - self._link.last_commit, 3),
            "last_error": self._link.last_error,
        }

    @property
    def database_up(self) -> bool:
        return self._link.up

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
            if batch.is_empty:
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
                if batch.has_work:
                    self._commit(batch)
                self._replay.replay_some()
            except Exception:  # the writer must survive anything; the next turn retries
                log.exception("unexpected error in the ingest writer")
                time.sleep(0.5)
        self._final_flush()

    def _next_batch(self) -> Batch | None:
        """A full or old-enough batch, a held batch due for retry, or an empty batch when
        only side work (events, replay) is due or the wait timed out; None when stopping."""
        with self._cond:
            for _ in range(2):
                if self._stopping:
                    return None
                now = time.monotonic()
                if self._held and self._link.may_write():
                    held = self._held.popleft()
                    held.retried = True
                    self._held_readings -= held.size
                    return held
                batch = self._batch
                has_work = batch.has_work
                age = now - batch.started
                if has_work and (batch.size >= self.batch_size or age >= self.flush_interval_s):
                    self._batch = Batch()
                    self._cond.notify_all()  # submitters blocked on back-pressure
                    return batch
                if self._link.up and (self._buffer.readings or self._buffer.pending_records):
                    return Batch()
                wait = self.flush_interval_s - age if has_work else self.flush_interval_s
                if not self._link.up:
                    wait = min(wait, max(0.01, self._link.next_probe - now))
                self._cond.wait(max(0.005, wait))
            return Batch()

    def _final_flush(self) -> None:
        with self._cond:
            batches = [*self._held, self._batch]
            self._held.clear()
            self._held_readings = 0
            self._batch = Batch()
        for batch in batches:
            if batch.has_work:
                self._commit(batch, final=True)

    def _commit(self, batch: Batch, *, final: bool = False) -> None:
        columns = batch.columns()
        if self._link.may_write():
            guarded = self._guarded
            try:
                result = guarded.readings(batch, columns)  # refused rows: isolated, dead-lettered
                if result.rejected:
                    guarded.rejections(batch, columns, result)
                guarded.letters(batch.dead_letters)
                guarded.side(batch.events, batch.statuses)
            except Exception as exc:  # DatabaseUnavailable, or our own bug: keep the data
                self._link.mark_down(exc)
            else:
                self._link.mark_up(self._buffer.readings)
                self._account(batch, columns, result)
                self._acknowledge(batch)
                return
        self._to_buffer(batch, columns, final=final)

    def _to_buffer(self, batch: Batch, columns: ReadingColumns, *, final: bool) -> None:
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

    def _hold(self, batch: Batch) -> None:
        """Keep a batch in memory, unacknowledged, in order (a retried one goes first)."""
        with self._cond:
            if batch.retried:
                self._held.appendleft(batch)
            else:
                self._held.append(batch)
            self._held_readings += batch.size

    # --- bookkeeping --------------------------------------------------------------------

    def _count_received(self, batch: Batch) -> None:
        for source, ranges in batch.source_ranges().items():
            self.metrics.received.labels(source).inc(sum(e - b for b, e in ranges))

    def _account(self, batch: Batch, columns: ReadingColumns, result: WriteResult) -> None:
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

    def _acknowledge(self, batch: Batch) -> None:
        for callback in batch.callbacks:
            try:
                callback()
            except Exception:
                log.exception("an on_committed callback failed")
