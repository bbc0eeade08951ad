"""Buffer replay: drain the store-and-forward buffer into the database, oldest batch first.

The writer thread calls :meth:`BufferReplay.replay_some` once per turn: while the backlog
drains it alternates with live batches, and while the database is down it is the probe.
Writes are idempotent on (machine, sensor, ts), so a batch replayed twice is harmless.

Replay writes through the same :class:`~ingest.quarantine.GuardedWriter` as live batches:
rows the database refuses for a data reason are isolated and dead-lettered with the origin
kept in the batch's meta, and the batch is removed. So a buffered batch can never block the
ones behind it — only an unreachable database stops replay. Buffered dead letters, machine
events and status changes are replayed the same way, up to 1,000 of each per turn.
"""

from __future__ import annotations

import logging

from ingest.batch import Batch
from ingest.buffer import StoreAndForwardBuffer
from ingest.link import DatabaseLink
from ingest.metrics import CollectorMetrics
from ingest.quarantine import GuardedWriter

__all__ = ["BufferReplay"]

log = logging.getLogger(__name__)


class BufferReplay:
    """Moves buffered readings, dead letters and side records to the database, one batch
    per call."""

    def __init__(
        self,
        buffer: StoreAndForwardBuffer,
        writer: GuardedWriter,
        metrics: CollectorMetrics,
        link: DatabaseLink,
    ) -> None:
        self.buffer = buffer
        self.writer = writer
        self.metrics = metrics
        self.link = link

    def replay_some(self) -> None:
        """Replay one buffered batch (and up to 1000 dead letters and side records) if due."""
        buffer = self.buffer
        if not buffer.readings and not buffer.pending_records:
            return
        if not self.link.may_write():
            return
        oldest = buffer.oldest_batch()
        try:
            if oldest is not None:
                batch_id, columns, meta = oldest
                origins = Batch.from_meta(meta, len(columns))
                result = self.writer.readings(origins, columns)
                if result.rejected:
                    self.writer.rejections(origins, columns, result)
            letters = buffer.dead_letters(1000)
            if letters:
                self.writer.letters([d for _, d in letters])
            last_side, events, statuses = buffer.side_records(1000)
            if last_side is not None:
                self.writer.side(events, statuses)
        except Exception as exc:  # DatabaseUnavailable, or our own bug: probe again later
            self.link.mark_down(exc)
            return
        self.link.mark_up(buffer.readings)
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
