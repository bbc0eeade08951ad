"""The readings the edge holds: a bounded window per sensor, nothing older than scoring needs.

Features at an instant read only the instant's look-back (the longest window), so the edge
keeps, per sensor, the samples of the last look-back plus one cadence bin, in typed arrays
(17 bytes a sample: µs timestamp, value, quality) rather than rows of Python objects or a
growing DataFrame. Older samples are dropped as the watermark (the newest timestamp seen)
moves on. A sample seen twice (an MQTT redelivery) is kept once; a late sample is put in
time order.

The window is also the edge's clock: an instant is scored once the watermark has passed it,
so the edge scores the same grid instants as the central jobs, from the readings' own
timestamps, whatever the wall clock says.
"""

from __future__ import annotations

import bisect
import threading
from array import array
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd


class _Series:
    __slots__ = ("quality", "ts", "value")

    def __init__(self) -> None:
        self.ts = array("q")
        self.value = array("d")
        self.quality = array("b")

    def add(self, ts: int, value: float, quality: int) -> bool:
        if not self.ts or ts > self.ts[-1]:
            self.ts.append(ts)
            self.value.append(value)
            self.quality.append(quality)
            return True
        at = bisect.bisect_left(self.ts, ts)
        if at < len(self.ts) and self.ts[at] == ts:
            return False  # redelivered
        self.ts.insert(at, ts)
        self.value.insert(at, value)
        self.quality.insert(at, quality)
        return True

    def drop_before(self, ts: int) -> None:
        cut = bisect.bisect_left(self.ts, ts)
        if cut:
            del self.ts[:cut], self.value[:cut], self.quality[:cut]

    def count(self, start: int, end: int) -> int:
        return bisect.bisect_left(self.ts, end) - bisect.bisect_left(self.ts, start)

    def between(self, start: int, end: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Copies: a view would pin the arrays' buffers and refuse the next append."""
        lo, hi = bisect.bisect_left(self.ts, start), bisect.bisect_left(self.ts, end)
        return (
            np.frombuffer(self.ts, np.int64)[lo:hi].copy(),
            np.frombuffer(self.value, np.float64)[lo:hi].copy(),
            np.frombuffer(self.quality, np.int8)[lo:hi].copy(),
        )


class ReadingWindow:
    """Per-sensor windows of ``span_us``, keyed by the feature state's sensor ids.

    ``sensors`` maps (machine name, sensor name) to (machine_id, sensor_id); readings of
    other sensors are counted in ``unknown`` and dropped (the centre has not seen them, so
    no model uses them).
    """

    def __init__(self, sensors: Mapping[tuple[str, str], tuple[int, int]], span_us: int) -> None:
        if span_us <= 0:
            raise ValueError(f"a reading window must span a positive time, got {span_us} µs.")
        self._ids = dict(sensors)
        self._machine_of = {sensor: machine for machine, sensor in self._ids.values()}
        self._series: dict[int, _Series] = {}
        self.span_us = span_us
        self.watermark_us: int | None = None
        self.unknown = 0
        self.duplicates = 0
        self._lock = threading.Lock()

    def add(self, rows: Iterable[tuple[str, str, int, float, int]]) -> int:
        """Keep ``(machine, sensor, ts_us, value, quality)`` rows; returns how many were new."""
        kept = 0
        with self._lock:
            for machine, sensor, ts, value, quality in rows:
                ids = self._ids.get((machine, sensor))
                if ids is None:
                    self.unknown += 1
                    continue
                series = self._series.get(ids[1])
                if series is None:
                    series = self._series[ids[1]] = _Series()
                if series.add(int(ts), float(value), int(quality)):
                    kept += 1
                else:
                    self.duplicates += 1
                if self.watermark_us is None or ts > self.watermark_us:
                    self.watermark_us = int(ts)
            if self.watermark_us is not None:
                floor = self.watermark_us - self.span_us
                for series in self._series.values():
                    if series.ts and series.ts[0] < floor:
                        series.drop_before(floor)
        return kept

    def prime(self, readings: pd.DataFrame) -> int:
        """Keep readings read back from the centre (ts, machine_id, sensor_id, value, quality),
        so a starting edge holds a full look-back at once; returns how many were new."""
        if readings.empty:
            return 0
        ts = pd.DatetimeIndex(readings["ts"]).as_unit("us").asi8
        known = set(self._machine_of)
        kept = 0
        with self._lock:
            for sid, t, v, q in zip(
                readings["sensor_id"].to_numpy(np.int64), ts,
                readings["value"].to_numpy(np.float64), readings["quality"].to_numpy(np.int64),
                strict=True,
            ):  # fmt: skip
                if int(sid) not in known:
                    continue
                series = self._series.get(int(sid))
                if series is None:
                    series = self._series[int(sid)] = _Series()
                kept += series.add(int(t), float(v), int(q))
                if self.watermark_us is None or t > self.watermark_us:
                    self.watermark_us = int(t)
        return kept

    def samples(self) -> int:
        """Samples held now."""
        with self._lock:
            return sum(len(s.ts) for s in self._series.values())

    def machines_with_data(self, start_us: int, end_us: int) -> list[int]:
        """Machines with at least one sample in ``[start_us, end_us)``."""
        with self._lock:
            found = {
                self._machine_of[sid]
                for sid, series in self._series.items()
                if series.count(start_us, end_us)
            }
        return sorted(found)

    def frame(self, machine_ids: Sequence[int], start_us: int, end_us: int) -> pd.DataFrame:
        """Readings of ``machine_ids`` in ``[start_us, end_us)``: ts, machine_id, sensor_id,
        value, quality (what :func:`features.features_at` takes)."""
        wanted = set(int(m) for m in machine_ids)
        parts: list[tuple[int, int, np.ndarray, np.ndarray, np.ndarray]] = []
        with self._lock:
            for sid, series in sorted(self._series.items()):
                machine = self._machine_of[sid]
                if machine in wanted:
                    parts.append((machine, sid, *series.between(start_us, end_us)))
        sizes = [len(p[2]) for p in parts]
        if not parts:
            return pd.DataFrame(
                {
                    "ts": pd.DatetimeIndex([], tz="UTC").as_unit("us"),
                    "machine_id": np.zeros(0, np.int64),
                    "sensor_id": np.zeros(0, np.int64),
                    "value": np.zeros(0, np.float64),
                    "quality": np.zeros(0, np.int16),
                }
            )
        ts_all = np.concatenate([p[2] for p in parts])
        return pd.DataFrame(
            {
                "ts": pd.DatetimeIndex(ts_all.astype("datetime64[us]"), tz="UTC"),
                "machine_id": np.repeat(np.array([p[0] for p in parts], np.int64), sizes),
                "sensor_id": np.repeat(np.array([p[1] for p in parts], np.int64), sizes),
                "value": np.concatenate([p[3] for p in parts]),
                "quality": np.concatenate([p[4] for p in parts]).astype(np.int16),
            }
        )
