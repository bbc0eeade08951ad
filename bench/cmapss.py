"""NASA C-MAPSS turbofan data loaded as a plant: engines are machines, cycles are hours.

The C-MAPSS benchmark (Saxena et al., PHM08) is the public yardstick for the RUL models. It
does not get a featurizer of its own: NASA's files (unit, cycle, 3 operating settings, 21
sensors) become what a plant gives Millwright —

- each engine is a machine, first reading at :data:`START`;
- cycle ``c`` is one reading per sensor at ``START + (c - 1) h``: the time axis is cycles;
- the three settings are sensors declared as **operating conditions** (``features.
  operating_conditions``): they define the regimes FD002/FD004 run in, and the other sensors
  are normalised per regime (:mod:`features.regimes`), fit on training engines only;
- the end of a run-to-failure engine is a ``failure`` event one cycle after its last reading —

and then the production code takes over: :func:`features.compute.compute_features` on the
:class:`~features.definitions.FeatureDefinition` of :func:`features_config`, labels from
:func:`features.labels.make_labels`, :func:`models.training.fit_artifact` and
:meth:`models.artifact.ModelArtifact.predict` with the ``[models]`` defaults.

Features are causal (an instant sees only readings before it), so the row at the instant after
a truncated engine's last cycle equals what a live scorer would compute at that moment.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from features.baselines import baseline_periods, baseline_stats
from features.compute import compute_features
from features.config import FeaturesConfig
from features.definitions import FeatureDefinition
from features.jobs import fresh_rows
from features.labels import make_labels
from features.machine_events import empty_events
from features.regimes import fit_regimes
from models.errors import CmapssFormatError
from sim.cmapss import read_table
from sim.errors import TrajectoryError

SETTINGS = ("setting1", "setting2", "setting3")
SENSORS = tuple(f"s{i}" for i in range(1, 22))
COLUMNS = ("unit", "cycle", *SETTINGS, *SENSORS)
VARYING = (
    "s2",
    "s3",
    "s4",
    "s7",
    "s8",
    "s9",
    "s11",
    "s12",
    "s13",
    "s14",
    "s15",
    "s17",
    "s20",
    "s21",
)
"""The 14 sensors that vary within an operating regime; the other 7 are constant there."""
RUL_CAP = 125
"""The literature's truth cap (rmse_capped); training derives its own cap from the lives."""
START = datetime(2000, 1, 1, tzinfo=UTC)
CYCLE = timedelta(hours=1)
FAR = datetime(2100, 1, 1, tzinfo=UTC)


def features_config() -> FeaturesConfig:
    """The plant settings a C-MAPSS fleet is declared with: one reading per cycle (hour), the
    settings as operating conditions, the 14 sensors that vary within a regime, windows of
    10/20/30 cycles, a 30-cycle baseline.

    Why 30: CV cuts keep at least 31 cycles observed, as FD001's test engines do, so every
    scored engine has its baseline; 30 healthy cycles rather than 20 take a fifth off the
    noise of the baseline's mean and std, which every ``dev`` and ``dev_rms`` is measured
    from (tune half of FD001, ``--cv 5 --cuts 3``: NASA-truth RMSE 11.49 with 20 cycles,
    11.11 with 30). An engine scored before its 30th cycle (some of FD002/FD004's official
    test engines) has no ``dev`` yet: NaN, which the boosters treat as missing."""
    return FeaturesConfig(
        cadence_minutes=60,
        windows_minutes=[600, 1200, 1800],
        ewma_halflife_minutes=600.0,
        baseline_hours=30.0,
        sensors=list(VARYING),
        operating_conditions=list(SETTINGS),
        staleness_minutes=60.0,
    )


@dataclass(frozen=True)
class EnginePlant:
    """C-MAPSS engines as plant tables: readings, sensors, events and each machine's origin."""

    readings: pd.DataFrame
    sensors: pd.DataFrame
    events: pd.DataFrame
    origins: Mapping[int, datetime]
    cycles: Mapping[int, int]

    @property
    def machines(self) -> list[int]:
        return sorted(self.cycles)

    def instant(self, machine: int, cycle: int) -> datetime:
        """The feature instant right after ``cycle``: it sees cycles 1..cycle."""
        return START + cycle * CYCLE


def engines_as_plant(frame: pd.DataFrame, *, failed: bool = True) -> EnginePlant:
    """Engines of a C-MAPSS frame as a plant; ``failed``: each run ends in a failure event."""
    names = (*SETTINGS, *SENSORS)
    units = frame["unit"].to_numpy(dtype=np.int64)
    cycles = frame["cycle"].to_numpy(dtype=np.int64)
    n, k = len(frame), len(names)
    ts = START + pd.to_timedelta((cycles - 1), unit="h")
    sensor_of = (units[:, None] * 100 + np.arange(1, k + 1)[None, :]).reshape(-1)
    readings = pd.DataFrame(
        {
            "ts": pd.DatetimeIndex(
                np.repeat(pd.DatetimeIndex(ts).as_unit("us").asi8, k).astype("datetime64[us]"),
                tz="UTC",
            ),
            "machine_id": np.repeat(units, k).astype(np.int32),
            "sensor_id": sensor_of.astype(np.int32),
            "value": frame[list(names)].to_numpy(dtype=np.float64).reshape(-1),
            "quality": np.zeros(n * k, dtype=np.int16),
        }
    )
    readings = readings.sort_values(["machine_id", "sensor_id", "ts"], kind="stable")
    machines = np.unique(units)
    sensors = pd.DataFrame(
        {
            "sensor_id": (machines[:, None] * 100 + np.arange(1, k + 1)[None, :]).reshape(-1),
            "machine_id": np.repeat(machines, k),
            "sensor": np.tile(np.asarray(names, dtype=object), len(machines)),
        }
    ).astype({"sensor_id": "int64", "machine_id": "int64"})
    lives = frame.groupby("unit")["cycle"].max()
    events = empty_events()
    if failed:
        events = pd.DataFrame(
            {
                "machine_id": lives.index.to_numpy(dtype=np.int64),
                "ts": pd.DatetimeIndex([START + int(c) * CYCLE for c in lives]).as_unit("us"),
                "kind": "failure",
                "ends_at": pd.DatetimeIndex([pd.NaT] * len(lives), tz="UTC").as_unit("us"),
            }
        )
    return EnginePlant(
        readings.reset_index(drop=True),
        sensors,
        events,
        dict.fromkeys((int(m) for m in machines), START),
        {int(u): int(c) for u, c in lives.items()},
    )


