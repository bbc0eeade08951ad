"""Settings section `[outcomes]` (env `MILLWRIGHT_OUTCOMES__*`): the plant's unit costs and how
alerts are matched to failures. ``eval plant`` and production read the same section."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from outcomes.costs import CostModel


class OutcomesConfig(BaseModel):
    """Unit costs (euros) and the alert horizon of the outcome figures."""

    model_config = ConfigDict(extra="forbid")

    tardiness_per_hour: float = Field(default=40.0, ge=0, description="Per order-hour late.")
    downtime_per_hour: float = Field(default=150.0, ge=0, description="Per machine-hour stopped.")
    repair: float = Field(default=6000.0, ge=0, description="One unplanned repair.")
    maintenance: float = Field(default=1500.0, ge=0, description="One planned maintenance.")
    material_per_part: float = Field(default=400.0, ge=0, description="A scrapped part.")
    value_per_hour: float = Field(default=60.0, ge=0, description="Processing lost with scrap.")
    alert_horizon_hours: float = Field(
        default=72.0,
        gt=0,
        description="An alert counts for a failure (or a maintenance that found wear) within"
        " this many hours after it opened; later, it was a false alarm.",
    )

    def cost_model(self) -> CostModel:
        return CostModel(
            tardiness_per_hour=self.tardiness_per_hour,
            downtime_per_hour=self.downtime_per_hour,
            repair=self.repair,
            maintenance=self.maintenance,
            material_per_part=self.material_per_part,
            value_per_hour=self.value_per_hour,
        )
