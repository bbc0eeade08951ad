"""``millwright collect``: every configured source in one process, until SIGINT/SIGTERM."""

from __future__ import annotations

import logging
import signal
import threading
from functools import partial
from pathlib import Path
from typing import Protocol

from ingest.config import IngestConfig
from ingest.errors import IngestConfigError
from ingest.mqtt import MqttCollector
from ingest.runtime import IngestRuntime, start_runtime

log = logging.getLogger(__name__)


class Collector(Protocol):
    name: str

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def health(self) -> dict[str, object]: ...


def start_collectors(runtime: IngestRuntime, config: IngestConfig) -> list[Collector]:
    """Start one collector per configured MQTT source on the shared pipeline."""
    collectors: list[Collector] = []
    for mqtt_source in config.mqtt:
        collector = MqttCollector(
            mqtt_source, runtime.pipeline, runtime.metrics, database=runtime.database
        )
        collector.start()
        runtime.sources_health[mqtt_source.name] = collector.health
        collectors.append(collector)
    if config.opcua:
        from ingest.opcua.runner import OpcUaCollector

        opcua = OpcUaCollector(config.opcua, runtime.pipeline, metrics=runtime.metrics)
        opcua.start()
        for source in opcua.sources:
            runtime.sources_health[source.name] = partial(opcua.source_health, source.name)
        collectors.append(opcua)
    return collectors


def run_collect(
    config: IngestConfig,
    database_url: str,
    *,
    data_dir: Path,
    register_unknown: bool = True,
    max_future_s: int = 86_400,
    stop: threading.Event | None = None,
) -> None:
    """Run until ``stop`` is set or the process gets SIGINT/SIGTERM; then flush and exit."""
    if not config.mqtt and not config.opcua:
        raise IngestConfigError(
            "no sources configured: add [[ingest.mqtt]] or [[ingest.opcua]] sections to the"
            " config file"
        )
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
    runtime = start_runtime(
        config,
        database_url,
        data_dir=data_dir,
        register_unknown=register_unknown,
        max_future_s=max_future_s,
    )
    collectors = start_collectors(runtime, config)
    log.info("collecting from %d source(s)", len(collectors))
    try:
        stop.wait()
    finally:
        log.info("stopping: disconnecting sources, flushing the pipeline")
        for collector in collectors:
            collector.stop()
        runtime.stop()
