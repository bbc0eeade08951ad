"""Feature math: readings and events in, one wide row per (machine, instant) out. No I/O.

The one function, :func:`compute_features`, serves training (many instants over bulk history)
and online scoring (the latest instant, with only its look-back loaded): an instant's values
depend only on the readings in its windows, the machine's events and its baseline, never on
how much history was loaded around it, so the two paths agree bit for bit.

Instants lie on a grid of the cadence aligned to the Unix epoch (UTC). The windows of an
instant ``t`` are ``[t - w, t)``: a reading stamped exactly ``t`` belongs to the next instant.
Sampling may be irregular and sensors may fall silent: every statistic is over whatever
samples fall in the window (``count`` says how many), NaN when too few.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from features.baselines import Baselines, baselines_at
from features.definitions import (
    ACROSS_SENSOR_STATS,
    SENSOR_STATS,
    WINDOW_STATS,
    FeatureDefinition,
    window_label,
)
from features.machine_events import event_features, to_us
from features.series import series_rows
from features.windows import (
    US_PER_HOUR,
    Aggregates,
    bin_aggregates,
    window_aggregates,
    window_stats,
)

KEY_COLUMNS = ("machine_id", "ts")


def floor_to_grid(ts: datetime, cadence: timedelta) -> datetime:
    """The latest grid instant at or before ``ts``."""
    step = int(cadence / timedelta(microseconds=1))
    us = int(to_us([ts])[0])
    return pd.Timestamp(us - us % step, unit="us", tz="UTC").to_pydatetime()


def ceil_to_grid(ts: datetime, cadence: timedelta) -> datetime:
    """The earliest grid instant at or after ``ts``."""
    floor = floor_to_grid(ts, cadence)
    return floor if floor == pd.Timestamp(ts).tz_convert("UTC") else floor + cadence


def grid_instants(start: datetime, end: datetime, cadence: timedelta) -> pd.DatetimeIndex:
    """Grid instants in ``[start, end]`` (both rounded inwards onto the grid)."""
    first, last = ceil_to_grid(start, cadence), floor_to_grid(end, cadence)
    if last < first:
        return pd.DatetimeIndex([], tz="UTC").as_unit("us")
    return pd.date_range(first, last, freq=cadence, tz="UTC").as_unit("us")


def _check_grid(definition: FeatureDefinition, start: datetime, end: datetime) -> None:
    for name, ts in (("start", start), ("end", end)):
        if ts.tzinfo is None:
            raise ValueError(f"{name} {ts} has no timezone; instants are UTC.")
        if floor_to_grid(ts, definition.cadence) != ts:
            raise ValueError(
                f"{name} {ts.isoformat()} is not on the {definition.cadence_minutes}-minute grid."
            )
    if end < start:
        raise ValueError(f"end {end.isoformat()} is before start {start.isoformat()}.")


def across_sensor_stats(
    stats: dict[str, np.ndarray],
    shape: tuple[int, int, int],
    baseline_age_hours: np.ndarray,
    baseline_hours: float,
) -> dict[str, np.ndarray]:
    """ACROSS_SENSOR_STATS of one window, (machines, instants), from its per-sensor stats of
    ``shape`` (machines, sensors, instants) flattened to (cells, instants), and the hours from
    each (machine, instant)'s baseline reset (:func:`features.baselines.baselines_at`).

    Sensors are added one at a time, elementwise: the order of the sum (and so its bits) does
    not depend on how many instants are computed together, as numpy's pairwise reductions
    along an axis would."""
    dev = stats["dev"].reshape(shape)
    total = np.zeros((shape[0], shape[2]))
    seen = np.zeros((shape[0], shape[2]))
    for s in range(shape[1]):
        d = dev[:, s, :]
        ok = np.isfinite(d)
        total += np.where(ok, d * d, 0.0)
        seen += ok
    with np.errstate(invalid="ignore", divide="ignore"):
        rms = np.where(seen > 0, np.sqrt(total / seen), np.nan)
    # the baseline describes its middle hour; an established one is baseline_hours old or more
    rate = rms / (baseline_age_hours - baseline_hours / 2)
    return {"dev_rms": rms, "dev_rms_rate": rate}


def compute_features(
    definition: FeatureDefinition,
    readings: pd.DataFrame,
    *,
    sensors: pd.DataFrame,
    machine_ids: Sequence[int],
    start: datetime,
    end: datetime,
    events: pd.DataFrame | None = None,
    origins: Mapping[int, datetime | None] | None = None,
    baselines: Baselines | None = None,
) -> pd.DataFrame:
    """Features of ``machine_ids`` at every grid instant in ``[start, end]``.

    ``readings``: ts (UTC), machine_id, sensor_id, value[, quality], covering at least
    ``[start - definition.lookback, end)`` (more is ignored). ``sensors``: sensor_id → sensor
    name. ``events``: machine_id, ts, kind[, ends_at]. ``origins``: each machine's first
    reading, its implicit first reset. ``baselines``: from :func:`features.baselines.baseline_stats`
    for the periods :func:`features.baselines.baseline_periods` names.

    Returns machine_id, ts, then ``definition.names`` as float64, ordered by machine then ts.
    """
    _check_grid(definition, start, end)
    cadence_us = definition.cadence_minutes * 60_000_000
    n_lookback = max(definition.windows_minutes) // definition.cadence_minutes
    n_instants = int((to_us([end])[0] - to_us([start])[0]) // cadence_us) + 1
    n_bins = n_lookback + n_instants - 1
    first_us = int(to_us([start])[0]) - n_lookback * cadence_us
    instants = int(to_us([start])[0]) + cadence_us * np.arange(n_instants, dtype=np.int64)
    bins = reduce_bins(definition, readings, sensors, machine_ids, first_us=first_us, n_bins=n_bins)
    return features_from_aggregates(
        definition,
        bins,
        machine_ids=machine_ids,
        instants=instants,
        events=events,
        origins=origins,
        baselines=baselines,
    )


def reduce_bins(
    definition: FeatureDefinition,
    readings: pd.DataFrame,
    sensors: pd.DataFrame,
    machine_ids: Sequence[int],
    *,
    first_us: int,
    n_bins: int,
) -> Aggregates:
    """Per-bin aggregates of ``n_bins`` cadence bins from ``first_us`` (on the grid), one row
    per (machine, sensor) cell. A bin's numbers depend only on its own readings (times are
    relative to its end), so reducing one bin alone gives the bits the bulk path gives."""
    cadence_us = definition.cadence_minutes * 60_000_000
    rows = series_rows(
        definition,
        readings,
        sensors,
        machine_ids,
        start_us=first_us,
        end_us=first_us + n_bins * cadence_us,
    )
    offset = rows.ts - first_us
    bin_index = offset // cadence_us
    tau = (offset - (bin_index + 1) * cadence_us) / US_PER_HOUR
    return bin_aggregates(
        rows.series * n_bins + bin_index,
        tau,
        rows.value,
        len(machine_ids) * len(definition.sensors),
        n_bins,
    )


def features_from_aggregates(
    definition: FeatureDefinition,
    bins: Aggregates,
    *,
    machine_ids: Sequence[int],
    instants: np.ndarray,
    events: pd.DataFrame | None = None,
    origins: Mapping[int, datetime | None] | None = None,
    baselines: Baselines | None = None,
) -> pd.DataFrame:
    """Features at ``instants`` (µs, consecutive grid instants) from per-bin aggregates of
    the look-back of the first instant through the last closed bin ((cells, bins) arrays,
    cells ordered by machine then definition sensor): what :func:`compute_features` returns."""
    origins = origins or {}
    n_lookback = max(definition.windows_minutes) // definition.cadence_minutes
    n_instants = len(instants)
    if bins.n.shape != (len(machine_ids) * len(definition.sensors), n_lookback + n_instants - 1):
        raise ValueError(
            f"bins of shape {bins.n.shape} do not cover {n_instants} instants of"
            f" {len(machine_ids)} machines x {len(definition.sensors)} sensors"
        )
    n_machines, n_sensors = len(machine_ids), len(definition.sensors)
    bin_hours = definition.cadence_minutes / 60
    decay = 0.5 ** (definition.cadence_minutes / definition.ewma_halflife_minutes)
    sizes = [w // definition.cadence_minutes for w in definition.windows_minutes]
    # only the windows ending at the instants' bins are read: from bin n_lookback - 1 on
    aggregates = window_aggregates(bins, sizes, bin_hours, decay, keep_from=n_lookback - 1)

    base_mean, base_std, base_age = baselines_at(
        definition,
        baselines if baselines is not None else Baselines.empty(n_sensors),
        events,
        origins,
        machine_ids,
        instants,
    )
    shape = (n_machines, n_sensors, n_instants)
    per_sensor = len(definition.windows_minutes) * len(WINDOW_STATS) + len(SENSOR_STATS)
    n_features = len(definition.names)
    block = np.empty((n_machines, n_instants, n_features))
    sensor_cols = slice(0, n_sensors * per_sensor)
    column_of = {name: i for i, name in enumerate(definition.names)}
    for w, size in enumerate(sizes):
        agg = aggregates[size]
        stats = window_stats(
            agg, base_mean.reshape(-1, n_instants), base_std.reshape(-1, n_instants)
        )
        for s, name in enumerate(WINDOW_STATS):
            column = w * len(WINDOW_STATS) + s
            block[:, :, sensor_cols][:, :, column::per_sensor] = (
                stats[name].reshape(shape).transpose(0, 2, 1)
            )
        across = across_sensor_stats(stats, shape, base_age, definition.baseline_hours)
        label = window_label(definition.windows_minutes[w])
        for name in ACROSS_SENSOR_STATS:
            block[:, :, column_of[f"{name}_{label}"]] = across[name]
    longest = aggregates[max(sizes)]
    last_v = longest.last_v.reshape(shape).transpose(0, 2, 1)
    last_age = -longest.last_t.reshape(shape).transpose(0, 2, 1)
    base = len(definition.windows_minutes) * len(WINDOW_STATS)
    block[:, :, sensor_cols][:, :, base::per_sensor] = last_v
    block[:, :, sensor_cols][:, :, base + 1 :: per_sensor] = last_age
    machine_stats = event_features(
        events, origins, machine_ids, instants, definition.windows_minutes
    )
    for j, values in enumerate(machine_stats.values()):
        block[:, :, n_sensors * per_sensor + j] = values

    frame = pd.DataFrame(
        block.reshape(n_machines * n_instants, n_features), columns=list(definition.names)
    )
    frame.insert(
        0, "ts", pd.DatetimeIndex(np.tile(instants, n_machines).astype("datetime64[us]"), tz="UTC")
    )
    frame.insert(0, "machine_id", np.repeat(np.asarray(machine_ids, dtype=np.int64), n_instants))
    return frame
