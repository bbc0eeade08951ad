"""Settings section `[scheduler]` (env `MILLWRIGHT_SCHEDULER__*`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from scheduler.objective_weights import ObjectiveWeights


class SchedulerConfig(BaseModel):
    """Configuration of the `scheduler` package: solver limits and objective weights."""

    model_config = ConfigDict(extra="forbid")

    time_limit_s: float = Field(default=30.0, gt=0, description="Solver wall-clock limit.")
    num_workers: int = Field(default=2, ge=1, le=64, description="CP-SAT search workers.")
    maintenance_duration: int = Field(
        default=120, gt=0, description="Length of a risk-driven maintenance task (time units)."
    )
    maintenance_cost: float = Field(default=100.0, ge=0, description="Cost of one such task.")
    weight_tardiness: float = Field(default=10.0, ge=0)
    weight_maintenance: float = Field(default=1.0, ge=0)
    weight_expected_failure: float = Field(default=1000.0, ge=0)
    weight_makespan: float = Field(default=1.0, ge=0)
    weight_maintenance_late: float = Field(default=10_000.0, ge=0)
    weight_change: float = Field(default=0.1, ge=0)
    weight_change_machine: float = Field(default=5.0, ge=0)

    def weights(self) -> ObjectiveWeights:
        """The objective weights as the pure record the model takes."""
        return ObjectiveWeights(
            tardiness=self.weight_tardiness,
            maintenance=self.weight_maintenance,
            expected_failure=self.weight_expected_failure,
            makespan=self.weight_makespan,
            maintenance_late=self.weight_maintenance_late,
            change=self.weight_change,
            change_machine=self.weight_change_machine,
        )
