"""Settings section `[dashboard]` (env `MILLWRIGHT_DASHBOARD__*`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class DashboardConfig(BaseModel):
    """Configuration of the `dashboard` package."""

    model_config = ConfigDict(extra="forbid")
