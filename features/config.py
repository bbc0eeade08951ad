"""Settings section `[features]` (env `MILLWRIGHT_FEATURES__*`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class FeaturesConfig(BaseModel):
    """Configuration of the `features` package."""

    model_config = ConfigDict(extra="forbid")
