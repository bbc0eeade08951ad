"""Readings as numpy series: filtered, mapped to (machine, sensor) slots, grouped by series.

Both the window statistics and the baselines start here, so they see exactly the same rows
in exactly the same order — the order fixes floating-point sums, and with it the guarantee
that training and online features are bit-for-bit equal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.definitions import FeatureDefinition

BAD_QUALITY = 2


def ts_us(frame: pd.DataFrame, column: str = "ts") -> np.ndarray:
    """A timestamp column as int64 µs since the epoch (UTC), without a Python-object detour."""
    values = frame[column]
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.array.as_unit("us").asi8  # type: ignore[attr-defined,no-any-return]
    return pd.DatetimeIndex(pd.to_datetime(values, utc=True)).as_unit("us").asi8


@dataclass(frozen=True)
class SeriesRows:
    """Rows of every (machine, sensor) series, each series contiguous and in time order.

    ``series`` = machine slot * n_sensors + sensor slot, slots following ``machine_ids`` and
    ``definition.sensors``.
    """

    series: np.ndarray  # int64
    ts: np.ndarray  # int64 µs
    value: np.ndarray  # float64
    n_machines: int
    n_sensors: int

    def __len__(self) -> int:
        return len(self.value)

    def runs(self) -> dict[int, tuple[int, int]]:
        """series -> (first row, end row) of its contiguous run."""
        if not len(self.series):
            return {}
        starts = np.flatnonzero(np.r_[True, self.series[1:] != self.series[:-1]])
        ends = np.r_[starts[1:], len(self.series)]
        return {
            int(s): (int(a), int(b))
            for s, a, b in zip(self.series[starts], starts, ends, strict=True)
        }


def _lookup(keys: np.ndarray, table_keys: np.ndarray) -> np.ndarray:
    """Slot of each key in ``table_keys`` (-1 when absent), via a dense table when small."""
    if not len(keys):
        return np.zeros(0, dtype=np.int64)
    top = int(max(keys.max(initial=0), table_keys.max(initial=0)))
    if keys.min() >= 0 and top < 50_000_000:
        table = np.full(top + 1, -1, dtype=np.int64)
        table[table_keys] = np.arange(len(table_keys))
        return table[keys]
    return pd.Index(table_keys).get_indexer(keys).astype(np.int64)


def series_rows(
    definition: FeatureDefinition,
    readings: pd.DataFrame,
    sensors: pd.DataFrame,
    machine_ids: Sequence[int],
    *,
    start_us: int | None = None,
    end_us: int | None = None,
) -> SeriesRows:
    """The usable readings of ``machine_ids`` in ``[start_us, end_us)``.

    ``sensors`` maps ``sensor_id`` to its name (``sensor``); readings of sensors outside the
    definition, of other machines, with a non-finite value or (when configured) BAD quality
    are dropped. With fitted regimes (:mod:`features.regimes`) values are normalised per
    regime first; a reading whose regime is unknown becomes NaN and is dropped with them.
    """
    slot_of_name = pd.Index(definition.sensors).get_indexer(sensors["sensor"].astype(str))
    known = sensors["sensor_id"].to_numpy(dtype=np.int64)
    sid = readings["sensor_id"].to_numpy(dtype=np.int64)
    mid = readings["machine_id"].to_numpy(dtype=np.int64)
    ts = ts_us(readings) if len(readings) else np.zeros(0, dtype=np.int64)
    if definition.regimes is not None:
        value = _normalised(definition, readings, sensors, mid, ts, machine_ids, start_us, end_us)
    else:
        value = readings["value"].to_numpy(dtype=np.float64)

    row = _lookup(sid, known)
    sslot = np.full(len(sid), -1, dtype=np.int64)
    if len(known):
        sslot = np.where(row >= 0, slot_of_name[np.maximum(row, 0)], -1)
    mslot = _lookup(mid, np.asarray(machine_ids, dtype=np.int64))
    keep = (sslot >= 0) & (mslot >= 0) & np.isfinite(value)
    if definition.drop_bad_quality and "quality" in readings:
        keep &= (readings["quality"].to_numpy() & 3) != BAD_QUALITY
    if start_us is not None:
        keep &= ts >= start_us
    if end_us is not None:
        keep &= ts < end_us
    if not keep.all():
        sslot, mslot, ts, value = sslot[keep], mslot[keep], ts[keep], value[keep]
    series = mslot * len(definition.sensors) + sslot
    if not _grouped_in_time_order(series, ts):
        order = np.lexsort((ts, series))
        series, ts, value = series[order], ts[order], value[order]
    return SeriesRows(series, ts, value, len(machine_ids), len(definition.sensors))


def _normalised(
    definition: FeatureDefinition,
    readings: pd.DataFrame,
    sensors: pd.DataFrame,
    mid: np.ndarray,
    ts: np.ndarray,
    machine_ids: Sequence[int],
    start_us: int | None,
    end_us: int | None,
) -> np.ndarray:
    """Regime-normalised values of the readings the caller can keep; NaN for the others.

    A reading's regime comes from its own (machine, cadence bin) alone, so only the wanted
    machines' whole bins overlapping ``[start_us, end_us)`` are normalised: the same values,
    bit for bit, as normalising everything, without re-normalising a whole history to score
    its latest instant.
    """
    assert definition.regimes is not None
    step = definition.cadence_minutes * 60_000_000
    wanted = _lookup(mid, np.asarray(machine_ids, dtype=np.int64)) >= 0
    if start_us is not None:
        wanted &= ts >= start_us - start_us % step
    if end_us is not None:
        wanted &= ts < end_us - end_us % step + (step if end_us % step else 0)
    names = definition.sensors
    if wanted.all():
        return definition.regimes.normalise(readings, sensors, definition.cadence_minutes, names)
    value = np.full(len(readings), np.nan)
    if wanted.any():
        subset = readings.loc[wanted]
        value[wanted] = definition.regimes.normalise(
            subset, sensors, definition.cadence_minutes, names
        )
    return value


def _grouped_in_time_order(series: np.ndarray, ts: np.ndarray) -> bool:
    """Each series one contiguous run with strictly increasing times (how storage reads)."""
    if len(series) < 2:
        return True
    change = series[1:] != series[:-1]
    if not np.all(change | (ts[1:] > ts[:-1])):
        return False
    heads = series[np.r_[True, change]]
    return len(np.unique(heads)) == len(heads)
