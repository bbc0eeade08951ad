"""Operating regimes: sensors declared as operating conditions, and per-regime normalisation.

A machine running at another speed, load or product reads differently while equally healthy;
wear shows only against what is normal *for that regime*. Sensors declared as operating
conditions (``features.operating_conditions``) define the regime of each cadence bin of a
machine: the mean of each condition's readings in the bin, matched to the nearest k-means
centre (continuous settings) or to a declared discrete combination. Every other featurised
sensor is then normalised per regime, ``(value - mean[regime]) / std[regime]``, with statistics
fit on training readings only, before any window statistic is computed.

Why per bin: the feature grid is made of cadence bins and every loaded range is whole bins, so a
reading's regime depends only on readings of its own bin — the same in a backfill over months
and in an online run that loads one look-back — and bulk and online features stay equal bit for
bit. A reading in a bin without condition readings, or in a regime never seen in training, has
no normal to compare with and is dropped (the window's ``count`` shows it).

The fitted :class:`RegimeModel` is small (centres and per-regime means and stds) and is part of
the :class:`~features.definitions.FeatureDefinition`, so its numbers are in the feature
version's hash and travel with every model artifact trained on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

RegimeMethod = Literal["kmeans", "discrete"]
MAX_AUTO_REGIMES = 8
AUTO_INERTIA_SHARE = 0.001
"""Auto k: the smallest k whose k-means leaves at most this share (0.1 %) of the settings'
variance, in their own units (none: one regime)."""


@dataclass(frozen=True)
class RegimeModel:
    """Fitted regimes: centres over the conditions, and each sensor's mean/std per regime."""

    conditions: tuple[str, ...]
    method: RegimeMethod
    centres: tuple[tuple[float, ...], ...]
    scales: tuple[float, ...]
    sensors: tuple[str, ...]
    mean: tuple[tuple[float, ...], ...]
    std: tuple[tuple[float, ...], ...]

    def __post_init__(self) -> None:
        if not self.conditions:
            raise ValueError("a regime model needs at least one operating-condition sensor.")
        if self.method not in ("kmeans", "discrete"):
            raise ValueError(f"regime method must be kmeans or discrete, got {self.method!r}.")
        k, c, s = len(self.centres), len(self.conditions), len(self.sensors)
        if k < 1 or any(len(row) != c for row in self.centres) or len(self.scales) != c:
            raise ValueError("regime centres must be (regimes × conditions), scales one each.")
        if len(self.mean) != k or any(len(r) != s for r in (*self.mean, *self.std)):
            raise ValueError("regime means and stds must be (regimes × sensors).")
        if set(self.conditions) & set(self.sensors):
            raise ValueError("operating-condition sensors are not normalised by themselves.")

    @property
    def n_regimes(self) -> int:
        return len(self.centres)

    def to_json(self) -> dict[str, Any]:
        return {
            "conditions": list(self.conditions),
            "method": self.method,
            "centres": [list(r) for r in self.centres],
            "scales": list(self.scales),
            "sensors": list(self.sensors),
            "mean": [list(r) for r in self.mean],
            "std": [list(r) for r in self.std],
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> RegimeModel:
        def rows(value: Any) -> tuple[tuple[float, ...], ...]:
            return tuple(tuple(float(x) for x in r) for r in value)

        return cls(
            tuple(doc["conditions"]),
            doc["method"],
            rows(doc["centres"]),
            tuple(float(x) for x in doc["scales"]),
            tuple(doc["sensors"]),
            rows(doc["mean"]),
            rows(doc["std"]),
        )

    # --- using ---------------------------------------------------------------------------

    def assign(self, settings: np.ndarray) -> np.ndarray:
        """Regime index per row of ``settings`` (bins × conditions); -1 when none fits."""
        if not len(settings):
            return np.zeros(0, dtype=np.int64)
        centres = np.asarray(self.centres)
        ok = np.all(np.isfinite(settings), axis=1)
        out = np.full(len(settings), -1, dtype=np.int64)
        if self.method == "discrete":
            match = np.all(settings[:, None, :] == centres[None, :, :], axis=2)
            hit = match.any(axis=1) & ok
            out[hit] = np.argmax(match[hit], axis=1)
            return out
        scaled = (settings - centres[0]) / np.asarray(self.scales)
        grid = (centres - centres[0]) / np.asarray(self.scales)
        d = ((scaled[:, None, :] - grid[None, :, :]) ** 2).sum(axis=2)
        out[ok] = np.argmin(d[ok], axis=1)
        return out

    def normalise(
        self,
        readings: pd.DataFrame,
        sensors: pd.DataFrame,
        cadence_minutes: int,
        names: Sequence[str],
    ) -> np.ndarray:
        """Values of ``readings`` normalised by their bin's regime, NaN where unknown.

        ``names``: the featurised sensors; readings of condition sensors keep their values
        (they are dropped later unless featurised), other sensors without statistics too.
        """
        value = readings["value"].to_numpy(dtype=np.float64)
        if not len(readings):
            return value
        name_of = dict(
            zip(sensors["sensor_id"].astype(np.int64), sensors["sensor"].astype(str), strict=True)
        )
        sensor_name = pd.Series(readings["sensor_id"].to_numpy(dtype=np.int64)).map(name_of)
        regime = self.regime_of_readings(readings, sensor_name.to_numpy(), cadence_minutes)
        slot = pd.Index(self.sensors).get_indexer(sensor_name.fillna("").to_numpy())
        target = (slot >= 0) & np.isin(sensor_name.to_numpy(), list(names))
        out = value.copy()
        mean, std = np.asarray(self.mean), np.asarray(self.std)
        known = target & (regime >= 0)
        r, s = regime[known], slot[known]
        scale = np.where(std[r, s] > 0, std[r, s], 1.0)
        out[known] = (value[known] - mean[r, s]) / scale
        out[target & (regime < 0)] = np.nan
        return out

    def regime_of_readings(
        self, readings: pd.DataFrame, sensor_name: np.ndarray, cadence_minutes: int
    ) -> np.ndarray:
        """Regime per reading (-1 when its bin has no usable condition readings)."""
        keys, settings = bin_settings(readings, sensor_name, self.conditions, cadence_minutes)
        regimes = self.assign(settings)
        if not len(keys):
            return np.full(len(readings), -1, dtype=np.int64)
        key = _bin_key(readings, cadence_minutes)
        pos = np.minimum(np.searchsorted(keys, key), len(keys) - 1)
        return np.where(keys[pos] == key, regimes[pos], -1)


def _bin_key(readings: pd.DataFrame, cadence_minutes: int) -> np.ndarray:
    from features.series import ts_us

    step = cadence_minutes * 60_000_000
    bins = ts_us(readings) // step
    machine = readings["machine_id"].to_numpy(dtype=np.int64)
    return machine * (1 << 40) + bins


def bin_settings(
    readings: pd.DataFrame,
    sensor_name: np.ndarray,
    conditions: Sequence[str],
    cadence_minutes: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted (machine, bin) keys and the mean of each condition's readings in that bin
    (NaN when a condition has none there)."""
    key = _bin_key(readings, cadence_minutes)
    value = readings["value"].to_numpy(dtype=np.float64)
    which = pd.Index(list(conditions)).get_indexer(pd.Series(sensor_name).fillna("").to_numpy())
    rows = (which >= 0) & np.isfinite(value)
    if not rows.any():
        return np.zeros(0, dtype=np.int64), np.zeros((0, len(conditions)))
    k, c, v = key[rows], which[rows], value[rows]
    keys = np.unique(k)
    pos = np.searchsorted(keys, k)
    sums = np.zeros((len(keys), len(conditions)))
    counts = np.zeros((len(keys), len(conditions)))
    np.add.at(sums, (pos, c), v)
    np.add.at(counts, (pos, c), 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return keys, np.where(counts > 0, sums / counts, np.nan)


def fit_regimes(
    readings: pd.DataFrame,
    sensors: pd.DataFrame,
    *,
    conditions: Sequence[str],
    normalised: Sequence[str],
    cadence_minutes: int,
    method: RegimeMethod = "kmeans",
    n_regimes: int | None = None,
    seed: int = 0,
) -> RegimeModel:
    """Fit regimes and per-regime statistics on training ``readings`` only.

    ``method='discrete'``: each distinct combination of condition values is a regime.
    ``'kmeans'``: ``n_regimes`` centres (None: the smallest k up to 8 leaving at most 0.1 % of the
    settings' variance, or one regime when none does), fitted with a fixed seed.
    """
    conditions = tuple(conditions)
    normalised = tuple(s for s in normalised if s not in conditions)
    name_of = dict(
        zip(sensors["sensor_id"].astype(np.int64), sensors["sensor"].astype(str), strict=True)
    )
    sensor_name = pd.Series(readings["sensor_id"].to_numpy(dtype=np.int64)).map(name_of).to_numpy()
    # one canonical row order (machine, sensor name, time): the sums, and so the statistics,
    # do not depend on how the readings were read
    from features.series import ts_us

    order = np.lexsort(
        (
            ts_us(readings) if len(readings) else np.zeros(0, np.int64),
            pd.Series(sensor_name).fillna("").to_numpy(dtype=str),
            readings["machine_id"].to_numpy(dtype=np.int64),
        )
    )
    readings = readings.iloc[order].reset_index(drop=True)
    sensor_name = sensor_name[order]
    _keys, settings = bin_settings(readings, sensor_name, conditions, cadence_minutes)
    settings = settings[np.all(np.isfinite(settings), axis=1)]
    if not len(settings):
        raise ValueError(
            f"no readings of the operating-condition sensors {list(conditions)} to fit regimes on."
        )
    # k-means in the settings' own units: standardising would blow a setting that is only
    # noise around one value up to the weight of one that really switches
    scales = tuple(1.0 for _ in conditions)
    if method == "discrete":
        centres = np.unique(settings, axis=0)
    else:
        centres = _kmeans(settings / np.asarray(scales), n_regimes, seed) * np.asarray(scales)
    k = len(centres)
    stub = RegimeModel(
        conditions,
        method,
        tuple(tuple(float(x) for x in r) for r in centres),
        scales,
        normalised,
        tuple(tuple(0.0 for _ in normalised) for _ in range(k)),
        tuple(tuple(0.0 for _ in normalised) for _ in range(k)),
    )
    regime = stub.regime_of_readings(readings, sensor_name, cadence_minutes)
    slot = pd.Index(normalised).get_indexer(pd.Series(sensor_name).fillna("").to_numpy())
    value = readings["value"].to_numpy(dtype=np.float64)
    use = (slot >= 0) & (regime >= 0) & np.isfinite(value)
    cell = regime[use] * len(normalised) + slot[use]
    v = value[use]
    order = np.argsort(cell, kind="stable")  # canonical order kept within each cell
    cell, v = cell[order], v[order]
    mean = np.full((k, len(normalised)), np.nan)
    std = np.full((k, len(normalised)), np.nan)
    if len(cell):
        starts = np.flatnonzero(np.r_[True, cell[1:] != cell[:-1]])
        counts = np.diff(np.r_[starts, len(cell)])
        mu = np.add.reduceat(v, starts) / counts
        dev = v - np.repeat(mu, counts)
        m2 = np.add.reduceat(dev * dev, starts)
        sd = np.where(counts > 1, np.sqrt(m2 / np.maximum(counts - 1, 1)), 0.0)
        where = cell[starts]
        mean.reshape(-1)[where] = mu
        std.reshape(-1)[where] = sd
    return RegimeModel(
        conditions,
        method,
        stub.centres,
        scales,
        normalised,
        tuple(tuple(float(x) for x in r) for r in mean),
        tuple(tuple(float(x) for x in r) for r in std),
    )


def _kmeans(x: np.ndarray, n_regimes: int | None, seed: int) -> np.ndarray:
    from sklearn.cluster import KMeans

    rng = np.random.default_rng(seed)
    sample = x  # centres of tight clusters need few points; keep the fits fast
    if len(x) > 20_000:
        sample = x[rng.choice(len(x), 20_000, replace=False)]
    if n_regimes is not None:
        fit = KMeans(n_regimes, n_init=10, random_state=seed).fit(sample)
        return _ordered(fit.cluster_centers_)
    probe = sample if len(sample) <= 5_000 else sample[rng.choice(len(sample), 5_000, False)]
    total = float(((probe - probe.mean(axis=0)) ** 2).sum())
    distinct = len(np.unique(probe, axis=0))
    one = x.mean(axis=0, keepdims=True)
    if total == 0:
        return one
    for k in range(2, min(MAX_AUTO_REGIMES, distinct) + 1):
        trial = KMeans(k, n_init=3, random_state=seed).fit(probe)
        if trial.inertia_ <= AUTO_INERTIA_SHARE * total:
            fit = KMeans(k, n_init=10, random_state=seed).fit(sample)
            return _ordered(fit.cluster_centers_)
    # no k separates the settings into tight groups: they vary continuously (or are noise
    # around one operating point); one regime, unless regime_count says otherwise
    return one


def _ordered(centres: np.ndarray) -> np.ndarray:
    """Centres in lexicographic order, so regime numbers do not depend on k-means' labels."""
    return centres[np.lexsort(centres.T[::-1])]
