"""Settings section `[scheduler]` (env `MILLWRIGHT_SCHEDULER__*`)."""

from __future__ import annotations

from typing import Literal

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
    risk_maintenance_hours: float | None = Field(
        default=None,
        gt=0,
        description="A machine whose rul_low falls within this many hours gets risk-driven"
        " maintenance; unset: the whole horizon. Match the dashboard's warning_rul_low_h so the"
        " plan maintains the machines the dashboard calls at risk.",
    )
    risk_maintenance_p_fail: float | None = Field(
        default=None,
        gt=0,
        le=1,
        description="A machine whose p_fail reaches this also gets risk-driven maintenance;"
        " unset: rul_low alone decides. Match the dashboard's warning_p_fail.",
    )
    weight_tardiness: float = Field(default=10.0, ge=0)
    weight_maintenance: float = Field(default=1.0, ge=0)
    weight_expected_failure: float = Field(default=1000.0, ge=0)
    weight_makespan: float = Field(default=1.0, ge=0)
    weight_maintenance_late: float = Field(default=10_000.0, ge=0)
    weight_change: float = Field(default=0.1, ge=0)
    weight_change_machine: float = Field(default=5.0, ge=0)
    weight_deadline_late: float = Field(default=10_000.0, ge=0)
    weight_moved: float = Field(
        default=50.0,
        ge=0,
        description=(
            "The stability weight: the cost of moving one previously planned operation that"
            " was due to start now (work due `moved_horizon`, 8 h, later weighs half). At 50"
            " against 10 per minute of a weight-1 order's lateness, a replan moves urgent"
            " unaffected work only to save more than 5 minutes of lateness per move (plus the"
            " 0.1 per minute shifted, `weight_change`)."
        ),
    )
    weight_resequenced: float = Field(
        default=500.0,
        ge=0,
        description=(
            "On top of `weight_moved`: the cost of a previously planned operation that changes"
            " machine or its place in the machine's list (urgency-weighted the same way), so a"
            " replan shifts work in time rather than reorders it."
        ),
    )
    replan_max_loss: float | None = Field(
        default=None,
        ge=0,
        description=(
            "The price of stability a planner accepts: a replan's stable plan (every"
            " unaffected machine list kept in order) gives way to re-dispatching when it"
            " produces more than this share worse (lateness, makespan, risk) than re-dispatching"
            " by EDD (0.1: ten percent); unset (null, the default): never, and every unaffected"
            " list is kept as a hard rule, so a replan moves only the work a disruption or new"
            " order affects and its jobs' later steps. Either way the plan summary's `tradeoff`"
            " shows both production figures."
        ),
    )
    replan_scope: Literal["affected", "pinned", "plant"] = Field(
        default="affected",
        description=(
            "What a replan may move. `affected`: first only the work a disruption or new order"
            " affects (a plan in seconds), then a repair from the right-shift start (machine"
            " lists kept in order, later work shifted) where other work shifts, or is"
            " resequenced at the far higher `weight_resequenced`, only where the plan gains"
            " more; it ends when it stops gaining or the worker stops; `pinned`: only the"
            " affected work; `plant`: any work, weighed by the stability term, from scratch."
        ),
    )
    # Orchestration and MES API (scheduler/service.py, scheduler/api/); time unit: minutes.
    horizon_hours: float = Field(default=168.0, gt=0, le=24 * 90, description="Plan horizon.")
    frozen_minutes: int = Field(
        default=60, ge=0, description="Planned work starting this soon stays put on reschedule."
    )
    crew_size: int = Field(default=1, ge=0, le=1000, description="Maintainers available.")
    worker_poll_s: float = Field(default=2.0, gt=0, description="Idle wait of the worker.")
    api_host: str = Field(default="127.0.0.1", description="`millwright serve` bind address.")
    api_port: int = Field(default=8000, ge=1, le=65535)
    api_max_body_bytes: int = Field(default=1_048_576, ge=1024, description="Request limit.")
    max_clock_skew_s: float = Field(
        default=300.0, ge=0, description="Reported shop-floor times may run this far ahead."
    )
    idempotency_ttl_hours: float = Field(default=24.0, gt=0, description="Keys kept this long.")

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
            deadline_late=self.weight_deadline_late,
            moved=self.weight_moved,
            resequenced=self.weight_resequenced,
        )
