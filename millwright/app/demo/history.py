"""The plant's recorded past: the simulated plant run unpaced over the history window,
written straight to the database, so features and a model exist before the live plant starts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

from millwright.core.storage import Database, ReadingsWriter
from sim.build import build_plant
from sim.config import SimConfig
from sim.db_sinks import DatabaseEventSink, DatabaseReadingSink
from sim.runner import RunStats, run_plant
from sim.sinks import RecordingSink


def record_history(
    database: Database,
    config: SimConfig,
    until: datetime,
    *,
    max_future_s: int,
    checkpoint: Callable[[], None] = lambda: None,
) -> RunStats:
    """Run the plant from ``config.start`` to ``until`` as fast as it goes, storing readings,
    ground-truth events and machine state. The live simulator resumes from ``until``.

    ``checkpoint`` is called between writes; it raises to stop (Ctrl-C) at a safe point."""
    plant = build_plant(config)
    events = DatabaseEventSink(database)
    events.register_machines([(m.id, m.line) for m in plant.machines])
    recorded = RecordingSink()  # one bulk write beats a round trip per tick
    stats = asyncio.run(
        run_plant(
            plant,
            sample_interval=timedelta(seconds=config.sample_interval_s),
            until=until,
            reading_sinks=[recorded],
            event_sinks=[recorded],
        )
    )
    checkpoint()
    events.write_events(recorded.events)
    readings = DatabaseReadingSink(ReadingsWriter(database, max_future_s=max_future_s))
    for start in range(0, len(recorded.samples), 5000):
        checkpoint()
        readings.write_samples(recorded.samples[start : start + 5000])
    latest = [s for s in recorded.samples if s.ts == recorded.samples[-1].ts]
    events.write_samples(latest)
    return stats
