"""The simulator's Sparkplug B option: payloads, and the real collector storing exactly the core's.

* Pure: the edge node's messages decode with the shared Tahu module (topics, ``seq`` mod 256,
  ``bdSeq``, names and aliases on DBIRTH, aliases only on DDATA, millisecond timestamps) and
  round-trip through the collector's decoder without reasons or gaps.
* End to end: a small plant (failures, a repeated failure, two maintenances; more than 256
  messages so ``seq`` wraps) served by ``sim.service.serve`` with ``mqtt_sparkplug`` (JSON
  off) runs through the real Mosquitto
  into the real MQTT collector. Stored readings equal the core's samples exactly (machine =
  device id, float64, millisecond-exact plant times); every DBIRTH/DDEATH/NDEATH is the
  online/offline event the collector records, with the plant time of the sample or event;
  ``machines.status`` follows DDEATH (offline while down) and NDEATH; no dead letters, no gaps.
* Reconnect: after an unclean connection loss the broker delivers the will (NDEATH with the
  session's ``bdSeq``) and the publisher starts a new session: NBIRTH with the next ``bdSeq``
  and ``seq`` 0, then DBIRTH again before any DDATA.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import paho.mqtt.client as mqtt
import pytest

from ingest.config import IngestConfig
from ingest.dead_letters import read_dead_letters
from ingest.mqtt import MqttCollector
from ingest.runtime import IngestRuntime, start_runtime
from ingest.service import start_collectors
from ingest.sparkplug import SparkplugDecoder
from millwright.core import sparkplug_b_pb2 as pb
from millwright.core.storage import Database, Quality
from sim.build import build_plant
from sim.config import SimConfig
from sim.mqtt_publisher import MqttPublisher, MqttTarget
from sim.records import Event, EventKind, MaintenanceOrder, Sample
from sim.service import serve
from sim.sinks import RecordingSink
from sim.sparkplug_publisher import SparkplugEdgeNode, SparkplugMessage, to_ms

DEADLINE_S = 20
START = datetime(2024, 5, 1, tzinfo=UTC)
T0 = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
T0_MS = 1714564800123


def _decode(message: SparkplugMessage) -> Any:
    payload = pb.Payload()  # type: ignore[attr-defined]
    payload.ParseFromString(message.payload)
    return payload


def _sample(machine: str, ts: datetime, **values: float) -> Sample:
    return Sample(ts, "line-1", machine, values)


# -- payloads ----------------------------------------------------------------------------------


def test_to_ms_floors_to_milliseconds() -> None:
    assert to_ms(T0) == T0_MS
    assert to_ms(datetime(1970, 1, 1, tzinfo=UTC)) == 0
    assert to_ms(START) == 1714521600000


def test_edge_node_messages_decode_with_aliases_seq_and_timestamps() -> None:
    node = SparkplugEdgeNode("G1", "sim")
    t1 = T0 + timedelta(seconds=1)
    will = node.will(0)
    messages = [
        node.birth(0, T0),
        node.sample(_sample("m-1", T0, a=1.5, b=-2.25)),
        node.sample(_sample("m-2", T0, a=3.0, b=4.0)),
        node.sample(_sample("m-1", t1, a=1.75, b=-2.5)),
        cast(SparkplugMessage, node.device_death("m-2", t1)),  # m-2 is born: a DDEATH
    ]
    assert node.device_death("m-2", t1) is None  # already dead: nothing to retract
    assert node.born == {"m-1"}
    messages.append(node.sample(_sample("m-2", t1 + timedelta(seconds=1), a=5.0, b=6.0)))
    messages.append(node.death(0, t1 + timedelta(seconds=1)))
    assert node.born == frozenset()

    assert [m.topic for m in messages] == [
        "spBv1.0/G1/NBIRTH/sim",
        "spBv1.0/G1/DBIRTH/sim/m-1",
        "spBv1.0/G1/DBIRTH/sim/m-2",
        "spBv1.0/G1/DDATA/sim/m-1",
        "spBv1.0/G1/DDEATH/sim/m-2",
        "spBv1.0/G1/DBIRTH/sim/m-2",
        "spBv1.0/G1/NDEATH/sim",
    ]
    decoded = [_decode(m) for m in messages]
    assert [p.seq for p in decoded[:-1]] == [0, 1, 2, 3, 4, 5]
    assert not decoded[-1].HasField("seq")  # NDEATH carries no seq
    assert [p.timestamp for p in decoded] == [
        T0_MS,
        T0_MS,
        T0_MS,
        T0_MS + 1000,
        T0_MS + 1000,
        T0_MS + 2000,
        T0_MS + 2000,
    ]

    nbirth = decoded[0]
    assert [(m.name, m.datatype) for m in nbirth.metrics] == [
        ("bdSeq", pb.UInt64),  # type: ignore[attr-defined]
        ("Node Control/Rebirth", pb.Boolean),  # type: ignore[attr-defined]
    ]
    assert nbirth.metrics[0].long_value == 0 and nbirth.metrics[1].boolean_value is False

    dbirth1, dbirth2 = decoded[1], decoded[2]
    assert [
        (m.name, m.alias, m.datatype, m.double_value, m.timestamp) for m in dbirth1.metrics
    ] == [
        ("a", 1, pb.Double, 1.5, T0_MS),  # type: ignore[attr-defined]
        ("b", 2, pb.Double, -2.25, T0_MS),  # type: ignore[attr-defined]
    ]
    assert [(m.name, m.alias) for m in dbirth2.metrics] == [("a", 3), ("b", 4)]  # node-unique

    ddata = decoded[3]
    assert [(m.alias, m.double_value, m.timestamp) for m in ddata.metrics] == [
        (1, 1.75, T0_MS + 1000),
        (2, -2.5, T0_MS + 1000),
    ]
    assert not any(m.HasField("name") or m.HasField("datatype") for m in ddata.metrics)
    assert list(decoded[4].metrics) == []  # DDEATH: just seq and time
    rebirth = decoded[5]
    assert [(m.name, m.alias, m.double_value) for m in rebirth.metrics] == [
        ("a", 3, 5.0),  # aliases stay stable across births
        ("b", 4, 6.0),
    ]

    will_payload = _decode(will)
    assert will.topic == "spBv1.0/G1/NDEATH/sim"
    assert not will_payload.HasField("seq") and not will_payload.HasField("timestamp")
    assert [(m.name, m.long_value) for m in will_payload.metrics] == [("bdSeq", 0)]
    assert [(m.name, m.long_value) for m in decoded[-1].metrics] == [("bdSeq", 0)]

    # The collector's decoder reads them back: rows by alias, no reasons, no gap.
    decoder = SparkplugDecoder()
    rows, kinds = [], []
    for message in messages:
        result = decoder.decode(message.topic, message.payload, 0)
        assert result.reason is None
        rows += result.rows
        kinds += [(e.machine, e.kind) for e in result.events]
    assert ("sim", "gap") not in kinds
    assert sorted(rows) == sorted(
        [
            ("m-1", "a", T0_MS * 1000, 1.5, 0),
            ("m-1", "b", T0_MS * 1000, -2.25, 0),
            ("m-2", "a", T0_MS * 1000, 3.0, 0),
            ("m-2", "b", T0_MS * 1000, 4.0, 0),
            ("m-1", "a", (T0_MS + 1000) * 1000, 1.75, 0),
            ("m-1", "b", (T0_MS + 1000) * 1000, -2.5, 0),
            ("m-2", "a", (T0_MS + 2000) * 1000, 5.0, 0),
            ("m-2", "b", (T0_MS + 2000) * 1000, 6.0, 0),
        ]
    )


def test_seq_wraps_after_255_and_nbirth_restarts_it() -> None:
    node = SparkplugEdgeNode("G", "n")
    seqs = [_decode(node.birth(3, T0)).seq]
    for i in range(300):
        seqs.append(_decode(node.sample(_sample("m", T0 + timedelta(seconds=i), v=i))).seq)
    assert seqs == [i % 256 for i in range(301)]
    rebirth = _decode(node.birth(4, T0))
    assert rebirth.seq == 0 and rebirth.metrics[0].long_value == 4
    assert _decode(node.sample(_sample("m", T0, v=1.0))).metrics[0].name == "v"  # reborn


def test_sensor_set_change_is_a_new_birth() -> None:
    node = SparkplugEdgeNode("G", "n")
    node.birth(0, T0)
    node.sample(_sample("m", T0, a=1.0))
    message = node.sample(_sample("m", T0, a=1.0, b=2.0))
    assert "/DBIRTH/" in message.topic
    assert [(m.name, m.alias) for m in _decode(message).metrics] == [("a", 1), ("b", 2)]


@pytest.mark.parametrize("bad", ["", "a/b", "a+", "#"])
def test_ids_are_checked(bad: str) -> None:
    with pytest.raises(ValueError):
        SparkplugEdgeNode(bad, "n")
    with pytest.raises(ValueError):
        SimConfig(sparkplug_node=bad)


# -- end to end ------------------------------------------------------------------------------

Key = tuple[str, str, datetime]


def _stored(database: Database) -> dict[Key, tuple[float, int]]:
    rows = database.execute(
        "SELECT m.name, s.name, r.ts, r.value, r.quality FROM readings r"
        " JOIN machines m ON m.id = r.machine_id JOIN sensors s ON s.id = r.sensor_id"
    )
    return {(m, s, ts): (v, q) for m, s, ts, v, q in rows}


def _events(database: Database, source: str) -> list[tuple[str, str, datetime, str]]:
    return database.execute(
        "SELECT m.name, e.kind, e.ts, e.details->>'by' FROM events e"
        " JOIN machines m ON m.id = e.machine_id WHERE e.source = %s",
        (source,),
    )


def _statuses(database: Database, names: Sequence[str]) -> dict[str, str]:
    rows = database.execute(
        "SELECT name, status FROM machines WHERE name = ANY(%s)", (list(names),)
    )
    return dict(rows)


def _wait(predicate: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + DEADLINE_S
    while not (value := predicate()):
        assert time.monotonic() < deadline, f"timed out waiting for {what} (last: {value!r})"
        time.sleep(0.05)
    return value


def _received(runtime: IngestRuntime, source: str) -> float:
    return runtime.metrics.value("millwright_ingest_messages_received_total", source=source)


def _probe_subscription(
    host: str, port: int, topic: str, runtime: IngestRuntime, source: str
) -> float:
    """Publish NCMD probes until the collector receives one: its subscription is live.

    (Connected is reported at CONNACK, before SUBACK.) NCMD is a host command: the collector
    counts it and stores nothing; the simulator does not subscribe to commands.
    """
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"probe-{uuid.uuid4().hex}")
    client.connect(host, port)
    client.loop_start()
    try:
        deadline = time.monotonic() + DEADLINE_S
        while _received(runtime, source) == 0:
            assert time.monotonic() < deadline, "the Sparkplug subscription never became live"
            client.publish(topic, b"", qos=1).wait_for_publish(5)
            time.sleep(0.1)
    finally:
        client.disconnect()
        client.loop_stop()
    return _received(runtime, source)


class _StatusWatch:
    """A reading and event sink, ahead of the publisher: checks ``machines.status`` live.

    The runner hands a tick's events to every event sink, then its samples to every reading
    sink; so when this sees a tick's samples, the publisher has published the tick's DDEATHs
    and everything up to the previous tick. At each tick with a DDEATH it waits until the
    stored statuses are what was published: running for machines sampled last tick and not
    dead since, offline for every other machine seen so far.
    """

    def __init__(self, database: Database) -> None:
        self.database = database
        self.checks: list[tuple[datetime, dict[str, str], dict[str, str]]] = []
        self._seen: set[str] = set()
        self._last: set[str] = set()
        self._dead: set[str] = set()

    def write_events(self, events: Sequence[Event]) -> None:
        self._dead |= {e.machine for e in events if e.kind is not EventKind.MAINTENANCE_SKIPPED}

    def write_samples(self, samples: Sequence[Sample]) -> None:
        if self._dead & self._last:
            want = {m: "offline" for m in self._seen}
            want |= {m: "running" for m in self._last - self._dead}
            deadline = time.monotonic() + 5
            while (got := _statuses(self.database, list(want))) != want:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.02)
            self.checks.append((samples[0].ts, want, got))
        self._dead = set()
        self._last = {s.machine for s in samples}
        self._seen |= self._last


def _expected_events(
    samples: Sequence[Sample], events: Sequence[Event], node: str, end: datetime
) -> list[tuple[str, str, datetime, str]]:
    """The online/offline events the collector should record, replaying the publisher's rules."""
    timeline: list[tuple[datetime, int, Sample | Event]] = [(e.ts, 0, e) for e in events]
    timeline += [(s.ts, 1, s) for s in samples]  # at equal times the runner sends events first
    born: set[str] = set()
    out: list[tuple[str, str, datetime, str]] = []
    for ts, _, item in sorted(timeline, key=lambda x: (x[0], x[1])):
        if isinstance(item, Sample) and item.machine not in born:
            born.add(item.machine)
            out.append((item.machine, "online", ts, "DBIRTH"))
        elif (
            isinstance(item, Event)
            and item.kind is not EventKind.MAINTENANCE_SKIPPED
            and item.machine in born
        ):
            born.discard(item.machine)
            out.append((item.machine, "offline", ts, "DDEATH"))
    out += [(m, "offline", end, "NDEATH") for m in sorted(born)]
    out.append(
        (node, "online", min(ts for ts, _, _ in timeline), "NBIRTH")
    )  # stamped like its first batch
    out.append((node, "offline", end, "NDEATH"))
    return sorted(out)


