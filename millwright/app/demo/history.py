"""The plant's recorded past: the simulated plant run unpaced over the history window,
written straight to the database, so features and a model exist before the live plant starts.

The past is recorded in two parts. Before the plant goes live: every ground-truth event of the
whole window and the readings of its last days (the model's training window), so the first
plan is not kept waiting by weeks of history. After: the readings of the earlier weeks
(:func:`record_earlier_readings`, the same deterministic plant run again, no orders in the
past), which :mod:`millwright.app.demo.past` scores for the Outcomes page.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from millwright.core.storage import Database, ReadingsWriter
from sim.build import build_plant
from sim.config import SimConfig
from sim.db_sinks import DatabaseEventSink, DatabaseReadingSink
from sim.records import Event, Sample
from sim.runner import RunStats, run_plant

_BATCH = 5000


class _Batches:
    """Keeps the events, writes the samples from ``since`` in batches of ``_BATCH`` (one bulk
    write beats a round trip per tick; weeks of samples would not fit in memory whole)."""

    def __init__(
        self, readings: DatabaseReadingSink, since: datetime | None, checkpoint: Callable[[], None]
    ) -> None:
        self.events: list[Event] = []
        self.last: list[Sample] = []
        self.count = 0
        self._readings = readings
        self._since = since
        self._checkpoint = checkpoint
        self._pending: list[Sample] = []

    def write_events(self, events: Sequence[Event]) -> None:
        self.events.extend(events)

    def write_samples(self, samples: Sequence[Sample]) -> None:
        if samples:
            self.last = list(samples)
        kept = [s for s in samples if self._since is None or s.ts >= self._since]
        self._pending.extend(kept)
        self.count += len(kept)
        if len(self._pending) >= _BATCH:
            self.flush()

    def flush(self) -> None:
        self._checkpoint()
        if self._pending:
            self._readings.write_samples(self._pending)
            self._pending = []


def record_history(
    database: Database,
    config: SimConfig,
    until: datetime,
    *,
    max_future_s: int,
    readings_from: datetime | None = None,
    checkpoint: Callable[[], None] = lambda: None,
) -> RunStats:
    """Run the plant from ``config.start`` to ``until`` as fast as it goes, storing every
    ground-truth event, the machine state at ``until`` and the readings from ``readings_from``
    on (default: all). The live simulator resumes from ``until``.

    ``checkpoint`` is called between writes; it raises to stop (Ctrl-C) at a safe point."""
    plant = build_plant(config)
    events = DatabaseEventSink(database)
    events.register_machines([(m.id, m.line) for m in plant.machines])
    readings = DatabaseReadingSink(ReadingsWriter(database, max_future_s=max_future_s))
    recorded = _Batches(readings, readings_from, checkpoint)
    stats = asyncio.run(
        run_plant(
            plant,
            sample_interval=timedelta(seconds=config.sample_interval_s),
            until=until,
            reading_sinks=[recorded],
            event_sinks=[recorded],
        )
    )
    recorded.flush()
    events.write_events(recorded.events)
    events.write_samples(recorded.last)
    return stats


def record_earlier_readings(
    database: Database,
    config: SimConfig,
    until: datetime,
    *,
    max_future_s: int,
    checkpoint: Callable[[], None] = lambda: None,
) -> int:
    """The readings from ``config.start`` to before ``until``: the same plant run again (same
    seed, no orders in the past, so the same samples). Already stored readings are no-ops.
    Returns the number of samples."""
    plant = build_plant(config)
    readings = DatabaseReadingSink(ReadingsWriter(database, max_future_s=max_future_s))
    recorded = _Batches(readings, None, checkpoint)
    asyncio.run(
        run_plant(
            plant,
            sample_interval=timedelta(seconds=config.sample_interval_s),
            until=until - timedelta(seconds=config.sample_interval_s),
            reading_sinks=[recorded],
        )
    )
    recorded.flush()
    return recorded.count
