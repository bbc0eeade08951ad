"""The readings the edge holds: the open cadence bins raw, the closed ones reduced.

Features at an instant read only the cadence bins of the instant's look-back, and a bin's
aggregates depend only on its own readings (:mod:`features.bins`). So the edge keeps raw
samples (typed arrays, 17 bytes a sample) only for bins still open, and reduces a bin to ten
numbers per featurised sensor once the watermark (the newest timestamp seen) is ``grace_us``
past its end; the reduced bins of one look-back sit in a fixed ring (the count as int32,
the nine moments as float64: 76 bytes per sensor and bin, allocated once), whatever the
sampling rate. A sample seen twice (an MQTT
redelivery) is kept once, a late one put in time order while its bin is open; one arriving
after its bin closed is counted in ``late`` and dropped (``score_lag_s`` is the grace).

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

from features import FeatureState, closed_bins, empty_bins

CLOSE_CHUNK = 25
"""Machines reduced together when bins close (bounds the transient frame)."""


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
    """Raw open bins and a ring of closed bins for the machines of ``state``.

    ``sensors`` maps (machine name, sensor name) to (machine_id, sensor_id); readings of
    other sensors are counted in ``unknown`` and dropped (the centre has not seen them, so
    no model uses them).
    """

    def __init__(
        self,
        sensors: Mapping[tuple[str, str], tuple[int, int]],
        state: FeatureState,
        *,
        grace_us: int = 0,
    ) -> None:
        if grace_us < 0:
            raise ValueError(f"the grace of a closing bin is at least 0 µs, got {grace_us}.")
        definition = state.definition
        self.state = state
        self.cadence_us = definition.cadence_minutes * 60_000_000
        self.n_lookback = max(definition.windows_minutes) // definition.cadence_minutes
        self.span_us = self.n_lookback * self.cadence_us
        self.grace_us = grace_us
        self._ids = dict(sensors)
        self._machine_of = {sensor: machine for machine, sensor in self._ids.values()}
        self.machines = sorted({int(m) for m in state.sensors["machine_id"]})
        self._slot = {m: i for i, m in enumerate(self.machines)}
        n_cells = len(self.machines) * len(definition.sensors)
        # a bin's count is an integer: int32 holds it exactly and float64 gets it back bit
        # for bit (features.bins packs it as float64); the other fields stay float64
        fills = empty_bins(1, 1)[:, 0, 0]
        self._n = np.zeros((n_cells, self.n_lookback), np.int32)
        self._bins = np.empty((len(fills) - 1, n_cells, self.n_lookback))
        for field, fill in zip(self._bins, fills[1:], strict=True):
            field.fill(fill)
        self._seen = np.zeros((len(self.machines), self.n_lookback), np.int32)
        self._bin_of = np.full(self.n_lookback, -1, np.int64)  # absolute bin held by a slot
        self._series: dict[int, _Series] = {}
        self.closed_until_us: int | None = None
        self.watermark_us: int | None = None
        self.unknown = 0
        self.duplicates = 0
        self.late = 0
        self._lock = threading.Lock()

    def fits(self, state: FeatureState) -> bool:
        """Whether this window's bins serve ``state`` (same definition, same machines)."""
        machines = sorted({int(m) for m in state.sensors["machine_id"]})
        return state.version == self.state.version and machines == self.machines

    def relabel(
        self, sensors: Mapping[tuple[str, str], tuple[int, int]], state: FeatureState
    ) -> None:
        """New sensor names and a refreshed state that :meth:`fits`; the bins stay."""
        if not self.fits(state):
            raise ValueError("a window only takes a state of its own definition and machines.")
        with self._lock:
            self._ids = dict(sensors)
            self._machine_of = {sensor: machine for machine, sensor in self._ids.values()}
            self.state = state

    def add(self, rows: Iterable[tuple[str, str, int, float, int]]) -> int:
        """Keep ``(machine, sensor, ts_us, value, quality)`` rows; returns how many were new.
        Bins the watermark left ``grace_us`` behind are reduced (see the module docstring)."""
        kept = 0
        with self._lock:
            for machine, sensor, ts, value, quality in rows:
                ids = self._ids.get((machine, sensor))
                if ids is None:
                    self.unknown += 1
                    continue
                kept += self._keep(ids[1], int(ts), float(value), int(quality))
            self._close_due()
        return kept

    def _keep(self, sid: int, ts: int, value: float, quality: int) -> int:
        if self.closed_until_us is None:
            self.closed_until_us = ts - ts % self.cadence_us
        elif ts < self.closed_until_us:
            self.late += 1
            return 0
        series = self._series.get(sid)
        if series is None:
            series = self._series[sid] = _Series()
        if not series.add(ts, value, quality):
            self.duplicates += 1
            return 0
        if self.watermark_us is None or ts > self.watermark_us:
            self.watermark_us = ts
        return 1

    def prime(self, readings: pd.DataFrame) -> int:
        """Keep readings read back from the centre (ts, machine_id, sensor_id, value, quality),
        so a starting edge holds a full look-back at once; returns how many were new."""
        if readings.empty:
            return 0
        ts = pd.DatetimeIndex(readings["ts"]).as_unit("us").asi8
        known = set(self._machine_of)
        kept = 0
        with self._lock:
            if not (self._bin_of >= 0).any() and len(ts):
                # nothing closed yet: the live rows that came first do not make these late
                first = int(ts.min())
                floor = first - first % self.cadence_us
                if self.closed_until_us is None or floor < self.closed_until_us:
                    self.closed_until_us = floor
            for sid, t, v, q in zip(
                readings["sensor_id"].to_numpy(np.int64), ts,
                readings["value"].to_numpy(np.float64), readings["quality"].to_numpy(np.int64),
                strict=True,
            ):  # fmt: skip
                if int(sid) in known:
                    kept += self._keep(int(sid), int(t), float(v), int(q))
            self._close_due()
        return kept

    # --- closing bins -----------------------------------------------------------------------

    def close_until(self, until_us: int) -> None:
        """Reduce every bin ending at or before ``until_us`` (an instant about to be scored)."""
        with self._lock:
            self._close(until_us - until_us % self.cadence_us)

    def _close_due(self) -> None:
        if self.watermark_us is not None:
            due = self.watermark_us - self.grace_us
            self._close(due - due % self.cadence_us)

    def _close(self, until_us: int) -> None:
        if self.closed_until_us is None:
            self.closed_until_us = until_us
            return
        if until_us <= self.closed_until_us:
            return
        # bins older than one look-back before ``until_us`` are never read again
        first = max(self.closed_until_us, until_us - self.span_us)
        n_bins = (until_us - first) // self.cadence_us
        sensors = len(self.state.definition.sensors)
        for i in range(0, len(self.machines), CLOSE_CHUNK):
            chunk = self.machines[i : i + CLOSE_CHUNK]
            frame = self._frame(chunk, first, until_us)
            reduced = closed_bins(self.state, frame, chunk, first_us=first, n_bins=n_bins)
            seen = self._counts(chunk, first, n_bins, frame)
            cells = slice(i * sensors, (i + len(chunk)) * sensors)
            for b in range(n_bins):
                slot = (first // self.cadence_us + b) % self.n_lookback
                self._n[cells, slot] = reduced[0, :, b]
                self._bins[:, cells, slot] = reduced[1:, :, b]
                self._seen[i : i + len(chunk), slot] = seen[:, b]
        for b in range(n_bins):
            absolute = first // self.cadence_us + b
            self._bin_of[absolute % self.n_lookback] = absolute
        for series in self._series.values():
            series.drop_before(until_us)
        self.closed_until_us = until_us

    def _counts(
        self, chunk: Sequence[int], first_us: int, n_bins: int, frame: pd.DataFrame
    ) -> np.ndarray:
        """Raw samples per machine and bin (any known sensor): which machines sent data."""
        out = np.zeros((len(chunk), n_bins), np.int32)
        if len(frame):
            slot = {m: j for j, m in enumerate(chunk)}
            rows = np.array([slot[int(m)] for m in frame["machine_id"]], np.int64)
            b = (frame["ts"].array.as_unit("us").asi8 - first_us) // self.cadence_us
            np.add.at(out, (rows, b), 1)
        return out

    # --- reading ---------------------------------------------------------------------------

    def samples(self) -> int:
        """Raw samples held now (the open bins)."""
        with self._lock:
            return sum(len(s.ts) for s in self._series.values())

    def bins_held(self) -> int:
        """Closed bins held (ring slots in use)."""
        with self._lock:
            return int((self._bin_of >= 0).sum())

    def nbytes(self) -> int:
        """Bytes of the closed-bin ring and the raw open samples."""
        with self._lock:
            raw = sum(len(s.ts) * 17 for s in self._series.values())
            ring = self._n.nbytes + self._bins.nbytes + self._seen.nbytes + self._bin_of.nbytes
            return int(ring + raw)

    def machines_with_data(self, start_us: int, end_us: int) -> list[int]:
        """Machines with at least one sample in ``[start_us, end_us)`` (whole bins once
        closed, samples while open)."""
        with self._lock:
            found: set[int] = set()
            for absolute in range(start_us // self.cadence_us, -(-end_us // self.cadence_us)):
                slot = absolute % self.n_lookback
                if self._bin_of[slot] == absolute:
                    found.update(self.machines[j] for j in np.flatnonzero(self._seen[:, slot]))
            found.update(
                self._machine_of[sid]
                for sid, series in self._series.items()
                if series.count(start_us, end_us)
            )
        return sorted(found)

    def bins(self, machine_ids: Sequence[int], instant_us: int) -> np.ndarray:
        """The closed bins of ``instant_us``'s look-back for ``machine_ids`` (packed as
        :mod:`features.bins` takes them); bins never closed here are empty."""
        sensors = len(self.state.definition.sensors)
        cells = np.concatenate(
            [np.arange(sensors) + self._slot[int(m)] * sensors for m in machine_ids]
        ) if len(machine_ids) else np.zeros(0, np.int64)  # fmt: skip
        first = instant_us // self.cadence_us - self.n_lookback
        with self._lock:
            if self.closed_until_us is None or self.closed_until_us < instant_us:
                raise ValueError("the look-back of an instant is scored once its bins closed.")
            absolute = first + np.arange(self.n_lookback)
            slots = absolute % self.n_lookback
            held = self._bin_of[slots] == absolute
            out = np.empty((len(self._bins) + 1, len(cells), self.n_lookback))
            out[0] = self._n[cells][:, slots]
            out[1:] = self._bins[:, cells][:, :, slots]
        if not held.all():
            out[:, :, ~held] = empty_bins(len(cells), int((~held).sum()))
        return out

    def frame(self, machine_ids: Sequence[int], start_us: int, end_us: int) -> pd.DataFrame:
        """Raw readings of ``machine_ids`` in ``[start_us, end_us)`` still held (open bins):
        ts, machine_id, sensor_id, value, quality."""
        with self._lock:
            return self._frame(machine_ids, start_us, end_us)

    def _frame(self, machine_ids: Sequence[int], start_us: int, end_us: int) -> pd.DataFrame:
        wanted = set(int(m) for m in machine_ids)
        parts: list[tuple[int, int, np.ndarray, np.ndarray, np.ndarray]] = []
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
