"""Sparkplug B through a real broker and database: compressed payloads are stored,
reordered messages raise no gap, a real gap raises one gap event and one rebirth NCMD."""

from __future__ import annotations

import gzip
import threading
import zlib
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from ingest.sparkplug import COMPRESSED_UUID
from millwright.core import sparkplug_b_pb2 as pb
from millwright.core.storage import Database
from tests.ingest.conftest import Publisher, readings_of, source_config, wait_for

MS = 1_714_564_800_000


def _payload(seq: int, value: float | None = None, ms: int = MS) -> bytes:
    p = pb.Payload(timestamp=ms, seq=seq)
    if value is not None:
        p.metrics.add(alias=1, double_value=value, timestamp=ms)
    return p.SerializeToString()


def _birth() -> bytes:
    p = pb.Payload(timestamp=MS, seq=0)
    p.metrics.add(name="bdSeq", datatype=8, long_value=0)
    p.metrics.add(name="Node Control/Rebirth", datatype=11, boolean_value=False)
    p.metrics.add(name="temp", alias=1, datatype=10, double_value=0.0)
    return p.SerializeToString()


def _compress(inner: bytes, algorithm: str) -> bytes:
    outer = pb.Payload(uuid=COMPRESSED_UUID)
    outer.body = gzip.compress(inner) if algorithm == "GZIP" else zlib.compress(inner)
    outer.metrics.add(name="algorithm", datatype=12, string_value=algorithm)
    return outer.SerializeToString()


class CommandListener:
    """Subscribes to the edge node's NCMD topic, as the edge node would."""

    def __init__(self, host: str, port: int, topic: str) -> None:
        self.commands: list[bytes] = []
        self._ready = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.client.on_message = lambda c, u, msg: self.commands.append(bytes(msg.payload))
        self.client.on_subscribe = lambda *a: self._ready.set()
        self.client.connect(host, port)
        self.client.loop_start()
        self.client.subscribe(topic, qos=1)
        assert self._ready.wait(10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _events(database: Database, source: str) -> list[tuple[str, Any]]:
    return database.execute(
        "SELECT e.kind, e.details->'missing' FROM events e WHERE e.source = %s ORDER BY e.id",
        (source,),
    )


def test_compressed_reordered_and_lost_messages(
    database: Database,
    runtime: Any,
    collector_factory: Any,
    mqtt_broker: Any,
    unique: str,
) -> None:
    group, node, source = f"G{unique}", f"sp{unique}", f"s{unique}"
    config = source_config(
        source,
        *mqtt_broker,
        [{"topic": f"spBv1.0/{group}/#", "format": "sparkplug"}],
        sparkplug_reorder_window=8,
    )
    collector_factory(config, runtime)
    listener = CommandListener(*mqtt_broker, f"spBv1.0/{group}/NCMD/{node}")
    base = f"spBv1.0/{group}"
    pub = Publisher(*mqtt_broker)
    try:
        pub.publish(f"{base}/NBIRTH/{node}", _birth())
        order = [1, 3, 2, 5, 4]  # reordered, nothing lost
        msgs = [(f"{base}/NDATA/{node}", _payload(s, float(s), MS + s)) for s in order]
        msgs.append((f"{base}/NDATA/{node}", _compress(_payload(6, 6.0, MS + 6), "DEFLATE")))
        msgs.append((f"{base}/NDATA/{node}", _compress(_payload(7, 7.0, MS + 7), "GZIP")))
        pub.publish_many(msgs)
        ts = lambda ms: datetime.fromtimestamp(ms / 1000, UTC).isoformat()  # noqa: E731
        expected = {(node, "temp", ts(MS), 0.0, 0)}
        expected |= {(node, "temp", ts(MS + s), float(s), 0) for s in range(1, 8)}
        wait_for(lambda: readings_of(database, node) == expected)
        assert [k for k, _ in _events(database, source)] == ["online"]  # no gap
        assert listener.commands == []
        # a real loss: 8..17 never arrive; 18.. overflow the window of 8
        pub.publish_many(
            [(f"{base}/NDATA/{node}", _payload(s, float(s), MS + s)) for s in range(18, 27)]
        )
        wait_for(lambda: len(_events(database, source)) == 2)
        assert _events(database, source) == [("online", None), ("gap", 10)]
        wait_for(lambda: len(listener.commands) == 1)
        command = pb.Payload()
        command.ParseFromString(listener.commands[0])
        assert [(m.name, m.boolean_value) for m in command.metrics] == [
            ("Node Control/Rebirth", True)
        ]
        assert (
            runtime.metrics.value(
                "millwright_ingest_sparkplug_rebirth_requests_total", source=source
            )
            == 1
        )
        # "Node Control/Rebirth" from the birth is a control, not a sensor
        sensors = database.execute(
            "SELECT s.name FROM sensors s JOIN machines m ON m.id = s.machine_id WHERE m.name = %s",
            (node,),
        )
        assert sensors == [("temp",)]
    finally:
        pub.close()
        listener.close()


def test_a_hole_left_by_a_quiet_edge_node_is_declared_by_the_timer(
    database: Database,
    runtime: Any,
    collector_factory: Any,
    mqtt_broker: Any,
    unique: str,
) -> None:
    group, node, source = f"G{unique}", f"sq{unique}", f"s{unique}"
    config = source_config(
        source,
        *mqtt_broker,
        [{"topic": f"spBv1.0/{group}/#", "format": "sparkplug"}],
        sparkplug_reorder_window=8,
        sparkplug_reorder_timeout_s=0.5,
    )
    collector_factory(config, runtime)
    listener = CommandListener(*mqtt_broker, f"spBv1.0/{group}/NCMD/{node}")
    base = f"spBv1.0/{group}"
    pub = Publisher(*mqtt_broker)
    try:
        pub.publish(f"{base}/NBIRTH/{node}", _birth())
        # seq 2 never comes and the node then stays quiet: no later message gives it up
        pub.publish_many(
            [(f"{base}/NDATA/{node}", _payload(s, float(s), MS + s)) for s in (1, 3, 4)]
        )
        wait_for(lambda: len(readings_of(database, node)) == 4)
        wait_for(lambda: len(_events(database, source)) == 2)
        assert _events(database, source) == [("online", None), ("gap", 1)]
        wait_for(lambda: len(listener.commands) == 1)
        command = pb.Payload()
        command.ParseFromString(listener.commands[0])
        assert [m.name for m in command.metrics] == ["Node Control/Rebirth"]
    finally:
        pub.close()
        listener.close()
