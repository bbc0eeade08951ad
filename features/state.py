"""What computing one machine's features needs besides its readings, as data that travels.

A feature row depends on the readings in its windows and on the machine's *state*: the
definition (windows, regime statistics), the sensor ids and names, the machine's events
(resets, maintenance), its origin (first reading) and its stored baselines. The edge service
keeps a copy of that state while the central database is reachable and computes features
with :func:`features_at`, the same :func:`features.compute.compute_features` call the central
jobs make, so edge and centre agree bit for bit. Everything round-trips through JSON exactly
(floats as ``repr``, instants as integer microseconds).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from features.baselines import Baselines
from features.compute import compute_features
from features.definitions import FeatureDefinition
from features.inputs import first_readings, read_events, read_sensors
from features.store import FeatureStore
from millwright.core.storage import Database


def _us(values: Any) -> list[int | None]:
    index = pd.DatetimeIndex(pd.to_datetime(pd.Series(values, dtype=object), utc=True))
    return [None if pd.isna(v) else int(v.value // 1000) for v in index.as_unit("us")]


def _from_us(values: Sequence[int | None]) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(
        pd.to_datetime(pd.Series(values, dtype="Int64"), unit="us", utc=True)
    ).as_unit("us")


@dataclass(frozen=True)
class FeatureState:
    """The state :func:`features_at` needs for ``machine_ids`` (besides readings)."""

    definition: FeatureDefinition
    sensors: pd.DataFrame  # sensor_id, machine_id, sensor
    events: pd.DataFrame  # machine_id, ts, kind, ends_at
    origins: dict[int, datetime]
    baselines: Baselines

    @property
    def version(self) -> str:
        return self.definition.version

    def to_json(self) -> dict[str, Any]:
        b = self.baselines
        return {
            "definition": self.definition.to_json(),
            "sensors": {
                "sensor_id": self.sensors["sensor_id"].astype(int).tolist(),
                "machine_id": self.sensors["machine_id"].astype(int).tolist(),
                "sensor": self.sensors["sensor"].astype(str).tolist(),
            },
            "events": {
                "machine_id": self.events["machine_id"].astype(int).tolist(),
                "ts": _us(self.events["ts"]),
                "kind": self.events["kind"].astype(str).tolist(),
                "ends_at": _us(self.events["ends_at"]),
            },
            "origins": {str(m): _us([ts])[0] for m, ts in self.origins.items()},
            "baselines": {
                "machine_id": b.machine_id.astype(int).tolist(),
                "start": b.start.astype(int).tolist(),
                "mean": b.mean.tolist(),
                "std": b.std.tolist(),
                "count": b.count.tolist(),
            },
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> FeatureState:
        definition = FeatureDefinition.from_json(doc["definition"])
        n = len(definition.sensors)
        sensors = pd.DataFrame(doc["sensors"]).astype(
            {"sensor_id": "int64", "machine_id": "int64", "sensor": "object"}
        )
        ev = doc["events"]
        events = pd.DataFrame(
            {
                "machine_id": np.asarray(ev["machine_id"], dtype=np.int64),
                "ts": _from_us(ev["ts"]),
                "kind": pd.Series(ev["kind"], dtype=object),
                "ends_at": _from_us(ev["ends_at"]),
            }
        )
        origins = {int(m): _from_us([us])[0].to_pydatetime() for m, us in doc["origins"].items()}
        b = doc["baselines"]
        shape = (len(b["machine_id"]), n)
        baselines = Baselines(
            np.asarray(b["machine_id"], dtype=np.int64),
            np.asarray(b["start"], dtype=np.int64),
            np.asarray(b["mean"], dtype=np.float64).reshape(shape),
            np.asarray(b["std"], dtype=np.float64).reshape(shape),
            np.asarray(b["count"], dtype=np.float64).reshape(shape),
        )
        return cls(definition, sensors, events, origins, baselines)


def feature_state(
    database: Database,
    definition: FeatureDefinition | dict[str, Any],
    machine_ids: Sequence[int],
    until: datetime,
) -> FeatureState:
    """The central database's state of ``machine_ids`` for ``definition`` (or its JSON, as a
    model artifact carries it), events before ``until``."""
    if isinstance(definition, dict):
        definition = FeatureDefinition.from_json(definition)
    machines = [int(m) for m in machine_ids]
    sensors = read_sensors(database)
    sensors = sensors[sensors["machine_id"].isin(machines)].reset_index(drop=True)
    store = FeatureStore(database)
    return FeatureState(
        definition,
        sensors,
        read_events(database, machines, until),
        first_readings(database, machines),
        store.baselines(definition.version, machines, len(definition.sensors)),
    )


def features_at(
    state: FeatureState, readings: pd.DataFrame, machine_ids: Sequence[int], instant: datetime
) -> pd.DataFrame:
    """Features of ``machine_ids`` at grid ``instant`` from ``readings`` (ts, machine_id,
    sensor_id, value[, quality], covering the instant's look-back): machine_id, ts, names."""
    return compute_features(
        state.definition,
        readings,
        sensors=state.sensors,
        machine_ids=list(machine_ids),
        start=instant,
        end=instant,
        events=state.events,
        origins=state.origins,
        baselines=state.baselines,
    )
