"""Settings section ``[worker]`` (env ``MILLWRIGHT_WORKER__*``): periodic job cadences."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class WorkerConfig(BaseModel):
    """How often the worker computes features, scores, evaluates alerts and replans."""

    model_config = ConfigDict(extra="forbid")

    features_every_s: float = Field(default=60.0, gt=0)
    score_every_s: float = Field(default=60.0, gt=0)
    alerts_every_s: float = Field(default=30.0, gt=0)
    reschedule_every_s: float = Field(
        default=900.0, gt=0, description="Request a fresh plan this often."
    )
    solve_poll_s: float = Field(default=2.0, gt=0, description="Look for plan requests this often.")
    health_port: int = Field(default=9109, ge=0, le=65535)
    clock: Literal["wall", "data"] = Field(
        default="wall",
        description="'data': now is the newest reading (replayed or accelerated plants).",
    )
    roles: list[Literal["features", "score", "alerts", "replan"]] = Field(
        default=["features", "score", "alerts", "replan"],
        min_length=1,
        description="Duties of this process (`worker --role features,score`).",
    )
    partitions: int = Field(
        default=16, ge=1, le=4096, description="Machine partitions shared through leases."
    )
    lease_s: float = Field(
        default=30.0, gt=0, description="A lease not renewed this long goes to another worker."
    )
