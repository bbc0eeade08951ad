"""The writer's view of the database: up or down, and when to probe it again.

Shared by the writer thread (live batches) and the buffer replay, so one failed write sends
both to the buffer and one successful probe brings both back.
"""

from __future__ import annotations

import logging
import time

from ingest.metrics import CollectorMetrics
from millwright.core.storage import DatabaseUnavailable

__all__ = ["DatabaseLink"]

log = logging.getLogger(__name__)


class DatabaseLink:
    """Up/down state with a probe deadline; mirrored in the ``database_up`` gauge."""

    def __init__(self, metrics: CollectorMetrics, retry_interval_s: float) -> None:
        self.metrics = metrics
        self.retry_interval_s = retry_interval_s
        self.up = True
        self.next_probe = 0.0
        self.last_commit: float | None = None
        self.last_error: str | None = None
        metrics.database_up.set(1)

    def may_write(self) -> bool:
        """True while up, or when a probe is due."""
        return self.up or time.monotonic() >= self.next_probe

    def mark_down(self, exc: Exception) -> None:
        self.metrics.write_failures.inc()
        self.last_error = str(exc)
        if self.up:
            if isinstance(exc, DatabaseUnavailable):
                log.warning("database unavailable, buffering on disk: %s", exc)
            else:
                log.error("write failed, buffering on disk", exc_info=exc)
        self.up = False
        self.next_probe = time.monotonic() + self.retry_interval_s
        self.metrics.database_up.set(0)

    def mark_up(self, buffered_readings: int) -> None:
        if not self.up:
            log.info("database is back; replaying %d buffered readings", buffered_readings)
        self.up = True
        self.last_commit = time.monotonic()
        self.metrics.database_up.set(1)
