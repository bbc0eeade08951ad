"""A machine's healthy baseline: per-sensor mean and std over its first hours after a reset.

A reset is a repair, a maintenance or the machine's first reading. The baseline of an instant
``t`` comes from the last reset ``r <= t`` and is only defined once ``r + baseline_hours <= t``
(before that it would include the very readings it is compared with).

Baselines are small (machines × resets × sensors), so jobs store them once computed instead of
re-reading their hours of readings on every incremental run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from features.definitions import FeatureDefinition
from features.machine_events import empty_events, events_by_machine, reset_times, to_us
from features.series import SeriesRows, series_rows

US_PER_HOUR_INT = 3_600_000_000


@dataclass(frozen=True)
class Baselines:
    """Rows of (machine, reset start) with per-sensor mean, std and count, sensors as columns
    in the definition's order."""

    machine_id: np.ndarray  # (P,) int64
    start: np.ndarray  # (P,) int64 µs
    mean: np.ndarray  # (P, S)
    std: np.ndarray  # (P, S)
    count: np.ndarray  # (P, S)

    def __post_init__(self) -> None:
        p = len(self.machine_id)
        if len(self.start) != p or self.mean.shape[0] != p or self.std.shape != self.mean.shape:
            raise ValueError("baseline arrays must have one row per (machine, start).")

    @classmethod
    def empty(cls, n_sensors: int) -> Baselines:
        none = np.zeros((0, n_sensors))
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int64), none, none, none)

    def __len__(self) -> int:
        return len(self.machine_id)

    def concat(self, other: Baselines) -> Baselines:
        return Baselines(
            np.r_[self.machine_id, other.machine_id],
            np.r_[self.start, other.start],
            np.vstack([self.mean, other.mean]),
            np.vstack([self.std, other.std]),
            np.vstack([self.count, other.count]),
        )

    def index(self) -> dict[tuple[int, int], int]:
        return {
            (int(m), int(s)): i
            for i, (m, s) in enumerate(zip(self.machine_id, self.start, strict=True))
        }


def baseline_periods(
    definition: FeatureDefinition,
    events: pd.DataFrame | None,
    origins: Mapping[int, datetime | None],
    machine_ids: Sequence[int],
    start: datetime,
    end: datetime,
) -> pd.DataFrame:
    """The baseline periods (machine_id, start, end) that instants in ``[start, end]`` use."""
    span = int(definition.baseline_hours * US_PER_HOUR_INT)
    lo, hi = (int(x) for x in to_us([start, end]))
    per_machine = events_by_machine(events if events is not None else empty_events())
    rows: list[tuple[int, int, int]] = []
    for machine in machine_ids:
        resets = reset_times(per_machine.get(int(machine)), origins.get(int(machine)))
        nexts = np.r_[resets[1:], np.iinfo(np.int64).max]
        usable = (resets <= hi) & (nexts > lo) & (resets + span <= hi) & (resets + span < nexts)
        rows.extend((int(machine), int(r), int(r) + span) for r in resets[usable])
    frame = pd.DataFrame(rows, columns=["machine_id", "start", "end"])
    for column in ("start", "end"):
        frame[column] = pd.to_datetime(frame[column].astype("int64"), unit="us", utc=True)
    return frame


def baseline_stats(
    definition: FeatureDefinition,
    readings: pd.DataFrame,
    sensors: pd.DataFrame,
    periods: pd.DataFrame,
) -> Baselines:
    """Mean, std (ddof=1) and count per sensor over each period, from ``readings`` (which may
    hold more than the periods: only rows inside them count)."""
    n_sensors = len(definition.sensors)
    if periods.empty:
        return Baselines.empty(n_sensors)
    machines = sorted({int(m) for m in periods["machine_id"]})
    starts, ends = to_us(periods["start"]), to_us(periods["end"])
    rows = series_rows(
        definition,
        readings,
        sensors,
        machines,
        start_us=int(starts.min()),
        end_us=int(ends.max()),
    )
    runs = rows.runs()
    slot = {m: i for i, m in enumerate(machines)}
    shape = (len(periods), n_sensors)
    mean, std, count = np.full(shape, np.nan), np.full(shape, np.nan), np.zeros(shape)
    for p, (machine, a_us, b_us) in enumerate(
        zip(periods["machine_id"].to_numpy(), starts, ends, strict=True)
    ):
        for s in range(n_sensors):
            values = _period_values(rows, runs, slot[int(machine)] * n_sensors + s, a_us, b_us)
            count[p, s] = len(values)
            if len(values):
                mean[p, s] = values.sum() / len(values)
            if len(values) > 1:
                dev = values - mean[p, s]
                std[p, s] = np.sqrt((dev * dev).sum() / (len(values) - 1))
    return Baselines(
        periods["machine_id"].to_numpy(dtype=np.int64), starts.astype(np.int64), mean, std, count
    )


def _period_values(
    rows: SeriesRows, runs: dict[int, tuple[int, int]], series: int, a_us: int, b_us: int
) -> np.ndarray:
    if series not in runs:
        return np.zeros(0)
    first, last = runs[series]
    ts = rows.ts[first:last]
    i, j = np.searchsorted(ts, [a_us, b_us], side="left")
    return rows.value[first + i : first + j]


def baselines_at(
    definition: FeatureDefinition,
    baselines: Baselines,
    events: pd.DataFrame | None,
    origins: Mapping[int, datetime | None],
    machine_ids: Sequence[int],
    instants: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Baseline mean and std for every (machine, sensor, instant), NaN where not established,
    and the hours from the baseline's reset to each (machine, instant), NaN likewise."""
    n_sensors = len(definition.sensors)
    span = int(definition.baseline_hours * US_PER_HOUR_INT)
    lookup = baselines.index()
    table_mean = np.vstack([baselines.mean, np.full((1, n_sensors), np.nan)])
    table_std = np.vstack([baselines.std, np.full((1, n_sensors), np.nan)])
    missing = len(baselines)
    which = np.full((len(machine_ids), len(instants)), missing, dtype=np.int64)
    since = np.full((len(machine_ids), len(instants)), np.nan)
    per_machine = events_by_machine(events if events is not None else empty_events())
    for i, machine in enumerate(machine_ids):
        resets = reset_times(per_machine.get(int(machine)), origins.get(int(machine)))
        k = np.searchsorted(resets, instants, side="right") - 1
        established = (
            (k >= 0) & (resets[np.maximum(k, 0)] + span <= instants) if len(resets) else k < -1
        )
        for kk in np.unique(k[established]):
            row = lookup.get((int(machine), int(resets[kk])), missing)
            here = established & (k == kk)
            which[i, here] = row
            if row != missing:
                since[i, here] = (instants[here] - resets[kk]) / US_PER_HOUR_INT
    # (M, T, S) -> (M, S, T)
    return table_mean[which].transpose(0, 2, 1), table_std[which].transpose(0, 2, 1), since
