"""The one C-MAPSS reader, and the bundled FD001 training engines (public domain) as engine runs.

NASA's files are whitespace-separated rows of 26 numbers (unit, cycle, 3 operating settings,
21 sensors); :func:`read_table` reads one, plain or gzip-compressed, and the benchmark
(:mod:`bench.cmapss`) builds its frames on it. Each engine unit is one machine life, run from
healthy to failure. The file is bundled gzip-compressed so the demo and the policy evaluation
work offline.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from sim.errors import TrajectoryError
from sim.sensors import CMAPSS_SENSORS

_SENSOR_COLUMNS = slice(5, 26)
COLUMN_COUNT = 26


@dataclass(frozen=True, eq=False)
class EngineRun:
    """One engine's run to failure: a (cycles × 21) array of sensor values in file order."""

    unit: int
    values: np.ndarray

    def __post_init__(self) -> None:
        if self.values.ndim != 2 or self.values.shape[1] != len(CMAPSS_SENSORS):
            raise ValueError(
                f"engine {self.unit} values must be (cycles, 21), got {self.values.shape}"
            )
        if self.values.shape[0] < 2:
            raise ValueError(f"engine {self.unit} needs at least 2 cycles")
        self.values.setflags(write=False)

    @property
    def cycles(self) -> int:
        """Cycles until failure: the engine fails at the end of its last cycle."""
        return int(self.values.shape[0])


def bundled_path() -> Path:
    """Where the bundled ``train_FD001.txt.gz`` lives inside the installed package."""
    return Path(str(resources.files("sim") / "data" / "train_FD001.txt.gz"))


def load_engines(path: Path | None = None) -> tuple[EngineRun, ...]:
    """Read engine runs from a C-MAPSS text file (plain or ``.gz``), default the bundled FD001.

    Raises :class:`TrajectoryError` when the file is missing or not C-MAPSS shaped.
    """
    if path is None:
        return _bundled()
    return _read(Path(path))


@lru_cache(maxsize=1)
def _bundled() -> tuple[EngineRun, ...]:
    return _read(bundled_path())


def read_table(path: Path | str) -> np.ndarray:
    """A C-MAPSS file (plain or ``.gz``) as a (rows × 26) float array, in file order.

    Raises :class:`TrajectoryError` when the file is missing or not C-MAPSS shaped.
    """
    path = Path(path)
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt") as handle:
            table = np.loadtxt(handle, dtype=np.float64, ndmin=2)
    except (OSError, ValueError) as exc:
        raise TrajectoryError(f"cannot read C-MAPSS file {path}: {exc}") from exc
    if table.shape[1] != COLUMN_COUNT:
        raise TrajectoryError(
            f"{path}: expected {COLUMN_COUNT} columns per row "
            "(unit, cycle, 3 settings, 21 sensors separated by spaces), "
            f"got shape {table.shape}"
        )
    return table


def _read(path: Path) -> tuple[EngineRun, ...]:
    table = read_table(path)
    units = table[:, 0].astype(int)
    runs = []
    for unit in np.unique(units):
        rows = table[units == unit]
        rows = rows[np.argsort(rows[:, 1])]
        runs.append(EngineRun(int(unit), np.ascontiguousarray(rows[:, _SENSOR_COLUMNS])))
    return tuple(runs)


def split_engines(
    engines: Sequence[EngineRun], holdout_fraction: float, seed: int
) -> tuple[tuple[EngineRun, ...], tuple[EngineRun, ...]]:
    """Split engines by unit into (train, held-out), the split derived from the seed.

    The policy evaluation replays held-out engines the model never trained on.
    """
    if not 0.0 < holdout_fraction < 1.0:
        raise ValueError(f"holdout_fraction must be in (0, 1), got {holdout_fraction}")
    order = np.random.default_rng(seed).permutation(len(engines))
    n_hold = max(1, round(len(engines) * holdout_fraction))
    held = sorted(order[:n_hold].tolist())
    train = sorted(order[n_hold:].tolist())
    return tuple(engines[i] for i in train), tuple(engines[i] for i in held)


def select_units(engines: Iterable[EngineRun], units: Iterable[int]) -> tuple[EngineRun, ...]:
    """The engines with the given unit numbers, in the order asked."""
    by_unit = {e.unit: e for e in engines}
    missing = [u for u in units if u not in by_unit]
    if missing:
        raise TrajectoryError(f"engine units {missing} are not in the C-MAPSS file")
    return tuple(by_unit[u] for u in units)
