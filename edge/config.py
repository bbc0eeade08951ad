"""Settings section `[edge]` (env `MILLWRIGHT_EDGE__*`): the plant-floor edge service.

The edge reads the collector's own `[[ingest.mqtt]]` sources (same broker, same topics, its
own client id), the rules and endpoints of `[alerts]` (only endpoints marked
``reachable_from_edge`` are sent to from the edge), and `[models]` for scoring.
"""

from __future__ import annotations

import socket
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class EdgeConfig(BaseModel):
    """How the edge watches the link and paces its work."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        default_factory=socket.gethostname,
        min_length=1,
        description="This edge's id at the centre (default: the host name).",
    )
    cache: Path | None = Field(
        default=None, description="SQLite file; default <data_dir>/edge.sqlite."
    )
    client_suffix: str = Field(
        default="-edge", min_length=1, description="Appended to each source's MQTT client id."
    )
    interval_s: float = Field(
        default=2.0, gt=0, le=600, description="One loop: probe, score, send."
    )
    probe_timeout_s: float = Field(
        default=3.0, gt=0, le=60, description="The central database is down past this."
    )
    refresh_every_s: float = Field(
        default=300.0, gt=0, description="Re-copy the feature state (events, baselines)."
    )
    score_lag_s: float = Field(
        default=0.0, ge=0, description="Score an instant once readings this much past it arrived."
    )
    # 5: a pass's feature blocks stay ~4 MB, which keeps 100 machines x 20 sensors under the
    # 150 MB peak of `millwright bench edge` (10 peaked at ~151 MB)
    chunk_machines: int = Field(
        default=5, ge=1, le=10_000, description="Machines featurised together (bounds memory)."
    )
