"""The feature catalogue, declared once, and the versioned definition built from it.

A :class:`FeatureDefinition` fixes everything that changes a feature's value: the sensors, the
windows, the cadence, the EWMA half-life, the baseline length, the quality filter and the
revision of the formulas in :mod:`features.compute`. Its ``version`` is a hash of exactly
that, so a model trained on one version can never silently be fed another; change any of it
(or bump :data:`FORMULA_REVISION` when the math changes) and the version changes with it.

Feature names are ``{sensor}__{stat}_{window}`` (e.g. ``temp__mean_1h``), ``{sensor}__{stat}``
for per-sensor statistics and plain names for per-machine ones (``{stat}_{window}`` when they
are per window, e.g. ``dev_rms_1h``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from features.regimes import RegimeModel

if TYPE_CHECKING:
    from features.config import FeaturesConfig

# Bump when a formula in features.compute changes: the version hash includes it.
FORMULA_REVISION = 3

#: Statistics over each rolling window ``[t - w, t)``, per sensor.
WINDOW_STATS: dict[str, str] = {
    "count": "samples in the window (0 when the sensor was silent)",
    "mean": "mean of the samples",
    "std": "sample standard deviation (ddof=1; NaN below 2 samples)",
    "min": "smallest sample",
    "max": "largest sample",
    "slope": "least-squares trend in units per hour (NaN below 2 distinct times)",
    "ewma": "exponentially weighted mean, time decay with the configured half-life",
    "dev": "(window mean - healthy baseline mean) / baseline std",
}

#: Statistics per sensor, over the longest window (NaN when it holds no sample).
SENSOR_STATS: dict[str, str] = {
    "last": "the newest sample before t",
    "last_age_h": "hours between that sample and t",
}

#: Statistics per machine and rolling window, across its sensors' window statistics. Wear moves
#: many sensors a little, each in its own direction and under its own noise; one number for the
#: whole machine averages that noise away where a tree, splitting one sensor at a time, cannot.
ACROSS_SENSOR_STATS: dict[str, str] = {
    "dev_rms": (
        "root mean square over the sensors of their dev (how far the machine as a whole has "
        "moved from its healthy baseline, in baseline stds; NaN sensors skipped)"
    ),
    "dev_rms_rate": (
        "dev_rms per hour since the middle of the baseline: how fast the machine has moved "
        "away from it on average, its wear rate, which a window's slope measures too noisily"
    ),
}

#: Statistics per machine, from its events.
MACHINE_STATS: dict[str, str] = {
    "hours_since_maintenance": "hours since the last maintenance or repair (NaN if none)",
    "operating_hours_since_repair": (
        "hours since the last repair (or first reading) minus downtime: failure→repair, "
        "offline→online and events with an end time"
    ),
}

#: Event counts per rolling window, per machine.
EVENT_COUNT_STATS: dict[str, str] = {
    "error_count": "error events in the window",
}


def window_label(minutes: int) -> str:
    """``60 -> '1h'``, ``90 -> '90m'``: short, readable and stable in feature names."""
    return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}m"


@dataclass(frozen=True)
class FeatureDefinition:
    """What the features are; ``version`` and ``names`` follow from it."""

    sensors: tuple[str, ...]
    windows_minutes: tuple[int, ...] = (60, 360, 1440)
    cadence_minutes: int = 10
    ewma_halflife_minutes: float = 60.0
    baseline_hours: float = 24.0
    drop_bad_quality: bool = True
    formula_revision: int = field(default=FORMULA_REVISION)
    regimes: RegimeModel | None = None

    def __post_init__(self) -> None:
        if not self.sensors:
            raise ValueError("a feature definition needs at least one sensor name.")
        if len(set(self.sensors)) != len(self.sensors):
            raise ValueError(f"sensor names repeat in {self.sensors}.")
        if any("__" in s or not s for s in self.sensors):
            raise ValueError("sensor names must be non-empty and must not contain '__'.")
        if self.cadence_minutes < 1:
            raise ValueError(f"cadence_minutes must be >= 1, got {self.cadence_minutes}.")
        if not self.windows_minutes or list(self.windows_minutes) != sorted(
            set(self.windows_minutes)
        ):
            raise ValueError(
                f"windows_minutes must be distinct and ascending: {self.windows_minutes}."
            )
        bad = [w for w in self.windows_minutes if w % self.cadence_minutes]
        if bad:
            raise ValueError(
                f"windows {bad} are not multiples of the cadence {self.cadence_minutes}."
            )
        if self.ewma_halflife_minutes <= 0 or self.baseline_hours <= 0:
            raise ValueError("ewma_halflife_minutes and baseline_hours must be positive.")
        if self.regimes is not None and not set(self.regimes.sensors) <= set(self.sensors):
            raise ValueError("regime statistics name sensors that the definition does not have.")

    @classmethod
    def from_config(
        cls, config: FeaturesConfig, sensors: list[str] | tuple[str, ...]
    ) -> FeatureDefinition:
        """The definition for these settings; ``sensors`` is used when the config pins none."""
        names = tuple(config.sensors) if config.sensors is not None else tuple(sorted(set(sensors)))
        return cls(
            sensors=names,
            windows_minutes=tuple(sorted(config.windows_minutes)),
            cadence_minutes=config.cadence_minutes,
            ewma_halflife_minutes=config.ewma_halflife_minutes,
            baseline_hours=config.baseline_hours,
            drop_bad_quality=config.drop_bad_quality,
        )

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> FeatureDefinition:
        """Inverse of :meth:`to_json` (as stored in ``feature_versions.definition``)."""
        values = dict(document)
        values["sensors"] = tuple(values["sensors"])
        values["windows_minutes"] = tuple(values["windows_minutes"])
        if values.get("regimes") is not None:
            values["regimes"] = RegimeModel.from_json(values["regimes"])
        return cls(**values)

    def to_json(self) -> dict[str, Any]:
        """The canonical document; ``regimes`` only when fitted (so older versions keep their
        hashes)."""
        document = asdict(self)
        document["sensors"] = list(self.sensors)
        document["windows_minutes"] = list(self.windows_minutes)
        if self.regimes is None:
            document.pop("regimes")
        else:
            document["regimes"] = self.regimes.to_json()
        return document

    def with_regimes(self, regimes: RegimeModel | None) -> FeatureDefinition:
        """The same definition with these fitted regimes (a new version)."""
        return replace(self, regimes=regimes)

    @property
    def input_sensors(self) -> tuple[str, ...]:
        """Sensors whose readings the features need: the featurised ones and the operating
        conditions that define their regimes."""
        extra = () if self.regimes is None else self.regimes.conditions
        return self.sensors + tuple(c for c in extra if c not in self.sensors)

    @property
    def version(self) -> str:
        """``fd-`` and 12 hex digits of the SHA-256 of the canonical definition."""
        canonical = json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))
        return "fd-" + hashlib.sha256(canonical.encode()).hexdigest()[:12]

    @property
    def cadence(self) -> timedelta:
        return timedelta(minutes=self.cadence_minutes)

    @property
    def lookback(self) -> timedelta:
        """How far before an instant its readings reach: the longest window."""
        return timedelta(minutes=max(self.windows_minutes))

    @property
    def names(self) -> tuple[str, ...]:
        """Every feature column, in the order values are stored."""
        out: list[str] = []
        for sensor in self.sensors:
            for minutes in self.windows_minutes:
                label = window_label(minutes)
                out.extend(f"{sensor}__{stat}_{label}" for stat in WINDOW_STATS)
            out.extend(f"{sensor}__{stat}" for stat in SENSOR_STATS)
        out.extend(MACHINE_STATS)
        for minutes in self.windows_minutes:
            label = window_label(minutes)
            out.extend(f"{stat}_{label}" for stat in EVENT_COUNT_STATS)
        for minutes in self.windows_minutes:
            label = window_label(minutes)
            out.extend(f"{stat}_{label}" for stat in ACROSS_SENSOR_STATS)
        return tuple(out)

    def describe(self) -> dict[str, str]:
        """Feature name -> what it means, for ``millwright features show`` and for people."""
        out: dict[str, str] = {}
        for sensor in self.sensors:
            for minutes in self.windows_minutes:
                label = window_label(minutes)
                for stat, doc in WINDOW_STATS.items():
                    out[f"{sensor}__{stat}_{label}"] = f"{sensor}: {doc}, last {label}"
            for stat, doc in SENSOR_STATS.items():
                out[f"{sensor}__{stat}"] = f"{sensor}: {doc}"
        out.update(MACHINE_STATS)
        for minutes in self.windows_minutes:
            label = window_label(minutes)
            for stat, doc in EVENT_COUNT_STATS.items():
                out[f"{stat}_{label}"] = f"{doc}, last {label}"
        for minutes in self.windows_minutes:
            label = window_label(minutes)
            for stat, doc in ACROSS_SENSOR_STATS.items():
                out[f"{stat}_{label}"] = f"{doc}, last {label}"
        return out
