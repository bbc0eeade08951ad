"""Settings section `[features]` (env `MILLWRIGHT_FEATURES__*`).

Every duration is in plant time (the timestamps of the readings), never wall-clock time, so a
plant replayed at 3600x gets the same features as one running live.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class FeaturesConfig(BaseModel):
    """Configuration of the `features` package.

    Windows must be whole multiples of the cadence: features are computed on a grid of
    cadence-wide bins, which is what makes a window's value depend only on the readings inside
    it (and so identical for training and online scoring).
    """

    model_config = ConfigDict(extra="forbid")

    cadence_minutes: int = Field(
        default=10, ge=1, le=1440, description="Features are computed every this many minutes."
    )
    windows_minutes: list[int] = Field(
        default=[60, 360, 1440],
        min_length=1,
        description="Rolling windows (minutes of plant time) of the per-sensor statistics.",
    )
    ewma_halflife_minutes: float = Field(
        default=60.0, gt=0, description="Half-life of the per-sensor exponentially weighted mean."
    )
    baseline_hours: float = Field(
        default=24.0,
        gt=0,
        description="A machine's healthy baseline: its first hours after a repair/maintenance.",
    )
    sensors: list[str] | None = Field(
        default=None,
        description="Sensor names to featurise; unset: every sensor name registered.",
    )
    drop_bad_quality: bool = Field(
        default=True, description="Ignore readings whose quality is BAD (2)."
    )
    operating_conditions: list[str] = Field(
        default=[],
        description=(
            "Sensors that are operating-condition settings (speed, load, product): they define "
            "regimes, and every other sensor is normalised per regime."
        ),
    )
    regime_method: Literal["kmeans", "discrete"] = Field(
        default="kmeans",
        description="kmeans for continuous settings, discrete when each combination is a regime.",
    )
    regime_count: int | None = Field(
        default=None, ge=1, le=64, description="k-means regimes; unset: chosen from the data."
    )
    regime_fit_hours: float = Field(
        default=7 * 24.0,
        gt=0,
        description="Regimes and their statistics are fit on the plant's first this many hours.",
    )
    staleness_minutes: float = Field(
        default=60.0,
        gt=0,
        description=(
            "No feature rows for a machine whose newest reading is older than this: a silent "
            "or offline machine gets no extrapolated rows (and is scored 'no data')."
        ),
    )
    machines_per_chunk: int = Field(
        default=10, ge=1, le=10_000, description="Machines read and computed together."
    )
    chunk_hours: float = Field(
        default=7 * 24.0, gt=0, description="Instants computed per chunk (bounds memory)."
    )
    settle_minutes: float = Field(
        default=0.0,
        ge=0,
        description="Run only up to the plant's latest reading minus this (late data).",
    )

    @model_validator(mode="after")
    def _windows_fit_the_cadence(self) -> FeaturesConfig:
        bad = [w for w in self.windows_minutes if w % self.cadence_minutes]
        if bad:
            raise ValueError(
                f"windows_minutes {bad} are not multiples of cadence_minutes "
                f"{self.cadence_minutes}; every window must be a whole number of cadence bins"
            )
        if len(set(self.windows_minutes)) != len(self.windows_minutes):
            raise ValueError(f"windows_minutes {self.windows_minutes} repeat a window")
        return self
