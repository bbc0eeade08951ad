"""Buffer replay: drain the store-and-forward buffer into the database, oldest batch first.

The writer thread calls :meth:`BufferReplay.replay_some` once per turn: while the backlog
drains it alternates with live batches, and while the database is down it is the probe.
Writes are idempotent on (machine, sensor, ts), so a batch replayed twice is harmless.
"""

from __future__ import annotations

import logging

from ingest.buffer import StoreAndForwardBuffer
from ingest.dead_letters import DeadLetterSink
from ingest.link import DatabaseLink
from ingest.metrics import CollectorMetrics
from ingest.sink import ReadingSink

__all__ = ["BufferReplay"]

log = logging.getLogger(__name__)


class BufferReplay:
    """Moves buffered readings and dead letters to their sinks, one batch per call."""

    def __init__(
        self,
        buffer: StoreAndForwardBuffer,
        sink: ReadingSink,
        dead_letters: DeadLetterSink,
        metrics: CollectorMetrics,
        link: DatabaseLink,
    ) -> None:
        self.buffer = buffer
        self.sink = sink
        self.dead_sink = dead_letters
        self.metrics = metrics
        self.link = link

    def replay_some(self) -> None:
        """Replay one buffered batch (and up to 1000 dead letters) if any is due."""
        buffer = self.buffer
        if not buffer.readings and not buffer.has_dead_letters():
            return
        if not self.link.may_write():
            return
        oldest = buffer.oldest()
        try:
            if oldest is not None:
                batch_id, columns = oldest
                result = self.sink.write(columns)
            letters = buffer.dead_letters(1000)
            if letters:
                self.dead_sink.write([d for _, d in letters])
        except Exception as exc:
            self.link.mark_down(exc)
            return
        self.link.mark_up(buffer.readings)
        if oldest is not None:
            buffer.remove(batch_id)
            self.metrics.replayed.inc(len(columns))
            self.metrics.written.inc(result.inserted)
            self.metrics.duplicates.inc(result.duplicates)
            self.metrics.buffered.set(buffer.readings)
            if not buffer.readings:
                log.info("buffer drained; live writes only")
        if letters:
            buffer.remove_dead_letters(letters[-1][0])