def fit_definition(plant: EnginePlant, config: FeaturesConfig, seed: int = 0) -> FeatureDefinition:
    """The feature definition for these settings, regimes fit on ``plant`` (training engines)."""
    definition = FeatureDefinition.from_config(config, list(VARYING))
    if not config.operating_conditions:
        return definition
    regimes = fit_regimes(
        plant.readings,
        plant.sensors,
        conditions=config.operating_conditions,
        normalised=definition.sensors,
        cadence_minutes=definition.cadence_minutes,
        method=config.regime_method,
        n_regimes=config.regime_count,
        seed=seed,
    )
    return definition.with_regimes(regimes)


def plant_features(
    definition: FeatureDefinition,
    plant: EnginePlant,
    staleness_minutes: float,
    *,
    at: datetime | None = None,
    until: datetime | None = None,
    machines: Sequence[int] | None = None,
) -> pd.DataFrame:
    """Every engine's features at each instant after one of its cycles (silent ones dropped),
    or only at instant ``at`` (through ``until``, when given) for ``machines`` (what online
    scoring computes)."""
    start = START + CYCLE if at is None else at
    end = START + max(plant.cycles.values()) * CYCLE if at is None else (until or at)
    machines = plant.machines if machines is None else sorted(machines)
    periods = baseline_periods(definition, plant.events, plant.origins, machines, start, end)
    baselines = baseline_stats(definition, plant.readings, plant.sensors, periods)
    frame = compute_features(
        definition,
        plant.readings,
        sensors=plant.sensors,
        machine_ids=machines,
        start=start,
        end=end,
        events=plant.events,
        origins=plant.origins,
        baselines=baselines,
    )
    return fresh_rows(definition, frame, staleness_minutes)


def plant_labels(plant: EnginePlant, keys: pd.DataFrame, horizon_hours: float) -> pd.DataFrame:
    """Labels of feature rows ``keys`` (machine_id, ts) from the plant's failure events."""
    return make_labels(keys, plant.events, horizon_hours=horizon_hours, observed_until=FAR)


def read_cmapss(path: Path | str) -> pd.DataFrame:
    """A C-MAPSS train or test file as a frame with :data:`COLUMNS`, sorted by unit and cycle.

    Read by the simulator's reader (:func:`sim.cmapss.read_table`), the only one.
    """
    try:
        table = read_table(path)
    except TrajectoryError as exc:
        raise CmapssFormatError(str(exc)) from exc
    raw = pd.DataFrame(table, columns=list(COLUMNS))
    frame = raw.astype({"unit": np.int64, "cycle": np.int64})
    return frame.sort_values(["unit", "cycle"], kind="stable").reset_index(drop=True)


def read_rul(path: Path | str) -> np.ndarray:
    """The true RUL of each test engine at its last cycle (one integer a line)."""
    try:
        values = pd.read_csv(path, sep=r"\s+", header=None, dtype=np.float64)
    except (OSError, ValueError) as exc:
        raise CmapssFormatError(f"{path}: cannot read RUL values: {exc}") from exc
    if values.shape[1] != 1:
        raise CmapssFormatError(f"{path}: {values.shape[1]} columns, expected one RUL per line")
    return values.iloc[:, 0].to_numpy()


def rul_target(frame: pd.DataFrame, cap: float | None = RUL_CAP) -> np.ndarray:
    """Cycles left until each run-to-failure engine's last cycle, capped at ``cap``."""
    last = frame.groupby("unit")["cycle"].transform("max")
    rul = (last - frame["cycle"]).to_numpy(dtype=np.float64)
    return rul if cap is None else np.minimum(rul, cap)


def truncate_units(
    frame: pd.DataFrame,
    seed: int,
    rul_range: tuple[int, int] = (7, 145),
    min_cycles: int = 31,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Cut each run-to-failure engine at a random cycle, like NASA's test files.

    The true RUL of each cut engine is drawn uniformly from ``rul_range`` while keeping at least
    ``min_cycles`` observed (the official FD001 test set spans RUL 7–145 and at least 31
    cycles). Returns the truncated frame and the true (uncapped) RUL per unit, in unit order.
    """
    rng = np.random.default_rng(seed)
    lengths = frame.groupby("unit")["cycle"].max()
    cut = {}
    truth = []
    for unit, length in lengths.items():
        high = min(rul_range[1], int(length) - min_cycles)
        low = min(rul_range[0], high)
        rul = int(rng.integers(max(low, 0), max(high, 0) + 1))
        cut[unit] = int(length) - rul
        truth.append(rul)
    keep = frame["cycle"].to_numpy() <= frame["unit"].map(cut).to_numpy()
    return frame.loc[keep].reset_index(drop=True), np.asarray(truth, dtype=np.float64)


def last_cycles(frame: pd.DataFrame) -> np.ndarray:
    """Row positions of each unit's last observed cycle, in unit order."""
    positions = frame.reset_index(drop=True).groupby("unit")["cycle"].idxmax()
    return positions.to_numpy()
