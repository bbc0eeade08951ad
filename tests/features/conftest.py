"""A small plant in the test database: two machines, two sensors each, two days."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.config import FeaturesConfig
from millwright.core.storage import Database, ReadingsWriter
from tests.features.helpers import T0, at


def plant_readings(minutes_from: int, minutes_to: int) -> pd.DataFrame:
    """Readings every 2 minutes (machine m2's sensor b only every 7), a drifting signal."""
    parts = []
    for machine, drift in (("m1", 0.01), ("m2", 0.03)):
        for sensor, base, step in (("a", 10.0, 2), ("b", 500.0, 2 if machine == "m1" else 7)):
            minutes = np.arange(minutes_from, minutes_to)
            minutes = minutes[minutes % step == 0]
            values = base + drift * minutes + np.sin(minutes / 30.0)
            parts.append(
                pd.DataFrame(
                    {
                        "machine": machine,
                        "sensor": sensor,
                        "ts": pd.Timestamp(T0) + pd.to_timedelta(minutes, unit="min"),
                        "value": values,
                    }
                )
            )
    return pd.concat(parts, ignore_index=True)


@pytest.fixture
def plant(database: Database) -> Database:
    """Readings for minutes [0, 2880) and a few events; machine ids 1 (m1) and 2 (m2)."""
    ReadingsWriter(database).write(plant_readings(0, 2880))
    database.execute(
        "INSERT INTO events (ts, machine_id, kind) VALUES"
        " (%s, 1, 'maintenance'), (%s, 1, 'error'), (%s, 2, 'failure'), (%s, 2, 'repair')",
        (at(400), at(500), at(1000), at(1100)),
    )
    return database


@pytest.fixture
def config() -> FeaturesConfig:
    """Short windows and small chunks, so a test crosses chunk boundaries."""
    return FeaturesConfig(
        cadence_minutes=10,
        windows_minutes=[60, 360],
        baseline_hours=2,
        machines_per_chunk=1,
        chunk_hours=6,
    )
