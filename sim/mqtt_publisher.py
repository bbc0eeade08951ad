"""Publishes plant samples over MQTT and takes maintenance orders from a command topic.

Three payload shapes, any combination:

* per sensor, on ``{prefix}/{line}/{machine}/{sensor}``: ``{"ts": iso, "value": x}``;
* per machine, on the batch topic template: ``{"ts": iso, "values": {sensor: x, ...}}``;
* Sparkplug B (``sparkplug=SparkplugEdgeNode(group, node)``): one edge node, one device per
  machine, see :mod:`sim.sparkplug_publisher`. The MQTT will is the node's NDEATH. Each
  connection's NBIRTH goes out ahead of its first batch, stamped with that batch's plant time
  (so node and device times share one clock), and an explicit NDEATH precedes a clean
  disconnect. The publisher is then also an event sink: a machine's failure or maintenance
  publishes its DDEATH, its next sample its DBIRTH.

QoS 1 by default (Sparkplug included; Sparkplug 3.0 asks for QoS 0 on everything but the will,
which ``qos=0`` gives). The number of messages published but not yet acknowledged is capped
(``max_inflight``, ~50k) so a slow or absent broker makes the simulator wait instead of
growing paho's queue without bound.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt

from sim.errors import MqttPublishError
from sim.orders import OrderPayloadError, parse_order
from sim.records import Event, EventKind, MaintenanceOrder, Sample
from sim.sparkplug_publisher import SparkplugEdgeNode

log = logging.getLogger(__name__)

# Events after which a machine produces no samples until it runs again (REPAIR accompanies
# FAILURE; a device already dead is not retracted twice).
_DEVICE_DEATHS = frozenset({EventKind.FAILURE, EventKind.REPAIR, EventKind.MAINTENANCE})


@dataclass(frozen=True)
class MqttTarget:
    """Where to connect: parsed from ``mqtt://[user:pass@]host:port`` or ``mqtts://...``."""

    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = None

    @classmethod
    def from_url(cls, url: str) -> MqttTarget:
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise MqttPublishError(f"MQTT URL {url!r} must look like mqtt://host:port")
        tls = parts.scheme == "mqtts"
        port = parts.port or (8883 if tls else 1883)
        return cls(parts.hostname, port, tls, parts.username, parts.password)


