"""Settings section `[ingest]` (env `MILLWRIGHT_INGEST__*`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class IngestConfig(BaseModel):
    """Configuration of the `ingest` package."""

    model_config = ConfigDict(extra="forbid")
