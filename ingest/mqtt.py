"""The MQTT collector: paho-mqtt 2.x client → decoders → the shared pipeline.

At-least-once end to end: the client runs with ``manual_ack=True`` and a message is
acknowledged (PUBACK) only from the pipeline's ``on_committed`` callback, i.e. once its
readings are committed in PostgreSQL or durably in the on-disk buffer. A collector that dies
before that leaves the message unacknowledged in its persistent session (fixed client id,
clean start off, session expiry), so the broker delivers it again when the collector
returns; the idempotent writer makes the re-delivery a no-op.

Flow control: MQTT 5 ``Receive Maximum`` caps how many unacknowledged QoS 1 messages the
broker sends us; MQTT 5 ``Maximum Packet Size`` makes the broker drop messages too large to
be worth receiving. Payloads above ``max_payload_bytes`` that still arrive are
dead-lettered (cut). With MQTT 3.1.1 the broker's own in-flight limit applies (Mosquitto:
``max_inflight_messages``, 20 by default — raise it, since acknowledgements wait for the
batch commit).

Back-pressure: when the pipeline holds ``max_pending_readings`` (database down and buffer
full under ``stop_acknowledging``), ``on_message`` blocks, so paho stops reading and TCP
pushes back on the broker; if that lasts beyond the keep-alive the broker drops the
connection and re-delivers the unacknowledged messages after the reconnect (no loss, the
writer ignores the duplicates).

The per-message path is deliberately short (topic match from a cache, one decode, one
append under the pipeline's lock); everything heavier runs on the pipeline's writer thread.
"""

from __future__ import annotations

import contextlib
import logging
import ssl
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from ingest.config import MqttSourceConfig, SubscriptionConfig
from ingest.decoders import decode
from ingest.errors import IngestConfigError, PipelineStopped
from ingest.metrics import CollectorMetrics
from ingest.mqtt_client import BufferedClient
from ingest.pipeline import Pipeline
from ingest.plant_events import EventsWriter, decode_events
from ingest.sparkplug import NAMESPACE, SparkplugDecoder, SparkplugResult, rebirth_payload
from ingest.topics import TopicTemplate
from millwright.core.storage import Database

log = logging.getLogger(__name__)


