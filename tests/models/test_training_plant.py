"""A small simulated plant in the database whose failures are predictable, for the DB tests.

Machines wear quadratically over lives of 3 to 6 days, fail, are repaired 4 hours later and
start a new life. Vibration and temperature see the wear, a third sensor is noise. Readings
go in through the ordinary ReadingsWriter, failures and repairs into ``events``, and the real
feature job computes hourly features, so training sees exactly what production would.
The builder is shared by the training, registry and scoring tests (imported from here).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from features.config import FeaturesConfig
from features.frames import load_training_frame
from features.jobs import FeatureJob
from millwright.core.storage import Database, ReadingsWriter
from models.config import LightGBMParams, ModelsConfig

T0 = datetime(2024, 3, 1, tzinfo=UTC)
DAYS = 24
MACHINES = 30
STEP_MINUTES = 10
REPAIR_HOURS = 4.0

FEATURES = FeaturesConfig(
    cadence_minutes=60,
    windows_minutes=[60, 360],
    baseline_hours=6,
    sensors=["noise", "temp", "vib"],
    machines_per_chunk=30,
    chunk_hours=24 * 30,
)


@dataclass(frozen=True)
class Plant:
    database: Database
    feature_version: str
    machine_ids: tuple[int, ...]
    end: datetime


def models_config(**overrides: object) -> ModelsConfig:
    """Small, fast boosters for tests (same defaults otherwise)."""
    values: dict[str, object] = {
        "horizon_hours": 24.0,
        "rul_cap_hours": 72.0,
        "conformal_folds": 3,
        "lightgbm": LightGBMParams(n_estimators=80, num_leaves=15, n_jobs=2),
    }
    values.update(overrides)
    return ModelsConfig.model_validate(values)


def plant_frames(seed: int = 3) -> tuple[pd.DataFrame, list[tuple[str, datetime, str]]]:
    """Readings (machine, sensor, ts, value) and events (machine, ts, kind) of the plant."""
    rng = np.random.default_rng(seed)
    minutes = np.arange(0, DAYS * 24 * 60, STEP_MINUTES)
    parts = []
    events: list[tuple[str, datetime, str]] = []
    for m in range(MACHINES):
        name = f"press-{m:02d}"
        age = np.full(len(minutes), np.nan)  # hours into the current life; NaN while down
        start = -float(rng.uniform(0, 48))  # lives already under way at T0
        while start * 60 < minutes[-1]:
            life = float(rng.uniform(72, 144))
            fail = start + life
            in_life = (minutes / 60 >= start) & (minutes / 60 < fail)
            age[in_life] = minutes[in_life] / 60 - start
            if fail * 60 <= minutes[-1]:
                events.append((name, T0 + timedelta(hours=fail), "failure"))
                events.append((name, T0 + timedelta(hours=fail + REPAIR_HOURS), "repair"))
            life_of = np.where(in_life, life, np.nan)
            parts.append((name, in_life, age.copy(), life_of))
            start = fail + REPAIR_HOURS
    readings = []
    for name, in_life, age, life_of in parts:
        t = minutes[in_life]
        wear = (age[in_life] / life_of[in_life]) ** 2
        ts = pd.Timestamp(T0) + pd.to_timedelta(t, unit="min")
        for sensor, values in (
            ("vib", 1.0 + 3.0 * wear + rng.normal(0, 0.15, len(t))),
            ("temp", 60.0 + 15.0 * wear + rng.normal(0, 1.0, len(t))),
            ("noise", rng.normal(0, 1.0, len(t))),
        ):
            readings.append(
                pd.DataFrame({"machine": name, "sensor": sensor, "ts": ts, "value": values})
            )
    return pd.concat(readings, ignore_index=True), events


@contextmanager
def plant_in(database_url: str) -> Iterator[Plant]:
    """The plant built in an emptied test database, with its own pool for the module."""
    from tests.conftest import truncate_all

    truncate_all(database_url)
    database = Database(database_url, min_size=1, max_size=4)
    try:
        yield build_plant(database)
    finally:
        database.close()


def build_plant(database: Database, seed: int = 3) -> Plant:
    """Write the plant's readings and events and compute its features."""
    readings, events = plant_frames(seed)
    ReadingsWriter(database).write(readings)
    ids = dict((name, i) for i, name in database.execute("SELECT id, name FROM machines"))
    with database.connection() as conn, conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO events (ts, machine_id, kind, source) VALUES (%s, %s, %s, 'test')",
            [(ts, ids[name], kind) for name, ts, kind in events],
        )
    job = FeatureJob(database, FEATURES)
    end = T0 + timedelta(days=DAYS) - timedelta(minutes=STEP_MINUTES)
    job.backfill(T0, end)
    return Plant(database, job.version, tuple(sorted(ids.values())), end)


def ensure_plant(plant: Plant) -> None:
    """Rebuild the plant if another test truncated the database meanwhile (pytest-xdist may
    interleave modules on one worker); the same seed rebuilds the same rows and ids."""
    rows = plant.database.execute(
        "SELECT count(*) FROM feature_versions WHERE version = %s", (plant.feature_version,)
    )
    if not rows[0][0]:
        from tests.conftest import truncate_all

        truncate_all(plant.database.url)
        rebuilt = build_plant(plant.database)
        assert rebuilt == plant


def test_the_plant_has_failures_in_every_machine_and_labels_for_most_rows(
    database: Database,
) -> None:
    plant = build_plant(database)
    X, labels = load_training_frame(
        database, plant.feature_version, T0, plant.end, horizon_hours=24.0
    )
    assert labels["machine_id"].nunique() == MACHINES
    assert len(X) > MACHINES * DAYS * 24 * 0.9
    failures = database.execute(
        "SELECT machine_id, count(*) FROM events WHERE kind = 'failure' GROUP BY 1"
    )
    assert len(failures) == MACHINES and all(n >= 2 for _, n in failures)
    known = labels["failed_within_h"].notna()
    assert known.mean() > 0.9
    assert 0.1 < labels.loc[known, "failed_within_h"].astype(bool).mean() < 0.4
