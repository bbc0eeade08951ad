"""Sparkplug B through a real broker and database: compressed payloads are stored,
reordered messages raise no gap, a real gap raises one gap event and one rebirth NCMD."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from millwright.core import sparkplug_b_pb2 as pb  # messages made at import: no stubs
from millwright.core.storage import Database
from tests.ingest.conftest import readings_of, wait_for
from tests.ingest.sparkplug_support import MS, compressed, spb


def _data(seq: int) -> bytes:
    """NDATA number ``seq``: temp (alias 1) = ``seq``, at ``MS + seq``."""
    return spb(seq, [{"alias": 1, "double_value": float(seq), "timestamp": MS + seq}], MS + seq)


def _birth() -> bytes:
    return spb(
        0,
        [
            {"name": "bdSeq", "datatype": 8, "long_value": 0},
            {"name": "Node Control/Rebirth", "datatype": 11, "boolean_value": False},
            {"name": "temp", "alias": 1, "datatype": 10, "double_value": 0.0},
        ],
    )


class EdgeNode:
    """The edge node's side of the broker: its topics, and the NCMD commands it receives."""

    def __init__(self, host: str, port: int, group: str, node: str) -> None:
        self.base, self.node = f"spBv1.0/{group}", node
        self.commands: list[bytes] = []
        self._ready = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.client.on_message = lambda c, u, msg: self.commands.append(bytes(msg.payload))
        self.client.on_subscribe = lambda *a: self._ready.set()
        self.client.connect(host, port)
        self.client.loop_start()
        self.client.subscribe(f"{self.base}/NCMD/{node}", qos=1)
        assert self._ready.wait(10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def edge(mqtt_broker: tuple[str, int], unique: str) -> Iterator[EdgeNode]:
    node = EdgeNode(*mqtt_broker, f"G{unique}", f"e{unique}")
    yield node
    node.close()


def _events(database: Database, source: str) -> list[tuple[str, Any]]:
    return database.execute(
        "SELECT e.kind, e.details->'missing' FROM events e WHERE e.source = %s ORDER BY e.id",
        (source,),
    )


def test_compressed_reordered_and_lost_messages(
    database: Database,
    runtime: Any,
    publisher: Any,
    edge: EdgeNode,
    unique: str,
    start_collector: Any,
) -> None:
    base, node, source = edge.base, edge.node, f"s{unique}"
    start_collector(f"{base}/#", "sparkplug", sparkplug_reorder_window=8)
    publisher.publish(f"{base}/NBIRTH/{node}", _birth())
    order = [1, 3, 2, 5, 4]  # reordered, nothing lost
    msgs = [(f"{base}/NDATA/{node}", _data(s)) for s in order]
    msgs.append((f"{base}/NDATA/{node}", compressed(_data(6), "DEFLATE")))
    msgs.append((f"{base}/NDATA/{node}", compressed(_data(7), "GZIP")))
    publisher.publish_many(msgs)
    ts = lambda ms: datetime.fromtimestamp(ms / 1000, UTC).isoformat()  # noqa: E731
    expected = {(node, "temp", ts(MS), 0.0, 0)}
    expected |= {(node, "temp", ts(MS + s), float(s), 0) for s in range(1, 8)}
    wait_for(lambda: readings_of(database, node) == expected)
    # the online event is committed by its own batch, possibly just after the readings
    wait_for(lambda: [k for k, _ in _events(database, source)] == ["online"])  # and no gap
    assert edge.commands == []
    # a real loss: 8..17 never arrive; 18.. overflow the window of 8
    publisher.publish_many([(f"{base}/NDATA/{node}", _data(s)) for s in range(18, 27)])
    wait_for(lambda: len(_events(database, source)) == 2)
    assert _events(database, source) == [("online", None), ("gap", 10)]
    wait_for(lambda: len(edge.commands) == 1)
    command = pb.Payload()  # type: ignore[attr-defined]
    command.ParseFromString(edge.commands[0])
    assert [(m.name, m.boolean_value) for m in command.metrics] == [("Node Control/Rebirth", True)]
    assert (
        runtime.metrics.value("millwright_ingest_sparkplug_rebirth_requests_total", source=source)
        == 1
    )
    # "Node Control/Rebirth" from the birth is a control, not a sensor
    sensors = database.execute(
        "SELECT s.name FROM sensors s JOIN machines m ON m.id = s.machine_id WHERE m.name = %s",
        (node,),
    )
    assert sensors == [("temp",)]


def test_a_hole_left_by_a_quiet_edge_node_is_declared_by_the_timer(
    database: Database, publisher: Any, edge: EdgeNode, unique: str, start_collector: Any
) -> None:
    base, node, source = edge.base, edge.node, f"s{unique}"
    start_collector(
        f"{base}/#", "sparkplug", sparkplug_reorder_window=8, sparkplug_reorder_timeout_s=0.5
    )
    publisher.publish(f"{base}/NBIRTH/{node}", _birth())
    # seq 2 never comes and the node then stays quiet: no later message gives it up
    publisher.publish_many([(f"{base}/NDATA/{node}", _data(s)) for s in (1, 3, 4)])
    wait_for(lambda: len(readings_of(database, node)) == 4)
    wait_for(lambda: len(_events(database, source)) == 2)
    assert _events(database, source) == [("online", None), ("gap", 1)]
    wait_for(lambda: len(edge.commands) == 1)
    command = pb.Payload()  # type: ignore[attr-defined]
    command.ParseFromString(edge.commands[0])
    assert [m.name for m in command.metrics] == ["Node Control/Rebirth"]
