"""A running simulator feeds both collectors; the stored readings are exactly the core's.

One plant, two protocols at once, as in the demo: line-1 is collected over MQTT (batched
JSON on ``{prefix}/batch/line-1/{machine}/values``), line-2 over OPC-UA (one data-change
monitored item per sensor node, by browse path for one machine and by node id for the
other). The plant runs paced against the wall clock with a :class:`RecordingSink` beside the
two adapters, so the test knows every sample the core produced, and machines fail and are
repaired during the run so the streams have holes.

What is compared, exactly (float64 equality, microsecond timestamps):

* MQTT: every (machine, sensor, ts, value) of line-1 is stored with good quality, nothing else.
* OPC-UA: a data-change subscription (trigger StatusValue, OPC-UA Part 4, 7.22.2) reports a
  write only when the value or status differs from the node's previous one, so a sample whose
  value equals that sensor's previous sample (the flat C-MAPSS channels) is not reported. The
  expected set is every line-2 sample value except exactly those repeats.
* Before the first sample each sensor node reports ``BadWaitingForInitialData``; the source
  stores that as one placeholder row per node (value 0.0, quality Bad, receive time).
* No dead letters, no ingest events (no gaps), no queue overflows, no unresolved nodes.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt

from ingest.config import IngestConfig
from ingest.dead_letters import read_dead_letters
from ingest.opcua.runner import OpcUaCollector
from ingest.runtime import IngestRuntime, start_runtime
from ingest.service import Collector, start_collectors
from millwright.core.storage import Database, Quality
from sim.build import build_plant
from sim.config import SimConfig
from sim.mqtt_publisher import MqttPublisher, MqttTarget
from sim.opcua_server import OpcUaPlantServer
from sim.records import EventKind, Sample
from sim.runner import run_plant
from sim.sinks import RecordingSink

MQTT_LINE, OPCUA_LINE = "line-1", "line-2"
PLANT_HOURS = 8
SAMPLE_INTERVAL = timedelta(minutes=10)
TICK_WALL_S = 0.15  # wall time between samples: each lands in its own OPC-UA publish cycle
PUBLISHING_INTERVAL_MS = 100
DEADLINE_S = 30

Key = tuple[str, str, datetime]  # (machine, sensor, ts)


def _sim_config() -> SimConfig:
    # Short engine cycles and a short repair so lives end (and restart) inside the run.
    return SimConfig(
        machines=4,
        lines=2,
        seed=5,
        stagger=True,
        cycle_hours=0.05,
        repair_hours=1.0,
        sample_interval_s=SAMPLE_INTERVAL.total_seconds(),
        speed=SAMPLE_INTERVAL.total_seconds() / TICK_WALL_S,
    )


def _expected_mqtt(samples: Sequence[Sample]) -> dict[Key, float]:
    return {
        (s.machine, sensor, s.ts): value
        for s in samples
        if s.line == MQTT_LINE
        for sensor, value in s.values.items()
    }


def _expected_opcua(samples: Sequence[Sample]) -> tuple[dict[Key, float], int]:
    """Line-2 values a StatusValue data-change subscription reports, and how many it skips.

    The server compares each write with the node's previous write (reported or not); the
    first sample follows BadWaitingForInitialData, so its status differs and it is reported.
    """
    last: dict[tuple[str, str], float] = {}
    reported: dict[Key, float] = {}
    skipped = 0
    for s in sorted((s for s in samples if s.line == OPCUA_LINE), key=lambda s: s.ts):
        for sensor, value in s.values.items():
            node = (s.machine, sensor)
            if node in last and last[node] == value:
                skipped += 1
            else:
                reported[(s.machine, sensor, s.ts)] = value
            last[node] = value
    return reported, skipped


def _stored(database: Database) -> dict[Key, tuple[float, int]]:
    rows = database.execute(
        "SELECT m.name, s.name, r.ts, r.value, r.quality FROM readings r"
        " JOIN machines m ON m.id = r.machine_id JOIN sensors s ON s.id = r.sensor_id"
    )
    return {(m, s, ts): (v, q) for m, s, ts, v, q in rows}


def _good_count(database: Database, machines: Sequence[str]) -> int:
    return int(
        database.execute(
            "SELECT count(*) FROM readings r JOIN machines m ON m.id = r.machine_id"
            " WHERE r.quality = 0 AND m.name = ANY(%s)",
            (list(machines),),
        )[0][0]
    )


async def _settle(predicate: Callable[[], bool], timeout: float = DEADLINE_S) -> bool:
    """Poll a blocking predicate off the loop (the OPC-UA server keeps serving) until true.

    False after ``timeout``: the exact comparisons that follow then show what is missing.
    """
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(predicate):
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


def _probe_until_stored(
    host: str, port: int, topic: str, machine: str, database: Database
) -> list[datetime]:
    """Publish probe batches until one is stored: the collector's subscription is live.

    (The collector reports "connected" at CONNACK, before its SUBACK.) Returns the probe
    times published, so the test can tell probe rows from plant rows.
    """
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"{machine}-pub")
    client.connect(host, port)
    client.loop_start()
    sent: list[datetime] = []
    deadline = time.monotonic() + DEADLINE_S
    try:
        while not database.execute(
            "SELECT 1 FROM readings r JOIN machines m ON m.id = r.machine_id WHERE m.name = %s",
            (machine,),
        ):
            assert time.monotonic() < deadline, "the MQTT collector never stored a probe"
            ts = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=len(sent))
            payload = json.dumps({"ts": ts.isoformat(), "values": {"probe": 1.0}})
            client.publish(topic, payload, qos=1).wait_for_publish(5)
            sent.append(ts)
            time.sleep(0.1)
    finally:
        client.disconnect()
        client.loop_stop()
    return sent


def test_both_collectors_store_exactly_what_the_core_generated(
    database: Database,
    database_url: str,
    mqtt_broker: tuple[str, int],
    topic_prefix: str,
    free_port: int,
    tmp_path: Path,
) -> None:
    host, port = mqtt_broker
    config = _sim_config()
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=1)
    plant = build_plant(config, start=start)
    lines: dict[str, list[str]] = {}
    for spec in plant.machines:
        lines.setdefault(spec.line, []).append(spec.id)
    assert sorted(lines) == [MQTT_LINE, OPCUA_LINE]
    mqtt_machines, opcua_machines = lines[MQTT_LINE], lines[OPCUA_LINE]
    sensors = [s.id for s in plant.sensors]
    probe = f"probe-{uuid.uuid4().hex[:8]}"
    endpoint = f"opc.tcp://127.0.0.1:{free_port}/millwright/"
    recording = RecordingSink()
    opcua: list[OpcUaCollector] = []
    probes: list[datetime] = []
    settled: list[bool] = []

    async def scenario() -> None:
        server = OpcUaPlantServer(
            endpoint, plant.machines, plant.sensors, namespace=config.opcua_namespace
        )
        async with server:
            ns = server.ns
            nodes: list[dict[str, str]] = []
            by_path, by_id = opcua_machines
            for sensor in sensors:
                nodes.append(
                    {
                        "browse_path": f"{ns}:Plant/{ns}:{by_path}/{ns}:{sensor}",
                        "machine": by_path,
                        "sensor": sensor,
                    }
                )
                nodes.append(
                    {"node_id": f"ns={ns};s={by_id}.{sensor}", "machine": by_id, "sensor": sensor}
                )
            ingest = IngestConfig.model_validate(
                {
                    "batch": {"size": 5000, "interval_ms": 50},
                    "metrics": {"enabled": False},
                    "mqtt": [
                        {
                            "name": f"{topic_prefix}-mqtt",
                            "host": host,
                            "port": port,
                            "client_id": f"{topic_prefix}-collector",
                            "clean_start": True,
                            "session_expiry_s": 30,
                            "subscriptions": [
                                {
                                    "topic": f"{topic_prefix}/batch/{MQTT_LINE}/{{machine}}/values",
                                    "format": "json",
                                }
                            ],
                        }
                    ],
                    "opcua": [
                        {
                            "name": f"{topic_prefix}-opcua",
                            "endpoint": endpoint,
                            "publishing_interval_ms": PUBLISHING_INTERVAL_MS,
                            "queue_size": 1000,
                            "nodes": nodes,
                        }
                    ],
                }
            )
            publisher = MqttPublisher(
                MqttTarget(host, port),
                prefix=topic_prefix,
                per_sensor=False,
                batch=True,
                batch_topic=config.mqtt_batch_topic,
                command_topic=None,
                client_id=f"{topic_prefix}-sim",
            )
            runtime: IngestRuntime = await asyncio.to_thread(
                start_runtime, ingest, database_url, data_dir=tmp_path
            )
            collectors: list[Collector] = []
            try:
                collectors.extend(await asyncio.to_thread(start_collectors, runtime, ingest))
                opcua.extend(c for c in collectors if isinstance(c, OpcUaCollector))
                assert len(collectors) == 2 and len(opcua) == 1
                assert await asyncio.to_thread(opcua[0].wait_ready, DEADLINE_S)
                probes.extend(
                    await asyncio.to_thread(
                        _probe_until_stored,
                        host,
                        port,
                        f"{topic_prefix}/batch/{MQTT_LINE}/{probe}/values",
                        probe,
                        database,
                    )
                )
                await asyncio.to_thread(publisher.start)
                try:
                    stats = await run_plant(
                        plant,
                        sample_interval=config.sample_interval,
                        speed=config.speed,
                        until=start + timedelta(hours=PLANT_HOURS),
                        reading_sinks=[recording, publisher, server],
                        event_sinks=[recording, server],
                    )
                    assert stats.samples == len(recording.samples)
                    assert await asyncio.to_thread(publisher.flush, DEADLINE_S)
                finally:
                    await asyncio.to_thread(publisher.stop)
                want_mqtt = len(_expected_mqtt(recording.samples))
                want_opcua = len(_expected_opcua(recording.samples)[0])
                settled.append(
                    await _settle(
                        lambda: (
                            _good_count(database, mqtt_machines) >= want_mqtt
                            and _good_count(database, opcua_machines) >= want_opcua
                        )
                    )
                )
            finally:
                for collector in collectors:
                    await asyncio.to_thread(collector.stop)
                await asyncio.to_thread(runtime.stop)

    started = time.monotonic()
    asyncio.run(scenario())
    wall = time.monotonic() - started

    samples = recording.samples
    # The scenario is what it claims: both lines ran, and machines on both went down mid-run.
    failed = {e.machine for e in recording.events if e.kind is EventKind.FAILURE}
    assert failed & set(mqtt_machines) and failed & set(opcua_machines), recording.events
    ticks = PLANT_HOURS * 6 + 1
    assert {s.machine for s in samples} == set(mqtt_machines) | set(opcua_machines)
    assert 0 < len(samples) < ticks * len(plant.machines)  # downtime left holes
    assert wall >= (ticks - 1) * TICK_WALL_S * 0.9  # paced, not run flat out

    expected_mqtt = _expected_mqtt(samples)
    expected_opcua, skipped = _expected_opcua(samples)
    assert skipped > 0  # the flat channels repeat, so the skip rule is exercised
    stored = _stored(database)

    def stored_of(machines: Sequence[str], quality: int) -> dict[Key, float]:
        return {k: v for k, (v, q) in stored.items() if k[0] in machines and q == quality}

    assert stored_of(mqtt_machines, Quality.GOOD) == expected_mqtt
    assert stored_of(opcua_machines, Quality.GOOD) == expected_opcua
    # One BadWaitingForInitialData placeholder per OPC-UA node, at receive time: nothing else.
    placeholders = stored_of(opcua_machines, Quality.BAD | Quality.RECEIVE_TIME)
    assert sorted((m, s) for m, s, _ in placeholders) == sorted(
        (m, s) for m in opcua_machines for s in sensors
    )
    assert set(placeholders.values()) == {0.0}
    assert all(ts > start + timedelta(hours=PLANT_HOURS) for _, _, ts in placeholders)
    probe_rows = stored_of([probe], Quality.GOOD)
    assert probe_rows and set(probe_rows.values()) == {1.0}
    assert {(m, s) for m, s, _ in probe_rows} == {(probe, "probe")}
    assert {ts for _, _, ts in probe_rows} <= set(probes)
    assert len(stored) == (
        len(expected_mqtt) + len(expected_opcua) + len(placeholders) + len(probe_rows)
    )

    assert settled == [True]
    assert read_dead_letters(database) == []
    assert database.execute("SELECT count(*) FROM events")[0][0] == 0
    stats = opcua[0].sources[0].stats
    assert (stats.unresolved, stats.overflows, stats.client_dropped, stats.gaps) == ([], 0, 0, 0)
    assert stats.received == len(expected_opcua) + len(placeholders)
