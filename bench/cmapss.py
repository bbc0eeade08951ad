"""NASA C-MAPSS turbofan data: reading the files, features per engine cycle, RUL targets.

The C-MAPSS benchmark (Saxena et al., PHM08) is the public yardstick for the RUL models.
This module is self-contained on purpose: it turns NASA's whitespace-separated files
(unit, cycle, 3 operating settings, 21 sensors) into the same kind of frame the plant features
produce, so the benchmark exercises the project's estimators, not a special model.

Features are causal (each cycle sees only its own past), so the row at the last observed cycle
of a truncated test engine equals what a live scorer would compute at that moment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans

from models.errors import CmapssFormatError
from sim.cmapss import read_table
from sim.errors import TrajectoryError

SETTINGS = ("setting1", "setting2", "setting3")
SENSORS = tuple(f"s{i}" for i in range(1, 22))
COLUMNS = ("unit", "cycle", *SETTINGS, *SENSORS)
RUL_CAP = 125
"""Piecewise-linear target: early in life degradation is invisible, so RUL is capped."""


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


@dataclass
class CmapssFeaturizer:
    """Per-cycle features for C-MAPSS engines; ``fit`` on training engines only.

    ``fit`` learns the operating regimes (k-means on the settings when the file has several,
    as FD002/FD004 do), each sensor's mean and spread per regime, and which sensors are
    constant; ``transform`` normalises sensors by regime and builds causal rolling features.
    """

    windows: Sequence[int] = (10, 20, 30)
    ewm_spans: Sequence[int] = (10, 30)
    baseline_cycles: int = 20
    seed: int = 0
    regimes_: KMeans | None = field(default=None, init=False, repr=False)
    sensors_: list[str] = field(default_factory=list, init=False)
    means_: np.ndarray | None = field(default=None, init=False, repr=False)
    stds_: np.ndarray | None = field(default=None, init=False, repr=False)

    def _regime(self, frame: pd.DataFrame) -> np.ndarray:
        if self.regimes_ is None:
            return np.zeros(len(frame), dtype=np.int64)
        return self.regimes_.predict(frame[list(SETTINGS)].to_numpy())

    def fit(self, frame: pd.DataFrame) -> CmapssFeaturizer:
        """Learn regimes, per-regime sensor statistics and the informative sensors."""
        settings = frame[list(SETTINGS)].to_numpy()
        rounded = frame[list(SETTINGS)].round({"setting1": 0, "setting2": 2, "setting3": 0}) + 0.0
        combos = rounded.value_counts(normalize=True)
        n_regimes = int((combos > 0.01).sum())
        self.regimes_ = None
        if n_regimes > 1:
            self.regimes_ = KMeans(n_regimes, n_init=10, random_state=self.seed).fit(settings)
        regime = self._regime(frame)
        values = frame[list(SENSORS)].to_numpy()
        k = int(regime.max()) + 1
        self.means_ = np.vstack([values[regime == r].mean(axis=0) for r in range(k)])
        self.stds_ = np.vstack([values[regime == r].std(axis=0) for r in range(k)])
        distinct = frame[list(SENSORS)].nunique().to_numpy()
        informative = (self.stds_.max(axis=0) > 1e-9) & (distinct > 2 * k)
        self.sensors_ = [s for s, keep in zip(SENSORS, informative, strict=True) if keep]
        return self

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """One row of features per input row, in input order; ``cycle`` (age) is one of them."""
        if self.means_ is None or self.stds_ is None:
            raise CmapssFormatError("CmapssFeaturizer.transform called before fit")
        frame = frame.reset_index(drop=True)
        regime = self._regime(frame)
        idx = [SENSORS.index(s) for s in self.sensors_]
        values = frame[self.sensors_].to_numpy()
        scaled = (values - self.means_[regime][:, idx]) / np.where(
            self.stds_[regime][:, idx] > 0, self.stds_[regime][:, idx], 1.0
        )
        order = np.lexsort((frame["cycle"].to_numpy(), frame["unit"].to_numpy()))
        units = frame["unit"].to_numpy()[order]
        cycles = frame["cycle"].to_numpy(dtype=np.float64)[order]
        features = self._rolling(scaled[order], units, cycles)
        features.index = order
        return features.sort_index()

    def _rolling(self, x: np.ndarray, units: np.ndarray, t: np.ndarray) -> pd.DataFrame:
        """Causal window statistics over rows sorted by unit then cycle."""
        n = len(units)
        new_unit = np.r_[True, units[1:] != units[:-1]]
        unit_start = np.maximum.accumulate(np.where(new_unit, np.arange(n), 0))
        position = np.arange(n) - unit_start
        parts: dict[str, np.ndarray] = {"cycle": t}
        for j, s in enumerate(self.sensors_):
            parts[s] = x[:, j]
        # Baseline: the mean of the engine's first cycles (engines start with different wear).
        early = np.where((position < self.baseline_cycles)[:, None], x, 0.0)
        baseline = (
            _unit_cumsum(early, unit_start)
            / np.minimum(position + 1, self.baseline_cycles)[:, None]
        )
        tc = t - t[unit_start]  # cycles since the unit's first row keeps sums well scaled
        for w in self.windows:
            count, sx = _window_sum(x, position, unit_start, w)
            _, sxx = _window_sum(x * x, position, unit_start, w)
            _, stx = _window_sum(x * tc[:, None], position, unit_start, w)
            _, st = _window_sum(tc[:, None], position, unit_start, w)
            _, stt = _window_sum((tc * tc)[:, None], position, unit_start, w)
            c = count[:, None]
            mean = sx / c
            var = np.where(c > 1, (sxx - sx * mean) / np.maximum(c - 1, 1), np.nan)
            std = np.sqrt(np.clip(var, 0.0, None))
            var_t = stt - st * st / c
            slope = np.where(
                var_t > 1e-9, (stx - st * mean) / np.where(var_t > 1e-9, var_t, 1), np.nan
            )
            for j, s in enumerate(self.sensors_):
                parts[f"{s}_mean{w}"] = mean[:, j]
                parts[f"{s}_std{w}"] = std[:, j]
                parts[f"{s}_slope{w}"] = slope[:, j]
                parts[f"{s}_dev{w}"] = mean[:, j] - baseline[:, j]
        for span in self.ewm_spans:
            ewm = _unit_ewm(x, new_unit, 2.0 / (span + 1.0))
            for j, s in enumerate(self.sensors_):
                parts[f"{s}_ewm{span}"] = ewm[:, j]
        return pd.DataFrame(parts)


def _unit_cumsum(a: np.ndarray, unit_start: np.ndarray) -> np.ndarray:
    """Cumulative sums restarting at each unit (rows sorted by unit).

    Restarting (rather than differencing one global cumsum) makes a unit's sums independent of
    the units before it, so a truncated engine gets bit-identical features.
    """
    return pd.DataFrame(a).groupby(unit_start, sort=False).cumsum().to_numpy()


def _window_sum(
    a: np.ndarray, position: np.ndarray, unit_start: np.ndarray, w: int
) -> tuple[np.ndarray, np.ndarray]:
    """Row count and column sums over the last ``w`` rows of the same unit, each row."""
    cs = _unit_cumsum(a, unit_start)
    index = np.arange(len(a))
    before = np.where((position >= w)[:, None], cs[np.maximum(index - w, 0)], 0.0)
    return np.minimum(position + 1, w).astype(np.float64), cs - before


def _unit_ewm(a: np.ndarray, new_unit: np.ndarray, alpha: float) -> np.ndarray:
    """Exponentially weighted mean restarting at each unit (pandas ``ewm(adjust=True)``)."""
    groups = np.cumsum(new_unit)
    ewm = pd.DataFrame(a).groupby(groups, sort=False).ewm(alpha=alpha).mean()
    return ewm.to_numpy()