class MqttCollector:
    """One broker connection with its subscriptions, feeding one :class:`Pipeline`."""

    def __init__(
        self,
        config: MqttSourceConfig,
        pipeline: Pipeline,
        metrics: CollectorMetrics,
        *,
        database: Database | None = None,
    ) -> None:
        self.config = config
        self.name = config.name
        self._pipeline = pipeline
        self._metrics = metrics
        self._subs: list[tuple[TopicTemplate, SubscriptionConfig]] = [
            (TopicTemplate(s.topic), s) for s in config.subscriptions
        ]
        self._sparkplug = SparkplugDecoder(
            machine_from=config.sparkplug_machine,
            reorder_window=config.sparkplug_reorder_window,
            reorder_timeout_s=config.sparkplug_reorder_timeout_s,
            rebirth_interval_s=config.sparkplug_rebirth_interval_s,
        )
        # paho's thread decodes, the expiry timer gives up held holes: one at a time
        self._sparkplug_lock = threading.Lock()
        self._expiry_stop = threading.Event()
        self._expiry: threading.Thread | None = None
        self.events: EventsWriter | None = None
        if any(s.format == "events" for s in config.subscriptions):
            if database is None:
                raise IngestConfigError(
                    f"source {config.name}: an events subscription needs the database"
                )
            self.events = EventsWriter(database, pipeline, config.name)
        self._messages = metrics.messages.labels(self.name)
        self._connected_gauge = metrics.connected.labels(self.name)
        self._connected = threading.Event()
        self._last_message: float | None = None
        self._last_error: str | None = None
        self._subscribing: list[str] = []  # topic filters of the SUBSCRIBE in flight
        self.client = self._make_client()

    # --- lifecycle ----------------------------------------------------------------------

    def _make_client(self) -> mqtt.Client:
        c = self.config
        v5 = c.protocol == "5"
        client = BufferedClient(
            CallbackAPIVersion.VERSION2,
            client_id=c.effective_client_id,
            clean_session=None if v5 else c.clean_start,
            protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
            manual_ack=True,
        )
        if c.username is not None:
            client.username_pw_set(
                c.username, c.password.get_secret_value() if c.password else None
            )
        if c.tls is not None:
            for path in (c.tls.ca_file, c.tls.cert_file, c.tls.key_file):
                if path is not None and not path.is_file():
                    raise IngestConfigError(f"source {c.name}: TLS file {path} does not exist")
            client.tls_set(
                ca_certs=str(c.tls.ca_file) if c.tls.ca_file else None,
                certfile=str(c.tls.cert_file) if c.tls.cert_file else None,
                keyfile=str(c.tls.key_file) if c.tls.key_file else None,
                cert_reqs=ssl.CERT_REQUIRED,
            )
            client.tls_insecure_set(c.tls.insecure)
        client.reconnect_delay_set(
            min_delay=max(1, round(c.reconnect_min_s)), max_delay=max(1, round(c.reconnect_max_s))
        )
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        client.on_connect_fail = self._on_connect_fail
        return client

    def _connect_properties(self) -> Properties | None:
        if self.config.protocol != "5":
            return None
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.config.session_expiry_s
        props.ReceiveMaximum = self.config.receive_maximum
        props.MaximumPacketSize = self.config.max_packet_bytes
        return props

    def start(self) -> None:
        """Connect in the background; paho reconnects with backoff on its own thread."""
        c = self.config
        kwargs: dict[str, Any] = {"keepalive": c.keepalive_s}
        if c.protocol == "5":
            kwargs["clean_start"] = c.clean_start
            kwargs["properties"] = self._connect_properties()
        if self.events is not None:
            self.events.start()
        self.client.connect_async(c.host, c.port, **kwargs)
        self.client.loop_start()
        if any(sub.format == "sparkplug" for _, sub in self._subs):
            self._expiry_stop.clear()
            self._expiry = threading.Thread(
                target=self._expire_loop, name=f"sparkplug-expiry-{c.name}", daemon=True
            )
            self._expiry.start()
        log.info(
            "source %s: connecting to %s:%d as %s (MQTT %s)",
            c.name,
            c.host,
            c.port,
            c.effective_client_id,
            c.protocol,
        )

    def wait_connected(self, timeout: float = 10) -> bool:
        """True once the broker accepted us and answered the subscriptions.

        A message published after this returns is delivered: on a first, clean session the
        broker drops what arrives before the subscription exists.
        """
        return self._connected.wait(timeout)

    def stop(self) -> None:
        """Disconnect; unacknowledged messages stay in the broker session for next time."""
        self._expiry_stop.set()
        if self._expiry is not None:
            self._expiry.join(5)
            self._expiry = None
        self.client.disconnect()
        self.client.loop_stop()
        if self.events is not None:
            self.events.stop()
        self._connected.clear()
        self._connected_gauge.set(0)

    def health(self) -> dict[str, Any]:
        last = self._last_message
        return {
            "connected": self._connected.is_set(),
            "last_message_age_s": None if last is None else round(time.monotonic() - last, 3),
            "last_error": self._last_error,
        }

    # --- paho callbacks (network thread) ------------------------------------------------

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        if reason.is_failure:
            self._last_error = f"broker refused the connection: {reason}"
            log.error("source %s: %s", self.name, self._last_error)
            return
        subscriptions: list[tuple[str, int]] = [
            (t.subscription(self.config.shared_group), int(s.qos)) for t, s in self._subs
        ]
        self._subscribing = [f for f, _ in subscriptions]
        client.subscribe(subscriptions)
        log.info(
            "source %s: connected (session present: %s), subscribing to %s",
            self.name,
            getattr(flags, "session_present", None),
            ", ".join(self._subscribing),
        )

    def _on_subscribe(
        self, client: mqtt.Client, userdata: Any, mid: int, reasons: Any, properties: Any
    ) -> None:
        pairs = zip(self._subscribing, reasons, strict=False)  # paho answers one per filter
        refused = [f"{f} ({r})" for f, r in pairs if r.is_failure]
        if refused:
            self._last_error = "broker refused the subscription to " + ", ".join(refused)
            log.error("source %s: %s", self.name, self._last_error)
        else:
            self._last_error = None
        self._connected.set()
        self._connected_gauge.set(1)

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        self._last_error = "cannot reach the broker"
        log.warning(
            "source %s: cannot reach %s:%d; retrying", self.name, self.config.host, self.config.port
        )

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        was = self._connected.is_set()
        self._connected.clear()
        self._connected_gauge.set(0)
        if was:
            log.warning("source %s: disconnected (%s); reconnecting", self.name, reason)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        self._messages.inc()
        self._last_message = time.monotonic()
        ack: Callable[[], object] | None = (
            partial(client.ack, msg.mid, msg.qos) if msg.qos else None
        )
        payload = bytes(msg.payload)
        try:
            self._handle(msg.topic, payload, ack)
        except PipelineStopped:
            pass  # not acknowledged: the broker re-delivers to the next session
        except Exception:  # bad input must never kill the network thread
            log.exception("source %s: unexpected error handling a message", self.name)
            topic = bytes(msg._topic).decode("utf-8", "replace")  # msg.topic may be what failed
            with contextlib.suppress(PipelineStopped):
                self._pipeline.dead_letter(
                    self.name, topic, payload, "collector error (see logs)", ack
                )

    def _handle(self, topic: str, payload: bytes, ack: Any) -> None:
        pipeline = self._pipeline
        if len(payload) > self.config.max_payload_bytes:
            reason = (
                f"payload of {len(payload)} bytes exceeds max_payload_bytes"
                f" ({self.config.max_payload_bytes})"
            )
            pipeline.dead_letter(self.name, topic, payload[:1024], reason, ack)
            return
        for template, sub in self._subs:  # noqa: B007 - sub is used after the break
            fields = template.match(topic)
            if fields is not None:
                break
        else:
            pipeline.dead_letter(self.name, topic, payload, "topic matches no template", ack)
            return
        receive_us = time.time_ns() // 1000
        if sub.format == "sparkplug":
            self._sparkplug_message(topic, payload, receive_us, ack)
            return
        if sub.format == "events" and self.events is not None:
            machine = fields.get("machine") or sub.machine
            message = decode_events(payload, machine, f"mqtt:{self.name}")
            self.events.submit(topic, message, ack)
            return
        decoded = decode(
            payload,
            sub.format,
            machine=fields.get("machine") or sub.machine,
            sensor=fields.get("sensor") or sub.sensor,
            receive_us=receive_us,
            booleans=sub.booleans,
        )
        if decoded.columns is not None:  # columnar fast path (never carries a reason)
            pipeline.submit(self.name, decoded.columns, ack, ref=topic)
            return
        if decoded.reason is None:
            pipeline.submit_rows(self.name, decoded.items, ack, ref=topic)
            return
        if decoded.items:
            pipeline.submit_rows(self.name, decoded.items, ref=topic)
        pipeline.dead_letter(self.name, topic, payload, decoded.reason, ack)

    def _expire_loop(self) -> None:
        """Declare reorder holes that outlived the timeout while their node was quiet."""
        period = min(0.5, max(0.05, self.config.sparkplug_reorder_timeout_s / 4))
        while not self._expiry_stop.wait(period):
            now_us = time.time_ns() // 1000
            with self._sparkplug_lock:
                result = self._sparkplug.expire(now_us)
            try:
                self._sparkplug_effects(result, now_us)
            except PipelineStopped:
                return
            except Exception:
                log.exception("source %s: Sparkplug reorder timer failed", self.name)

    def _sparkplug_message(self, topic: str, payload: bytes, receive_us: int, ack: Any) -> None:
        with self._sparkplug_lock:
            result: SparkplugResult = self._sparkplug.decode(topic, payload, receive_us)
        pipeline = self._pipeline
        self._sparkplug_effects(result, receive_us)
        if result.reason is None:
            pipeline.submit_rows(self.name, result.rows, ack, ref=topic)
            return
        if result.rows:
            pipeline.submit_rows(self.name, result.rows, ref=topic)
        pipeline.dead_letter(self.name, topic, payload, result.reason, ack)

    def _sparkplug_effects(self, result: SparkplugResult, receive_us: int) -> None:
        """Rebirth requests, gap/online/offline events and machine statuses of a result."""
        pipeline = self._pipeline
        if result.rebirths and self.config.sparkplug_rebirth:
            self._request_rebirths(result.rebirths, receive_us)
        for event in result.events:
            ts = datetime.fromtimestamp(event.ts_us / 1_000_000, UTC)
            pipeline.record_event(
                event.machine, event.kind, ts, details=event.details, source=self.name
            )
            if event.kind == "gap":
                self._metrics.sequence_gaps.labels(self.name).inc()
                log.warning("source %s: Sparkplug sequence gap %s", self.name, event.details)
            else:
                status = "offline" if event.kind == "offline" else "running"
                pipeline.set_machine_status(event.machine, status, ts)

    def _request_rebirths(self, nodes: list[tuple[str, str]], receive_us: int) -> None:
        """NCMD ``Node Control/Rebirth`` to each edge node (the decoder rate-limits)."""
        body = rebirth_payload(receive_us // 1000)
        for group, node in nodes:
            command = f"{NAMESPACE}/{group}/NCMD/{node}"
            self.client.publish(command, body, qos=0)
            self._metrics.rebirth_requests.labels(self.name).inc()
            log.info("source %s: asked %s/%s for a rebirth (%s)", self.name, group, node, command)