def test_sparkplug_plant_into_the_collector_stores_exactly_the_core(
    database: Database,
    database_url: str,
    mqtt_broker: tuple[str, int],
    tmp_path: Path,
) -> None:
    host, port = mqtt_broker
    u = uuid.uuid4().hex[:8]
    group, node = f"G{u}", f"sim{u}"
    source = f"sp{u}"
    config = SimConfig(
        machines=4,
        lines=1,
        seed=4,
        cycle_hours=0.05,
        repair_hours=1.0,
        sample_interval_s=600,
        speed=float("inf"),
        publish_mqtt=True,
        serve_opcua=False,
        mqtt_topic_prefix=f"sim{u}",
        mqtt_per_sensor=False,
        mqtt_batch=False,
        mqtt_client_id=f"{source}-sim",
        mqtt_sparkplug=True,
        sparkplug_group=group,
        sparkplug_node=node,
    )
    plant = build_plant(config, start=START)
    machines = [m.id for m in plant.machines]
    plant.submit(MaintenanceOrder(machines[0], START + timedelta(hours=3)))
    plant.submit(MaintenanceOrder(machines[1], START + timedelta(hours=13.5)))  # down at the end
    end = START + timedelta(hours=14)
    ingest = IngestConfig.model_validate(
        {
            "batch": {"size": 5000, "interval_ms": 50},
            "metrics": {"enabled": False},
            "mqtt": [
                {
                    "name": source,
                    "host": host,
                    "port": port,
                    "client_id": f"{source}-collector",
                    "clean_start": True,
                    "session_expiry_s": 30,
                    # Node and device levels spelled out: the collector's templates need '#' to
                    # match at least one level, so spBv1.0/{group}/+/{node}/# would miss the
                    # node's NBIRTH/NDEATH (MQTT's own '#' also matches the parent level).
                    "subscriptions": [
                        {"topic": f"spBv1.0/{group}/+/{node}", "format": "sparkplug"},
                        {"topic": f"spBv1.0/{group}/+/{node}/+", "format": "sparkplug"},
                    ],
                }
            ],
        }
    )
    recording = RecordingSink()
    watch = _StatusWatch(database)
    runtime = start_runtime(ingest, database_url, data_dir=tmp_path)
    collectors = []
    try:
        collectors = start_collectors(runtime, ingest)
        assert len(collectors) == 1 and isinstance(collectors[0], MqttCollector)
        probes = _probe_subscription(host, port, f"spBv1.0/{group}/NCMD/{node}", runtime, source)
        # The service wires the publisher (a reading and an event sink) from the config.
        asyncio.run(
            serve(
                config,
                mqtt_url=f"mqtt://{host}:{port}",
                hours=14,
                plant=plant,
                reading_sinks=[recording, watch],
                event_sinks=[recording, watch],
            )
        )
        samples = recording.samples
        expected = {
            (s.machine, sensor, s.ts): (value, int(Quality.GOOD))
            for s in samples
            for sensor, value in s.values.items()
        }
        want_events = _expected_events(samples, recording.events, node, end)
        _wait(lambda: len(_events(database, source)) >= len(want_events), "events")
        _wait(
            lambda: set(_statuses(database, [*machines, node]).values()) == {"offline"},
            "offline after NDEATH",
        )
        _wait(lambda: len(_stored(database)) >= len(expected), "all readings")
        received = _received(runtime, source) - probes
    finally:
        for c in collectors:
            c.stop()
        runtime.stop()

    # The scenario is what it claims.
    kinds = {(e.machine, e.kind) for e in recording.events}
    assert {(machines[0], EventKind.MAINTENANCE), (machines[1], EventKind.MAINTENANCE)} <= kinds
    failures = [e.machine for e in recording.events if e.kind is EventKind.FAILURE]
    assert len(failures) > len(set(failures)) >= 2  # several machines, one of them twice
    assert received > 256  # seq wrapped at least once
    # While the node lived, each DDEATH took its machine offline and DBIRTH brought it back.
    assert len(watch.checks) >= 5
    for at, want, got in watch.checks:
        assert got == want, at
    assert any(set(want.values()) == {"running", "offline"} for _, want, _ in watch.checks)

    assert _stored(database) == expected
    assert read_dead_letters(database) == []
    stored_events = _events(database, source)
    assert not [e for e in stored_events if e[1] == "gap"]
    assert sorted(stored_events) == want_events


