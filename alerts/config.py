"""Settings section `[alerts]` (env `MILLWRIGHT_ALERTS__*`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class AlertsConfig(BaseModel):
    """Configuration of the `alerts` package."""

    model_config = ConfigDict(extra="forbid")
