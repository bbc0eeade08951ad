"""Sparkplug B decoding: births, metric aliases, NDATA/DDATA, sequence gaps, deaths. No I/O.

Sparkplug is stateful: an edge node's NBIRTH (and its devices' DBIRTHs) declare metric names
with numeric aliases, and later DATA messages may carry only the alias. Every message from a
node except NDEATH carries a ``seq`` 0..255 that increments by one; a jump means messages
were lost and is reported as a ``gap`` event. NDEATH/DDEATH mark machines offline, births
mark them online again.

Machines: a device's metrics belong to the machine named after the device id (or the edge
node id with ``machine_from="edge_node"``); node-level metrics belong to the edge node.
Sensors are metric names. Non-numeric metrics (strings, datasets, templates) are reported as
a reason; control metrics (``bdSeq``, ``Node Control/*``, ``Device Control/*``) are skipped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.message import DecodeError

from ingest.rows import Row
from millwright.core import sparkplug_b_pb2 as pb
from millwright.core.storage import Quality

NAMESPACE = "spBv1.0"
_RECEIVE = int(Quality.RECEIVE_TIME)
_SIGNED_BITS = {1: 8, 2: 16, 3: 32, 4: 64}  # Int8, Int16, Int32, Int64
_CONTROL_PREFIXES = ("Node Control/", "Device Control/")
_NUMERIC_FIELDS = ("int_value", "long_value", "float_value", "double_value", "boolean_value")
_MAX_US = 253_402_300_799_000_000


@dataclass(slots=True)
class SparkplugEvent:
    """An ``events`` row or a status change the collector should record."""

    machine: str
    kind: str  # gap | offline | online
    ts_us: int
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class SparkplugResult:
    rows: list[Row] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    events: list[SparkplugEvent] = field(default_factory=list)

    @property
    def reason(self) -> str | None:
        return "; ".join(self.reasons[:5]) if self.reasons else None


@dataclass
class _Node:
    aliases: dict[int, tuple[str, int, str | None]] = field(default_factory=dict)
    # alias -> (metric name, datatype, device id or None for node metrics)
    seq: int | None = None
    devices: set[str] = field(default_factory=set)


class SparkplugDecoder:
    """Decodes one Sparkplug B message at a time, keeping per-edge-node birth state."""

    def __init__(self, *, machine_from: str = "device") -> None:
        if machine_from not in ("device", "edge_node"):
            raise ValueError("machine_from must be 'device' or 'edge_node'.")
        self._by_device = machine_from == "device"
        self._nodes: dict[tuple[str, str], _Node] = {}

    def decode(self, topic: str, payload: bytes, receive_us: int) -> SparkplugResult:
        """Never raises for bad input; problems come back as reasons."""
        result = SparkplugResult()
        parts = topic.split("/")
        if len(parts) < 3 or parts[0] != NAMESPACE:
            result.reasons.append(f"topic {topic!r} is not a Sparkplug B topic ({NAMESPACE}/...)")
            return result
        if parts[1] == "STATE" or parts[2] in ("NCMD", "DCMD"):
            return result  # host state and commands carry no readings
        if len(parts) not in (4, 5):
            result.reasons.append(f"topic {topic!r} needs group/type/edge_node[/device]")
            return result
        group, kind, node_id = parts[1], parts[2], parts[3]
        device = parts[4] if len(parts) == 5 else None
        if kind not in ("NBIRTH", "NDATA", "NDEATH", "DBIRTH", "DDATA", "DDEATH"):
            result.reasons.append(f"unknown Sparkplug message type {kind!r}")
            return result
        if (device is None) != kind.startswith("N"):
            result.reasons.append(f"{kind} topic {topic!r} has the wrong number of levels")
            return result
        message = pb.Payload()  # type: ignore[attr-defined]  # generated at import time
        try:
            message.ParseFromString(payload)
        except (DecodeError, RuntimeError, ValueError) as exc:
            result.reasons.append(f"payload is not a Sparkplug B protobuf: {exc}")
            return result
        ts_us = _ms_to_us(message.timestamp) if message.HasField("timestamp") else None
        event_ts = ts_us if ts_us is not None else receive_us
        key = (group, node_id)
        node_machine = node_id
        device_machine = (device if self._by_device else node_id) if device else node_id

        if kind == "NDEATH":
            node = self._nodes.pop(key, None)
            result.events.append(SparkplugEvent(node_machine, "offline", event_ts, {"by": kind}))
            if node is not None and self._by_device:
                for dev in sorted(node.devices):
                    result.events.append(SparkplugEvent(dev, "offline", event_ts, {"by": kind}))
            return result
        if kind == "NBIRTH":
            node = self._nodes[key] = _Node()
            result.events.append(SparkplugEvent(node_machine, "online", event_ts, {"by": kind}))
        else:
            node = self._nodes.setdefault(key, _Node())
        self._check_seq(node, message, kind, node_machine, event_ts, result)

        if kind == "DBIRTH" and device is not None:
            node.devices.add(device)
            if self._by_device:
                result.events.append(
                    SparkplugEvent(device_machine, "online", event_ts, {"by": kind})
                )
        if kind == "DDEATH":
            if device is not None:
                node.devices.discard(device)
            if self._by_device:
                result.events.append(
                    SparkplugEvent(device_machine, "offline", event_ts, {"by": kind})
                )
            return result

        birth = kind.endswith("BIRTH")
        for metric in message.metrics:
            self._metric(metric, node, device, device_machine, birth, ts_us, receive_us, result)
        return result

    def _check_seq(
        self,
        node: _Node,
        message: Any,
        kind: str,
        machine: str,
        ts_us: int,
        result: SparkplugResult,
    ) -> None:
        if not message.HasField("seq"):
            return
        seq = int(message.seq) % 256
        if node.seq is not None and kind != "NBIRTH":
            expected = (node.seq + 1) % 256
            if seq != expected:
                missing = (seq - expected) % 256
                result.events.append(
                    SparkplugEvent(
                        machine,
                        "gap",
                        ts_us,
                        {"expected_seq": expected, "got_seq": seq, "missing": missing, "by": kind},
                    )
                )
        node.seq = seq

    def _metric(
        self,
        metric: Any,
        node: _Node,
        device: str | None,
        machine: str,
        birth: bool,
        ts_us: int | None,
        receive_us: int,
        result: SparkplugResult,
    ) -> None:
        name = metric.name if metric.HasField("name") else None
        datatype = int(metric.datatype) if metric.HasField("datatype") else 0
        if metric.HasField("alias"):
            alias = int(metric.alias)
            if birth and name:
                node.aliases[alias] = (name, datatype, device)
            elif name is None:
                known = node.aliases.get(alias)
                if known is None:
                    result.reasons.append(
                        f"unknown metric alias {alias} (no birth certificate seen)"
                    )
                    return
                name, birth_type, _ = known
                datatype = datatype or birth_type
        if not isinstance(name, str):  # protobuf hands back bytes for invalid UTF-8 (fuzzing)
            result.reasons.append("metric name is not valid UTF-8")
            return
        if not name:
            result.reasons.append("metric has neither a name nor a known alias")
            return
        if name == "bdSeq" or name.startswith(_CONTROL_PREFIXES):
            return
        if metric.HasField("is_null") and metric.is_null:
            return
        which = metric.WhichOneof("value")
        if which not in _NUMERIC_FIELDS:
            result.reasons.append(f"metric {name!r} is not numeric ({which or 'no value'})")
            return
        raw = getattr(metric, which)
        if which in ("int_value", "long_value") and datatype in _SIGNED_BITS:
            bits = _SIGNED_BITS[datatype]
            raw &= (1 << bits) - 1
            if raw >= 1 << (bits - 1):
                raw -= 1 << bits
        value = float(raw)
        if not math.isfinite(value):
            result.reasons.append(f"metric {name!r} value is not finite")
            return
        quality = 0
        t = _ms_to_us(metric.timestamp) if metric.HasField("timestamp") else ts_us
        if t is None:
            t, quality = receive_us, _RECEIVE
        result.rows.append((machine, name, t, value, quality))


def _ms_to_us(ms: int) -> int | None:
    us = int(ms) * 1000
    return us if 0 <= us <= _MAX_US else None
