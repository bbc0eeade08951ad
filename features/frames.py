"""What `models` reads: training frames (features + labels) and the latest features.

Both read the rows the feature jobs stored, so a model sees at scoring time exactly the
values it would have been trained on for the same instant.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pandas as pd

from features.inputs import latest_readings, machine_ids, read_events
from features.labels import make_labels
from features.store import FeatureStore
from millwright.core.storage import Database


def plant_clock(database: Database, machines: Sequence[int] | None = None) -> datetime:
    """The newest reading of any machine (wall-clock now when there are none)."""
    latest = latest_readings(
        database, list(machines) if machines is not None else machine_ids(database)
    )
    return max(latest.values()) if latest else datetime.now(UTC)


def load_training_frame(
    database: Database,
    version: str,
    start: datetime,
    end: datetime,
    *,
    machine_ids: Sequence[int] | None = None,
    horizon_hours: float = 24.0,
    observed_until: datetime | None = None,
    include_down: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stored features with ``start <= ts <= end`` and their labels, row for row.

    Returns ``(X, labels)``: ``X`` holds only the feature columns (ids and times cannot leak
    into a model); ``labels`` has machine_id, ts, failed_within_h (nullable boolean: <NA>
    when censored inside the horizon), rul and rul_lower (hours), censored, down. Both share
    one RangeIndex, ordered by machine then time. Events count up to ``observed_until``
    (default: the plant clock). Rows where the machine is down (failed, not yet repaired)
    are dropped unless ``include_down``.
    """
    store = FeatureStore(database)
    frame = store.read(version, start, end, machine_ids)
    machines = sorted(set(frame["machine_id"].tolist()))
    seen = observed_until or plant_clock(database)
    events = read_events(database, machines, seen + timedelta(microseconds=1))
    labels = make_labels(
        frame[["machine_id", "ts"]], events, horizon_hours=horizon_hours, observed_until=seen
    )
    if not include_down:
        keep = ~labels["down"].to_numpy()
        frame, labels = frame[keep], labels[keep]
    features = frame.drop(columns=["machine_id", "ts"]).reset_index(drop=True)
    return features, labels.reset_index(drop=True)


def latest_features(
    database: Database, version: str, machine_ids: Sequence[int] | None = None
) -> pd.DataFrame:
    """The newest stored row of each machine: machine_id, ts, then the version's features.

    Machines without rows are absent; compare ``ts`` with the plant clock to spot staleness.
    """
    return FeatureStore(database).latest(version, machine_ids)
