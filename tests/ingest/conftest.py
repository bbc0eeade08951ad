"""Helpers for ingest tests: a running pipeline on the test database, MQTT publishers,
unique topics and client ids per test so tests sharing one broker never see each other."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from typer.testing import CliRunner

from ingest.config import IngestConfig, MqttSourceConfig
from ingest.mqtt import MqttCollector
from ingest.runtime import IngestRuntime, start_runtime
from millwright.core.storage import Database


def wait_for(predicate: Callable[[], Any], timeout: float = 20, interval: float = 0.05) -> Any:
    """Poll until ``predicate()`` is truthy; fail the test with its last value otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s (last: {value!r})")
        time.sleep(interval)


@pytest.fixture
def unique() -> str:
    """A short id that keeps this test's topics, client ids and machines apart."""
    return uuid.uuid4().hex[:8]


@pytest.fixture
def cli(database_url: str, database: Database, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A CLI runner whose commands use the (truncated) test database."""
    monkeypatch.setenv("MILLWRIGHT_DATABASE_URL", database_url)
    return CliRunner()


def import_summary(cli: CliRunner, kind: str, *args: str, code: int = 0) -> dict[str, Any]:
    """``millwright import KIND ARGS --json``: its summary, or {} when it must exit ``code``."""
    from millwright.app.cli import app

    result = cli.invoke(app, ["import", kind, *args, "--json"])
    assert result.exit_code == code, result.output
    return json.loads(result.stdout.strip().splitlines()[-1]) if code == 0 else {}


def ingest_config(**overrides: Any) -> IngestConfig:
    values: dict[str, Any] = {
        "batch": {"size": 5000, "interval_ms": 50},
        "buffer": {"retry_interval_s": 0.3, "database_timeout_s": 2},
        "metrics": {"enabled": False},
    }
    values.update(overrides)
    return IngestConfig.model_validate(values)


@pytest.fixture
def runtime_factory(tmp_path: Path) -> Iterator[Callable[..., IngestRuntime]]:
    """Start pipelines on a given database URL; all are stopped at the end of the test."""
    started: list[IngestRuntime] = []

    def make(database_url: str, config: IngestConfig | None = None) -> IngestRuntime:
        cfg = config or ingest_config()
        rt = start_runtime(cfg, database_url, data_dir=tmp_path / f"rt{len(started)}")
        started.append(rt)
        return rt

    yield make
    for rt in started:
        rt.stop()


@pytest.fixture
def runtime(database: Database, database_url: str, runtime_factory: Any) -> IngestRuntime:
    """A running pipeline writing to the (truncated) test database."""
    return runtime_factory(database_url)


@pytest.fixture
def opcua_runtime(database: Database, database_url: str, runtime_factory: Any) -> IngestRuntime:
    """A running pipeline with the product's default batching and buffer settings but a
    50 ms flush, as the OPC-UA tests pace their servers by it."""
    config = IngestConfig.model_validate(
        {"batch": {"interval_ms": 50}, "metrics": {"enabled": False}}
    )
    return runtime_factory(database_url, config)


def source_config(
    name: str, host: str, port: int, subscriptions: list[dict[str, Any]], **extra: Any
) -> MqttSourceConfig:
    return MqttSourceConfig.model_validate(
        {
            "name": name,
            "host": host,
            "port": port,
            "client_id": f"mw-test-{name}",
            "subscriptions": subscriptions,
            "reconnect_min_s": 0.2,
            "reconnect_max_s": 1,
            "session_expiry_s": 120,  # do not leave sessions behind on the shared broker
            **extra,
        }
    )


@pytest.fixture
def collector_factory() -> Iterator[Callable[..., MqttCollector]]:
    """Start collectors on a runtime; they wait until subscribed and stop at the end."""
    started: list[MqttCollector] = []

    def make(config: MqttSourceConfig, rt: IngestRuntime) -> MqttCollector:
        collector = MqttCollector(config, rt.pipeline, rt.metrics)
        collector.start()
        assert collector.wait_connected(10), "collector did not connect and subscribe"
        started.append(collector)
        return collector

    yield make
    for collector in started:
        collector.stop()


@pytest.fixture
def start_collector(
    mqtt_broker: tuple[str, int],
    runtime: IngestRuntime,
    collector_factory: Callable[..., MqttCollector],
    unique: str,
) -> Callable[..., MqttCollector]:
    """Start this test's collector (source ``s<unique>``) on the shared broker with one
    subscription, feeding ``runtime``; ``extra`` are further source settings."""

    def start(topic: str, fmt: str = "auto", **extra: Any) -> MqttCollector:
        subscriptions = [{"topic": topic, "format": fmt}]
        config = source_config(f"s{unique}", *mqtt_broker, subscriptions, **extra)
        return collector_factory(config, runtime)

    return start


class Publisher:
    """A QoS 1 publisher that waits for each PUBACK batch (so 'published' means stored)."""

    def __init__(self, host: str, port: int, client_id: str | None = None) -> None:
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"mw-pub-{uuid.uuid4().hex[:8]}",
            protocol=mqtt.MQTTv5,
        )
        self.client.max_inflight_messages_set(1000)
        self.client.connect(host, port)
        self.client.loop_start()

    def publish(self, topic: str, payload: bytes | str, qos: int = 1) -> None:
        self.publish_many([(topic, payload)], qos)

    def publish_many(self, messages: Sequence[tuple[str, bytes | str]], qos: int = 1) -> None:
        infos = [self.client.publish(t, p, qos=qos) for t, p in messages]
        for info in infos:
            info.wait_for_publish(20)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def publisher(mqtt_broker: tuple[str, int]) -> Iterator[Publisher]:
    pub = Publisher(*mqtt_broker)
    yield pub
    pub.close()


def readings_of(database: Database, machine_prefix: str) -> set[tuple[str, str, str, float, int]]:
    """(machine, sensor, ts ISO, value, quality) rows of machines starting with the prefix."""
    rows = database.execute(
        "SELECT m.name, s.name, r.ts, r.value, r.quality FROM readings r"
        " JOIN machines m ON m.id = r.machine_id JOIN sensors s ON s.id = r.sensor_id"
        " WHERE m.name LIKE %s",
        (machine_prefix + "%",),
    )
    return {(m, s, ts.isoformat(), v, q) for m, s, ts, v, q in rows}


def count_readings(database: Database, machine_prefix: str) -> int:
    return int(
        database.execute(
            "SELECT count(*) FROM readings r JOIN machines m ON m.id = r.machine_id"
            " WHERE m.name LIKE %s",
            (machine_prefix + "%",),
        )[0][0]
    )
