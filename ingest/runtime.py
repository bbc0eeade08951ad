"""Assembling the shared pipeline from settings: what ``millwright collect`` (and any
collector, MQTT or OPC-UA) runs inside.

The pipeline writes through its own small pool with a short connection timeout, so a
database outage is noticed in seconds (and batches go to the buffer) instead of waiting out
the application pool's 30 s default.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.buffer import StoreAndForwardBuffer
from ingest.config import IngestConfig
from ingest.dead_letters import DatabaseDeadLetters
from ingest.metrics import CollectorMetrics, MetricsServer
from ingest.pipeline import Pipeline
from ingest.sink import DatabaseSink
from millwright.core.storage import Database

log = logging.getLogger(__name__)


@dataclass
class IngestRuntime:
    """A started pipeline with its buffer, metrics, endpoint and write pool."""

    pipeline: Pipeline
    metrics: CollectorMetrics
    buffer: StoreAndForwardBuffer
    database: Database
    server: MetricsServer | None = None
    sources_health: dict[str, Any] = field(default_factory=dict)

    def health(self) -> dict[str, Any]:
        state = self.pipeline.health()
        sources = {name: fn() for name, fn in self.sources_health.items()}
        state["sources"] = sources
        return state

    def stop(self, timeout: float = 10) -> None:
        """Stop in dependency order: endpoint, pipeline (flushes), buffer, pool."""
        if self.server is not None:
            self.server.stop()
        self.pipeline.stop(timeout)
        self.buffer.close()
        self.database.close()


def start_runtime(
    config: IngestConfig,
    database_url: str,
    *,
    data_dir: Path,
    register_unknown: bool = True,
    max_future_s: int = 86_400,
    serve_metrics: bool | None = None,
) -> IngestRuntime:
    """Build and start the pipeline (and the metrics endpoint unless disabled)."""
    database = Database(
        database_url, min_size=1, max_size=4, timeout=config.buffer.database_timeout_s
    )
    buffer = StoreAndForwardBuffer(
        config.buffer.path or data_dir / "ingest-buffer.sqlite",
        max_readings=config.buffer.max_readings,
        policy=config.buffer.policy,
    )
    metrics = CollectorMetrics(shard=config.shard)
    pipeline = Pipeline(
        DatabaseSink(database, register_unknown=register_unknown, max_future_s=max_future_s),
        buffer,
        DatabaseDeadLetters(database),
        metrics,
        batch_size=config.batch.size,
        flush_interval_s=config.batch.interval_ms / 1000,
        max_pending_readings=max(config.batch.max_pending_readings, config.batch.size),
        retry_interval_s=config.buffer.retry_interval_s,
    )
    pipeline.start()
    runtime = IngestRuntime(pipeline, metrics, buffer, database)
    serve = config.metrics.enabled if serve_metrics is None else serve_metrics
    if serve:
        runtime.server = MetricsServer(
            metrics, runtime.health, host=config.metrics.host, port=config.metrics.port
        )
        runtime.server.start()
    return runtime