class MqttPublisher:
    """A :class:`~sim.sinks.ReadingSink` publishing samples to an MQTT broker.

    ``write_samples`` blocks (in the runner's worker thread) while too many messages are
    unacknowledged. Orders received on ``command_topic`` are handed to ``on_order``, from paho's
    network thread: pass something thread-safe such as :meth:`sim.runner.OrderInbox.put`.
    """

    def __init__(
        self,
        target: MqttTarget,
        *,
        prefix: str = "plant",
        per_sensor: bool = True,
        batch: bool = True,
        batch_topic: str = "{prefix}/batch/{line}/{machine}/values",
        command_topic: str | None = "{prefix}/cmd/maintenance",
        on_order: Callable[[MaintenanceOrder], None] | None = None,
        qos: int = 1,
        max_inflight: int = 50_000,
        client_id: str = "millwright-sim",
        stall_timeout_s: float = 60.0,
        sparkplug: SparkplugEdgeNode | None = None,
    ) -> None:
        self.target = target
        self.prefix = prefix
        self.per_sensor = per_sensor
        self.batch = batch
        self.batch_topic = batch_topic
        self.command_topic = command_topic.format(prefix=prefix) if command_topic else None
        self.qos = qos
        self.max_inflight = max_inflight
        self.rejected_orders = 0
        self.published = 0
        self._on_order = on_order
        self._stall_timeout = stall_timeout_s
        self._pending = 0
        self._cond = threading.Condition()
        self._connected = threading.Event()
        self._subscribed = threading.Event()  # the broker answered the order subscription
        self._subscribe_refused: str | None = None
        self.sparkplug = sparkplug
        self._sp_lock = threading.Lock()  # seq order = publish order
        self._sessions = 0  # connections accepted so far; bdSeq of session k is k % 256
        self._born_session = 0  # the session whose NBIRTH was published (0: none yet)
        self._plant_now: datetime | None = None  # latest sample/event time: node timestamps
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
        client.max_inflight_messages_set(min(max_inflight, 1000))
        client.max_queued_messages_set(0)
        if target.username:
            client.username_pw_set(target.username, target.password)
        if target.tls:
            client.tls_set()
        if sparkplug is not None:
            will = sparkplug.will(0)
            client.will_set(will.topic, will.payload, qos=1, retain=False)
        client.on_connect = self._handle_connect
        client.on_disconnect = self._handle_disconnect
        client.on_publish = self._handle_publish
        client.on_message = self._handle_message
        client.on_subscribe = self._handle_subscribe
        self._client = client

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, timeout_s: float = 10.0) -> None:
        """Connect and start paho's network thread.

        Waits until the broker accepted us and, with a command topic, acknowledged the
        subscription: an order sent after ``start`` returns is never lost to that race.
        """
        try:
            self._client.connect(self.target.host, self.target.port, keepalive=30)
        except OSError as exc:
            raise MqttPublishError(
                f"cannot connect to MQTT broker {self.target.host}:{self.target.port}: {exc}"
            ) from exc
        self._client.loop_start()
        deadline = time.monotonic() + timeout_s
        if not self._connected.wait(timeout_s):
            self._client.loop_stop()
            raise MqttPublishError(
                f"MQTT broker {self.target.host}:{self.target.port} did not accept the connection"
                f" within {timeout_s} s"
            )
        if self.command_topic and not self._subscribed.wait(max(0.0, deadline - time.monotonic())):
            self._client.loop_stop()
            raise MqttPublishError(
                f"MQTT broker {self.target.host}:{self.target.port} did not acknowledge the"
                f" subscription to {self.command_topic} within {timeout_s} s"
            )
        if self._subscribe_refused is not None:
            self._client.disconnect()
            self._client.loop_stop()
            raise MqttPublishError(
                f"MQTT broker {self.target.host}:{self.target.port} refused the subscription to"
                f" {self.command_topic}: {self._subscribe_refused}"
            )

    def flush(self, timeout_s: float = 30.0) -> bool:
        """Wait until every published message is acknowledged; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self._pending == 0, timeout_s)

    def stop(self) -> None:
        """Flush what is in flight (Sparkplug: then publish NDEATH), then disconnect."""
        self.flush(timeout_s=10.0)
        if self.sparkplug is not None and self._connected.is_set() and self._sessions:
            with self._sp_lock:  # a clean disconnect sends no will: say goodbye explicitly
                death = self.sparkplug.death((self._sessions - 1) % 256, self._plant_now)
                self._publish(death.topic, death.payload, qos=1)
                self._born_session = 0
            self.flush(timeout_s=5.0)
        self._client.disconnect()
        self._client.loop_stop()

    def __enter__(self) -> MqttPublisher:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def pending(self) -> int:
        return self._pending

    # -- sink ------------------------------------------------------------------------------

    def write_samples(self, samples: Sequence[Sample]) -> None:
        if self.sparkplug is not None and samples:
            with self._sp_lock:
                self._sparkplug_session(samples[0].ts)
                for s in samples:
                    self._advance(s.ts)
                    message = self.sparkplug.sample(s)
                    self._publish(message.topic, message.payload)
        for s in samples:
            ts = s.ts.isoformat()
            if self.per_sensor:
                base = f"{self.prefix}/{s.line}/{s.machine}/"
                for sensor, value in s.values.items():
                    self._publish(base + sensor, json.dumps({"ts": ts, "value": value}))
            if self.batch:
                topic = self.batch_topic.format(prefix=self.prefix, line=s.line, machine=s.machine)
                self._publish(topic, json.dumps({"ts": ts, "values": dict(s.values)}))

    def write_events(self, events: Sequence[Event]) -> None:
        """Sparkplug: DDEATH for each born machine that stops running; otherwise nothing."""
        if self.sparkplug is None or not events:
            return
        with self._sp_lock:
            self._sparkplug_session(events[0].ts)
            for e in events:
                self._advance(e.ts)
                if e.kind in _DEVICE_DEATHS:
                    message = self.sparkplug.device_death(e.machine, e.ts)
                    if message is not None:
                        self._publish(message.topic, message.payload)

    def _advance(self, ts: datetime) -> None:
        if self._plant_now is None or ts > self._plant_now:
            self._plant_now = ts

    def _sparkplug_session(self, now: datetime) -> None:
        """Under ``_sp_lock``: wait for a connection; publish NBIRTH once per connection.

        Waiting (rather than letting paho queue while disconnected) keeps a new session's data
        behind its NBIRTH: the host forgot the node's aliases when the will was delivered.
        """
        assert self.sparkplug is not None
        if not self._connected.wait(self._stall_timeout):
            raise MqttPublishError(
                f"no connection to {self.target.host}:{self.target.port} for"
                f" {self._stall_timeout} s (Sparkplug waits for a session)"
            )
        session = self._sessions
        if session != self._born_session:
            birth = self.sparkplug.birth((session - 1) % 256, now)
            self._publish(birth.topic, birth.payload)
            self._born_session = session

    def _publish(self, topic: str, payload: str | bytes, qos: int | None = None) -> None:
        with self._cond:
            if not self._cond.wait_for(
                lambda: self._pending < self.max_inflight, self._stall_timeout
            ):
                raise MqttPublishError(
                    f"{self._pending} MQTT messages unacknowledged for {self._stall_timeout} s"
                    f" by {self.target.host}:{self.target.port}"
                )
            self._pending += 1
        info = self._client.publish(topic, payload, qos=self.qos if qos is None else qos)
        if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            # NO_CONN: paho keeps QoS>0 messages queued and sends them after reconnecting.
            with self._cond:
                self._pending -= 1
                self._cond.notify_all()
            raise MqttPublishError(f"publishing to {topic} failed: {mqtt.error_string(info.rc)}")
        self.published += 1

    # -- paho callbacks (network thread) -----------------------------------------------------

    def _handle_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        if reason.is_failure:
            log.error("MQTT broker refused the connection: %s", reason)
            return
        if self.command_topic:
            client.subscribe(self.command_topic, qos=1)
        if self.sparkplug is not None:
            # This CONNECT carried the will with bdSeq (sessions % 256); the next one carries
            # the next bdSeq. The NBIRTH of this session follows from the publishing thread.
            self._sessions += 1
            will = self.sparkplug.will(self._sessions % 256)
            client.will_set(will.topic, will.payload, qos=1, retain=False)
        self._connected.set()

    def _handle_subscribe(
        self, client: mqtt.Client, userdata: Any, mid: int, reasons: Any, properties: Any
    ) -> None:
        refused = [str(r) for r in reasons if r.is_failure]
        if refused:
            self._subscribe_refused = ", ".join(refused)
            log.error("MQTT broker refused the subscription to %s: %s", self.command_topic, refused)
        self._subscribed.set()

    def _handle_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        self._connected.clear()
        if reason.is_failure:
            log.warning("MQTT connection lost (%s); paho reconnects", reason)

    def _handle_publish(
        self, client: mqtt.Client, userdata: Any, mid: int, reason: Any, properties: Any
    ) -> None:
        with self._cond:
            self._pending = max(0, self._pending - 1)
            self._cond.notify_all()

    def _handle_message(
        self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage
    ) -> None:
        try:
            order = parse_order(bytes(message.payload))
        except OrderPayloadError as exc:
            self.rejected_orders += 1
            log.warning("ignored message on %s: %s", message.topic, exc)
            return
        log.info(
            "maintenance order %s for %s at %s", order.order_id, order.machine, order.planned_at
        )
        if self._on_order is not None:
            self._on_order(order)