def test_reconnect_delivers_the_will_and_starts_a_new_session(
    mqtt_broker: tuple[str, int],
) -> None:
    host, port = mqtt_broker
    u = uuid.uuid4().hex[:8]
    group = f"R{u}"
    received: list[tuple[str, bytes]] = []
    lock = threading.Lock()
    subscribed = threading.Event()
    watcher = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"watch-{u}")

    def on_message(client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        with lock:
            received.append((message.topic, bytes(message.payload)))

    watcher.on_message = on_message
    watcher.on_subscribe = lambda *args: subscribed.set()
    watcher.connect(host, port)
    watcher.subscribe(f"spBv1.0/{group}/#", qos=1)
    watcher.loop_start()

    def topics() -> list[str]:
        with lock:
            return [t.split("/", 2)[2] for t, _ in received]

    publisher = MqttPublisher(
        MqttTarget(host, port),
        per_sensor=False,
        batch=False,
        command_topic=None,
        client_id=f"sim-{u}",
        sparkplug=SparkplugEdgeNode(group, "sim"),
    )
    try:
        assert subscribed.wait(DEADLINE_S)
        publisher.start()
        publisher.write_samples([_sample("m-1", T0, a=1.0)])
        assert publisher.flush(DEADLINE_S)
        sock = publisher._client.socket()
        assert isinstance(sock, socket.socket)
        sock.shutdown(socket.SHUT_RDWR)  # an unclean loss: the broker publishes the will
        _wait(lambda: "NDEATH/sim" in topics(), "the will")
        _wait(lambda: publisher._sessions == 2, "the reconnection")  # paho retries after ~1 s
        publisher.write_samples([_sample("m-1", T0 + timedelta(seconds=1), a=2.0)])
        assert publisher.flush(DEADLINE_S)
        publisher.stop()
        _wait(lambda: topics()[-1:] == ["NDEATH/sim"] and len(topics()) == 6, "messages")
    finally:
        watcher.disconnect()
        watcher.loop_stop()
    assert topics() == [
        "NBIRTH/sim",
        "DBIRTH/sim/m-1",
        "NDEATH/sim",  # the will
        "NBIRTH/sim",
        "DBIRTH/sim/m-1",  # every device is born again in the new session
        "NDEATH/sim",  # the explicit death before the clean disconnect
    ]
    decoded = [_decode(SparkplugMessage(t, p)) for t, p in received]
    bdseq = [p.metrics[0].long_value for p in decoded if p.metrics and p.metrics[0].name == "bdSeq"]
    assert bdseq == [0, 0, 1, 1]  # NBIRTH, will, NBIRTH, NDEATH
    assert [p.seq for p in decoded if p.HasField("seq")] == [0, 1, 0, 1]
    assert decoded[4].metrics[0].double_value == 2.0
