"""Sparkplug B for the simulator: one edge node, one device per machine. Payloads only, no I/O.

The MQTT publisher (:class:`sim.mqtt_publisher.MqttPublisher` with ``sparkplug=``) owns the
connection and calls this in order; this class keeps the edge node's state and builds each
message (``spBv1.0/{group}/{type}/{node}[/{device}]``, Eclipse Tahu payloads from
:mod:`millwright.core.sparkplug_b_pb2`):

* ``NBIRTH`` once per connection, ahead of its first message: ``seq`` 0, the session's
  ``bdSeq`` and ``Node Control/Rebirth``. The MQTT will is an ``NDEATH`` with the same ``bdSeq``.
* ``DBIRTH`` for a machine at its first sample of the session, and again at its first sample
  after it was down: every sensor as a Double metric with name, alias and the sample's values.
  Aliases are unique within the edge node and stable for the publisher's lifetime.
* ``DDATA`` for every later sample: every sensor by alias only.
* ``DDEATH`` when a born machine fails or goes into maintenance (it stops producing samples).

Every message but ``NDEATH`` carries ``seq``, incrementing by one per edge node modulo 256.
Sample and event times (plant time) become payload and metric timestamps in milliseconds
(sub-millisecond parts are truncated: Sparkplug timestamps are milliseconds).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from millwright.core import sparkplug_b_pb2 as pb
from sim.records import Sample

NAMESPACE = "spBv1.0"
BDSEQ = "bdSeq"
REBIRTH = "Node Control/Rebirth"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# DataType values of the Tahu enum (the generated module builds them at import time).
DOUBLE = 10
UINT64 = 8
BOOLEAN = 11


@dataclass(frozen=True, slots=True)
class SparkplugMessage:
    """One message to publish."""

    topic: str
    payload: bytes


def to_ms(ts: datetime) -> int:
    """Milliseconds since the Unix epoch (floored), the unit of Sparkplug timestamps."""
    delta = ts - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def _check_id(what: str, value: str) -> str:
    if not value or any(c in value for c in "/#+"):
        raise ValueError(f"Sparkplug {what} {value!r} must be non-empty without '/', '#', '+'")
    return value


class SparkplugEdgeNode:
    """The state of one Sparkplug edge node: ``seq``, aliases and which devices are born.

    Not thread-safe: the publisher calls it under its own lock, in publishing order.
    """

    def __init__(self, group: str, node: str) -> None:
        self.group = _check_id("group id", group)
        self.node = _check_id("edge node id", node)
        self._seq = 0
        self._aliases: dict[tuple[str, str], int] = {}
        self._born: dict[str, tuple[str, ...]] = {}  # device -> sensors of its DBIRTH

    # -- topics and state --------------------------------------------------------------------

    def topic(self, kind: str, device: str | None = None) -> str:
        base = f"{NAMESPACE}/{self.group}/{kind}/{self.node}"
        return f"{base}/{_check_id('device id', device)}" if device is not None else base

    @property
    def born(self) -> frozenset[str]:
        """Devices whose DBIRTH was published this session and that have not died since."""
        return frozenset(self._born)

    def alias(self, device: str, sensor: str) -> int:
        """The metric alias of a device's sensor (assigned on first use, never reused)."""
        key = (device, sensor)
        alias = self._aliases.get(key)
        if alias is None:
            alias = self._aliases[key] = len(self._aliases) + 1
        return alias

    def _next_seq(self) -> int:
        seq = self._seq
        self._seq = (seq + 1) % 256
        return seq

    def _payload(self, ts: datetime | None, *, seq: bool = True) -> Any:
        payload = pb.Payload()  # type: ignore[attr-defined]  # generated at import time
        if ts is not None:
            payload.timestamp = to_ms(ts)
        if seq:
            payload.seq = self._next_seq()
        return payload

    # -- node messages -------------------------------------------------------------------------

    def birth(self, bdseq: int, ts: datetime | None) -> SparkplugMessage:
        """NBIRTH of a new session: ``seq`` restarts at 0 and every device must be born again."""
        self._seq = 0
        self._born.clear()
        payload = self._payload(ts)
        payload.metrics.add(name=BDSEQ, datatype=UINT64, long_value=bdseq % 256)
        payload.metrics.add(name=REBIRTH, datatype=BOOLEAN, boolean_value=False)
        if ts is not None:
            for metric in payload.metrics:
                metric.timestamp = payload.timestamp
        return SparkplugMessage(self.topic("NBIRTH"), payload.SerializeToString())

    def will(self, bdseq: int) -> SparkplugMessage:
        """The NDEATH to register as MQTT will: ``bdSeq`` only, no ``seq``, no timestamp.

        Reads no state, so paho's network thread may call it when it connects.
        """
        payload = pb.Payload()  # type: ignore[attr-defined]
        payload.metrics.add(name=BDSEQ, datatype=UINT64, long_value=bdseq % 256)
        return SparkplugMessage(self.topic("NDEATH"), payload.SerializeToString())

    def death(self, bdseq: int, ts: datetime | None = None) -> SparkplugMessage:
        """NDEATH published before a clean disconnect: every device dies with the node."""
        self._born.clear()
        payload = self._payload(ts, seq=False)
        payload.metrics.add(name=BDSEQ, datatype=UINT64, long_value=bdseq % 256)
        if ts is not None:
            payload.metrics[0].timestamp = payload.timestamp
        return SparkplugMessage(self.topic("NDEATH"), payload.SerializeToString())

    # -- device messages ---------------------------------------------------------------------

    def sample(self, sample: Sample) -> SparkplugMessage:
        """DBIRTH if the machine is not born (or its sensors changed), else DDATA by alias."""
        device = sample.machine
        sensors = tuple(sample.values)
        if self._born.get(device) != sensors:
            return self._device_birth(device, sample.ts, sample.values)
        payload = self._payload(sample.ts)
        ms = payload.timestamp
        for sensor, value in sample.values.items():
            payload.metrics.add(alias=self.alias(device, sensor), timestamp=ms, double_value=value)
        return SparkplugMessage(self.topic("DDATA", device), payload.SerializeToString())

    def _device_birth(
        self, device: str, ts: datetime, values: Mapping[str, float]
    ) -> SparkplugMessage:
        payload = self._payload(ts)
        ms = payload.timestamp
        for sensor, value in values.items():
            payload.metrics.add(
                name=sensor,
                alias=self.alias(device, sensor),
                timestamp=ms,
                datatype=DOUBLE,
                double_value=value,
            )
        self._born[device] = tuple(values)
        return SparkplugMessage(self.topic("DBIRTH", device), payload.SerializeToString())

    def device_death(self, device: str, ts: datetime) -> SparkplugMessage | None:
        """DDEATH of a born device; None if it is not born (nothing to retract)."""
        if self._born.pop(device, None) is None:
            return None
        payload = self._payload(ts)
        return SparkplugMessage(self.topic("DDEATH", device), payload.SerializeToString())
