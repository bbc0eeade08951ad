"""Feature jobs: incremental runs and backfills, chunked by machine and time.

A run computes, per machine, every grid instant after its watermark up to the plant clock
(the newest reading, minus ``settle_minutes``); a backfill computes a given range. Both read
only what the instants need — their readings since the first instant minus the longest
window, the machines' events, stored baselines — compute with :func:`compute_features` (the
same function online scoring and training use) and store rows and watermarks together, so
a second run finds nothing to do and writes nothing.

While one chunk is computed, the next two chunks' readings are being read and the previous
chunk's rows written, each on its own connection: the database and numpy work at the same
time. At most one write is in flight, so watermarks still move in order.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from features.baselines import Baselines, baseline_periods, baseline_stats
from features.bulk_read import read_series
from features.compute import ceil_to_grid, compute_features, floor_to_grid
from features.config import FeaturesConfig
from features.definitions import FeatureDefinition
from features.errors import NoSensorsError
from features.inputs import (
    first_readings,
    latest_readings,
    machine_ids,
    read_events,
    read_sensors,
)
from features.machine_events import to_us
from features.regimes import fit_regimes
from features.store import FeatureStore
from millwright.core.storage import Database

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]

# Chunks whose readings are read ahead, each on its own connection: the server reads while
# numpy computes, and the previous chunk's rows are written meanwhile (one writer thread).
READ_AHEAD = 2


@dataclass(frozen=True)
class JobResult:
    """What a run or backfill did: rows computed and newly stored, readings read."""

    version: str
    machines: int
    rows: int
    written: int
    readings: int
    seconds: float
    through: datetime | None

    def as_dict(self) -> dict[str, object]:
        return {
            "version": self.version,
            "machines": self.machines,
            "rows": self.rows,
            "written": self.written,
            "readings": self.readings,
            "seconds": round(self.seconds, 3),
            "through": self.through.isoformat() if self.through else None,
        }


@dataclass(frozen=True)
class _Chunk:
    machines: list[int]
    start: datetime
    end: datetime
    advance: bool

    def rows(self, cadence: timedelta) -> int:
        return len(self.machines) * (int((self.end - self.start) / cadence) + 1)


def fresh_rows(
    definition: FeatureDefinition, frame: pd.DataFrame, staleness_minutes: float
) -> pd.DataFrame:
    """The rows where at least one sensor read within ``staleness_minutes`` before the instant.

    A machine that went silent (offline, unplugged, its collector down) gets no rows for the
    silence instead of rows extrapolated from old readings; bulk and online drop the same rows.
    """
    ages = frame[[f"{s}__last_age_h" for s in definition.sensors]].to_numpy()
    with np.errstate(invalid="ignore"):
        fresh = (ages <= staleness_minutes / 60.0).any(axis=1)
    return frame if fresh.all() else frame[fresh].reset_index(drop=True)


def resolve_definition(database: Database, config: FeaturesConfig) -> FeatureDefinition:
    """The definition for the settings: pinned sensors, or every sensor name registered
    (operating conditions excluded: they define regimes). With operating conditions declared,
    regimes and their statistics are fit on the first ``regime_fit_hours`` of the plant's
    readings (see :func:`fit_definition_regimes`)."""
    sensors = read_sensors(database)
    conditions = list(config.operating_conditions)
    names = config.sensors or sorted(set(sensors["sensor"]) - set(conditions))
    if not names:
        raise NoSensorsError(
            "no sensors are registered and features.sensors is unset; ingest readings first"
        )
    definition = FeatureDefinition.from_config(config, names)
    if not conditions:
        return definition
    unknown = sorted(set(conditions) - set(sensors["sensor"]))
    if unknown:
        raise NoSensorsError(
            f"features.operating_conditions names sensors {unknown} that are not registered"
        )
    machines = machine_ids(database)
    origins = first_readings(database, machines)
    if not origins:
        raise NoSensorsError("operating regimes need readings to be fit on; ingest first")
    start = floor_to_grid(min(origins.values()), definition.cadence)
    end = floor_to_grid(start + timedelta(hours=config.regime_fit_hours), definition.cadence)
    wanted = sensors["sensor"].isin([*names, *conditions])
    readings = read_series(
        database,
        start=start,
        end=end,
        machine_ids=machines,
        sensor_ids=sensors.loc[wanted, "sensor_id"].tolist(),
    )
    regimes = fit_regimes(
        readings,
        sensors,
        conditions=conditions,
        normalised=names,
        cadence_minutes=definition.cadence_minutes,
        method=config.regime_method,
        n_regimes=config.regime_count,
    )
    return definition.with_regimes(regimes)


class FeatureJob:
    """Computes and stores the features of one definition."""

    def __init__(
        self,
        database: Database,
        config: FeaturesConfig,
        definition: FeatureDefinition | None = None,
        *,
        progress: Progress | None = None,
    ) -> None:
        self._database = database
        self._config = config
        self.definition = definition or resolve_definition(database, config)
        self.store = FeatureStore(database)
        self.version = self.store.register(self.definition)
        self._progress = progress

    # --- public verbs --------------------------------------------------------------------

    def run(
        self, *, until: datetime | None = None, machines: Sequence[int] | None = None
    ) -> JobResult:
        """Compute every instant after each machine's watermark up to ``until`` (default: the
        plant clock minus ``settle_minutes``). Machines without readings are skipped."""
        started = time.perf_counter()
        machines = list(machines) if machines is not None else machine_ids(self._database)
        cadence = self.definition.cadence
        if until is None:
            latest = latest_readings(self._database, machines)
            if not latest:
                return self._result(0, 0, 0, 0, started, None)
            until = max(latest.values()) - timedelta(minutes=self._config.settle_minutes)
        until = floor_to_grid(until, cadence)
        marks = self.store.watermarks(self.version, machines)
        origins = first_readings(self._database, machines)
        latest = latest_readings(self._database, machines)
        stale = timedelta(minutes=self._config.staleness_minutes)
        starts, ends = {}, {}
        for m in machines:
            if m in marks:
                starts[m] = marks[m] + cadence
            elif m in origins:
                starts[m] = floor_to_grid(origins[m], cadence) + cadence
            if m in latest:  # a silent machine stops at its last reading + the staleness limit
                ends[m] = min(until, floor_to_grid(latest[m] + stale, cadence))
        return self._execute(
            starts, ends, origins, advance=lambda _s, _m: True, started=started, until=until
        )

    def backfill(
        self, start: datetime, end: datetime, *, machines: Sequence[int] | None = None
    ) -> JobResult:
        """Compute the grid instants in ``[start, end]`` (existing rows are kept). A
        machine's watermark moves to ``end`` when the backfill joins up with it (or it had
        none), so later runs continue after the backfill without leaving a gap."""
        started = time.perf_counter()
        machines = list(machines) if machines is not None else machine_ids(self._database)
        cadence = self.definition.cadence
        first, last = ceil_to_grid(start, cadence), floor_to_grid(end, cadence)
        marks = self.store.watermarks(self.version, machines)
        origins = first_readings(self._database, machines)
        starts = {
            m: max(first, floor_to_grid(origins[m], cadence) + cadence)
            for m in machines
            if m in origins
        }

        def joins(_first: datetime, machine: int) -> bool:
            mark = marks.get(machine)
            return mark is None or mark + cadence >= starts[machine]

        ends = dict.fromkeys(starts, last)
        return self._execute(starts, ends, origins, advance=joins, started=started, until=last)

    # --- planning and execution ----------------------------------------------------------

    def _plan(
        self,
        starts: dict[int, datetime],
        ends: dict[int, datetime] | datetime,
        advance: Callable[[datetime, int], bool],
    ) -> list[_Chunk]:
        """Chunks of machines sharing a first and last instant (``ends``: per machine, or one
        for all)."""
        if isinstance(ends, datetime):
            ends = dict.fromkeys(starts, ends)
        cadence = self.definition.cadence
        step = max(int(timedelta(hours=self._config.chunk_hours) / cadence), 1) * cadence
        by_range: dict[tuple[datetime, datetime], list[int]] = {}
        for machine, first in starts.items():
            end = ends.get(machine)
            if end is not None and first <= end:
                by_range.setdefault((first, end), []).append(machine)
        chunks = []
        size = self._config.machines_per_chunk
        for (first, end), group in sorted(by_range.items()):
            for i in range(0, len(group), size):
                members = sorted(group[i : i + size])
                t = first
                while t <= end:
                    last = min(t + step - cadence, end)
                    flags = {advance(first, m) for m in members}
                    chunks.append(_Chunk(members, t, last, all(flags)))
                    t = last + cadence
        return chunks

    def _read(self, chunk: _Chunk, sensors: pd.DataFrame) -> pd.DataFrame:
        """The chunk's readings since its first instant's look-back, defined sensors only."""
        wanted = sensors["machine_id"].isin(chunk.machines) & sensors["sensor"].isin(
            self.definition.input_sensors
        )
        return read_series(
            self._database,
            start=chunk.start - self.definition.lookback,
            end=chunk.end,
            machine_ids=chunk.machines,
            sensor_ids=sensors.loc[wanted, "sensor_id"].tolist(),
        )

    def _execute(
        self,
        starts: dict[int, datetime],
        ends: dict[int, datetime],
        origins: dict[int, datetime],
        *,
        advance: Callable[[datetime, int], bool],
        started: float,
        until: datetime,
    ) -> JobResult:
        chunks = self._plan(starts, ends, advance)
        end = until
        total = sum(c.rows(self.definition.cadence) for c in chunks)
        sensors = read_sensors(self._database)
        done = written = readings = 0
        events_of: dict[tuple[int, ...], pd.DataFrame] = {}
        with (
            ThreadPoolExecutor(READ_AHEAD, thread_name_prefix="features-read") as readers,
            ThreadPoolExecutor(1, thread_name_prefix="features-write") as writer,
        ):
            reads = deque(readers.submit(self._read, c, sensors) for c in chunks[:READ_AHEAD])
            writing: Future[int] | None = None
            for i, chunk in enumerate(chunks):
                frame_in = reads.popleft().result()
                if i + READ_AHEAD < len(chunks):
                    reads.append(readers.submit(self._read, chunks[i + READ_AHEAD], sensors))
                key = tuple(chunk.machines)
                if key not in events_of:
                    events_of[key] = read_events(self._database, chunk.machines, end)
                events = events_of[key]
                baselines = self._baselines(chunk, events, origins, sensors, frame_in)
                frame = compute_features(
                    self.definition,
                    frame_in,
                    sensors=sensors,
                    machine_ids=chunk.machines,
                    start=chunk.start,
                    end=chunk.end,
                    events=events,
                    origins=origins,
                    baselines=baselines,
                )
                frame = fresh_rows(self.definition, frame, self._config.staleness_minutes)
                through = {m: chunk.end for m in chunk.machines} if chunk.advance else None
                if writing is not None:  # one write in flight: watermarks move in order
                    written += writing.result()
                writing = writer.submit(self.store.write, self.version, frame, through=through)
                done += len(frame)
                readings += len(frame_in)
                if self._progress is not None:
                    self._progress(done, total)
                log.debug("features %s: %d/%d rows", self.version, done, total)
            if writing is not None:
                written += writing.result()
        machines = len({m for c in chunks for m in c.machines})
        last = max(c.end for c in chunks) if chunks else None
        return self._result(machines, done, written, readings, started, last)

    def _baselines(
        self,
        chunk: _Chunk,
        events: pd.DataFrame,
        origins: dict[int, datetime],
        sensors: pd.DataFrame,
        readings: pd.DataFrame,
    ) -> Baselines:
        """Stored baselines of the chunk's periods; missing ones computed (from the chunk's
        readings when they cover the period, else read) and stored."""
        n_sensors = len(self.definition.sensors)
        periods = baseline_periods(
            self.definition, events, origins, chunk.machines, chunk.start, chunk.end
        )
        stored = self.store.baselines(self.version, chunk.machines, n_sensors)
        if periods.empty:
            return stored
        known = stored.index()
        starts = to_us(periods["start"])
        missing = periods[
            [
                (int(m), int(s)) not in known
                for m, s in zip(periods["machine_id"], starts, strict=True)
            ]
        ]
        if missing.empty:
            return stored
        # Periods inside the loaded readings are computed from them; others are read alone
        # (never both: a row counted twice would skew the baseline).
        inside = (missing["start"] >= chunk.start - self.definition.lookback) & (
            missing["end"] <= chunk.end
        )
        fresh = baseline_stats(self.definition, readings, sensors, missing[inside])
        outside = missing[~inside]
        for i in range(len(outside)):
            period = outside.iloc[[i]]
            # whole cadence bins: a reading's regime depends on its bin's condition readings
            alone = read_series(
                self._database,
                start=floor_to_grid(period["start"].iloc[0], self.definition.cadence),
                end=ceil_to_grid(period["end"].iloc[0], self.definition.cadence),
                machine_ids=[int(period["machine_id"].iloc[0])],
            )
            fresh = fresh.concat(baseline_stats(self.definition, alone, sensors, period))
        self.store.save_baselines(self.version, fresh)
        return stored.concat(fresh)

    def _result(
        self,
        machines: int,
        rows: int,
        written: int,
        readings: int,
        started: float,
        through: datetime | None,
    ) -> JobResult:
        return JobResult(
            self.version, machines, rows, written, readings, time.perf_counter() - started, through
        )
