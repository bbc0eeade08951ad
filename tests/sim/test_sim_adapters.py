"""The protocol adapters against real services: Mosquitto and an asyncua client."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt
import pytest
from asyncua import Client, ua

from sim import (
    CmapssSource,
    EventKind,
    MaintenanceOrder,
    Plant,
    RecordingSink,
    layout,
    load_engines,
)
from sim.errors import MqttPublishError
from sim.mqtt_publisher import MqttPublisher, MqttTarget
from sim.opcua_server import OpcUaPlantServer, node_id, sensor_node_id
from sim.orders import OrderPayloadError, parse_order
from sim.runner import OrderInbox, run_plant

T0 = datetime(2024, 3, 1, tzinfo=UTC)


def _plant(machines: int = 2) -> Plant:
    engines = load_engines()[:4]
    return Plant(layout(machines, 1), CmapssSource(engines), start=T0, seed=5, subcycle_noise=1.0)


class _Subscriber:
    """Collects every message under a prefix."""

    def __init__(self, host: str, port: int, topic: str) -> None:
        self.messages: list[tuple[str, dict]] = []
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        self.client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
        self.client.on_subscribe = lambda *_: self._ready.set()
        self.client.on_message = self._on_message
        self.client.connect(host, port)
        self.client.loop_start()
        assert self._ready.wait(5), "subscription not acknowledged"

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((msg.topic, json.loads(msg.payload)))

    def wait_for(self, count: int, timeout: float = 10.0) -> list[tuple[str, dict]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.messages) < count:
            time.sleep(0.02)
        with self._lock:
            return list(self.messages)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.mark.parametrize("max_inflight", [50_000, 3])
def test_mqtt_subscriber_receives_exactly_what_the_core_sampled(
    mqtt_broker: tuple[str, int], topic_prefix: str, max_inflight: int
) -> None:
    host, port = mqtt_broker
    sub = _Subscriber(host, port, f"{topic_prefix}/#")
    publisher = MqttPublisher(
        MqttTarget(host, port),
        prefix=topic_prefix,
        client_id=f"{topic_prefix}-pub",
        max_inflight=max_inflight,
    )
    plant, sink = _plant(), RecordingSink()
    with publisher:
        asyncio.run(
            run_plant(
                plant,
                sample_interval=timedelta(minutes=20),
                until=T0 + timedelta(hours=1),
                reading_sinks=[sink, publisher],
            )
        )
        assert publisher.flush(10)
        assert publisher.pending == 0 and publisher.published == 8 * 22
    expected_per_sensor = {
        (f"{topic_prefix}/{s.line}/{s.machine}/{sensor}", s.ts.isoformat(), value)
        for s in sink.samples
        for sensor, value in s.values.items()
    }
    expected_batch = {
        (
            f"{topic_prefix}/batch/{s.line}/{s.machine}/values",
            s.ts.isoformat(),
            json.dumps(s.values),
        )
        for s in sink.samples
    }
    total = len(expected_per_sensor) + len(expected_batch)
    assert len(sink.samples) == 8 and total == 8 * 21 + 8
    messages = sub.wait_for(total)
    sub.close()
    got_batch = {(t, p["ts"], json.dumps(p["values"])) for t, p in messages if "values" in p}
    got_per_sensor = {(t, p["ts"], p["value"]) for t, p in messages if "value" in p}
    assert len(messages) == total
    assert got_per_sensor == expected_per_sensor
    assert got_batch == expected_batch


def test_maintenance_orders_arrive_on_the_command_topic(
    mqtt_broker: tuple[str, int], topic_prefix: str
) -> None:
    host, port = mqtt_broker
    inbox = OrderInbox()
    publisher = MqttPublisher(
        MqttTarget(host, port),
        prefix=topic_prefix,
        on_order=inbox.put,
        client_id=f"{topic_prefix}-pub",
    )
    order = {"machine": "m-002", "planned_at": "2024-03-01T03:00:00Z", "order_id": "wo-9"}
    with publisher:
        sender = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        sender.connect(host, port)
        sender.loop_start()
        sender.publish(f"{topic_prefix}/cmd/maintenance", b"{not json", qos=1).wait_for_publish(5)
        sender.publish(
            f"{topic_prefix}/cmd/maintenance", json.dumps(order), qos=1
        ).wait_for_publish(5)
        deadline = time.monotonic() + 5
        while publisher.rejected_orders < 1 or not len(inbox):
            assert time.monotonic() < deadline, "orders did not arrive"
            time.sleep(0.02)
        sender.disconnect()
        sender.loop_stop()
    plant, sink = _plant(), RecordingSink()
    asyncio.run(
        run_plant(
            plant,
            sample_interval=timedelta(hours=1),
            until=T0 + timedelta(hours=4),
            event_sinks=[sink],
            inbox=inbox,
        )
    )
    maintenance = [e for e in sink.events if e.kind is EventKind.MAINTENANCE]
    assert [(e.machine, e.ts, e.details["order_id"]) for e in maintenance] == [
        ("m-002", T0 + timedelta(hours=3), "wo-9")
    ]


def test_order_payloads_are_validated_with_readable_errors() -> None:
    order = parse_order(
        '{"machine": "m-1", "planned_at": "2024-03-01T03:00:00+01:00", "duration_hours": 2}'
    )
    assert order == MaintenanceOrder(
        "m-1", datetime(2024, 3, 1, 2, tzinfo=UTC), "", timedelta(hours=2)
    )
    with pytest.raises(OrderPayloadError, match="planned_at needs a timezone"):
        parse_order('{"machine": "m-1", "planned_at": "2024-03-01T03:00:00"}')
    with pytest.raises(OrderPayloadError, match="machine"):
        parse_order('{"planned_at": "2024-03-01T03:00:00Z"}')


def test_unreachable_broker_is_a_sim_error(free_port: int) -> None:
    with pytest.raises(MqttPublishError, match=f"127.0.0.1:{free_port}"):
        MqttPublisher(MqttTarget("127.0.0.1", free_port)).start(timeout_s=1)


def test_opcua_client_reads_the_values_the_core_produced(free_port: int) -> None:
    async def scenario() -> None:
        endpoint = f"opc.tcp://127.0.0.1:{free_port}/millwright/"
        plant, sink = _plant(3), RecordingSink()
        server = OpcUaPlantServer(endpoint, plant.machines, plant.sensors)
        async with server, Client(endpoint) as client:
            ns = await client.get_namespace_index("urn:millwright:sim")
            node = client.get_node(sensor_node_id(ns, "m-002", "t30_hpc_outlet_temp"))
            with pytest.raises(ua.UaStatusCodeError):
                await node.read_value()
            await run_plant(
                plant,
                sample_interval=timedelta(minutes=15),
                until=T0 + timedelta(hours=2),
                reading_sinks=[sink, server],
                event_sinks=[sink, server],
            )
            last = {s.machine: s for s in sink.samples if s.ts == T0 + timedelta(hours=2)}
            for machine, sample in last.items():
                for sensor, value in sample.values.items():
                    dv = await client.get_node(
                        sensor_node_id(ns, machine, sensor)
                    ).read_data_value()
                    assert dv.Value is not None
                    assert dv.Value.Value == value
                    assert dv.SourceTimestamp == sample.ts
            folder = client.get_node(node_id(ns, "m-001"))
            names = {(await c.read_browse_name()).Name for c in await folder.get_children()}
            assert names == {s.id for s in plant.sensors} | {"state", "line"}
            state = await client.get_node(node_id(ns, "m-001.state")).read_value()
            assert state == "running"
            plant.submit(MaintenanceOrder("m-001", plant.now))
            await server.write_events(plant.advance(timedelta(minutes=1)))
            assert await client.get_node(node_id(ns, "m-001.state")).read_value() == "maintenance"

    asyncio.run(scenario())
