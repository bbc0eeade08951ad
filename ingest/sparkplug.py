"""Sparkplug B decoding: births, metric aliases, NDATA/DDATA, sequence gaps, deaths. No I/O.

Sparkplug is stateful: an edge node's NBIRTH (and its devices' DBIRTHs) declare metric names
with numeric aliases, and later DATA messages may carry only the alias. Every message from a
node except NDEATH carries a ``seq`` 0..255 that increments by one; NDEATH/DDEATH mark
machines offline, births mark them online again.

Machines: a device's metrics belong to the machine named after the device id (or the edge
node id with ``machine_from="edge_node"``); node-level metrics belong to the edge node.
Sensors are metric names. Non-numeric metrics (strings, datasets, templates) are reported as
a reason; controls and properties (``bdSeq``, ``Node Control/*``, ``Device Control/*``,
``Properties/*``) are not sensors and are skipped. Group, edge node, device and metric names
pass :func:`ingest.names.check_name`; a bad metric name costs that metric, a bad group, node
or device name the message. A metric's ``Quality`` property (Ignition/Tahu codes: 192 good,
64..191 uncertain, below 64 bad, 500 stale) becomes the reading's quality.

Compressed payloads (spec §6.4.8): an outer payload whose ``uuid`` is ``SPBV1.0_COMPRESSED``
carries the real payload in ``body``, compressed as its ``algorithm`` metric says (DEFLATE,
the default, or GZIP); it is inflated (bounded, so a decompression bomb costs a reason, not
memory) and decoded as if it had arrived plain.

Sequence numbers and reordering. Brokers may reorder messages of one edge node (some edge
libraries publish each device on its own connection), so a seq ahead of the expected one is
held in a small window (``reorder_window`` messages, ``reorder_timeout_s`` seconds of receive
time) instead of being reported as a loss at once. A message that fills the hole closes it;
only seqs still missing when the window overflows, times out, or the node dies become a
``gap`` event with the exact count. The timeout is also checked without traffic
(:meth:`SparkplugDecoder.expire`, called by the collector's timer), so a hole held open by
an edge node that then goes quiet is still declared, and its rebirth asked for. A seq that
arrives after it was given up is late, not a new gap. Wraps at 256.

Rebirth. After a real gap or a DATA message with an unknown alias, the decoder asks for one
``Node Control/Rebirth`` NCMD to the edge node (in ``SparkplugResult.rebirths``), at most once
per ``rebirth_interval_s`` per node; the collector publishes it.
"""

from __future__ import annotations

import gzip
import math
import zlib
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.message import DecodeError

from ingest.names import InvalidName, check_name
from ingest.rows import Row
from millwright.core import sparkplug_b_pb2 as pb
from millwright.core.storage import Quality

NAMESPACE = "spBv1.0"
COMPRESSED_UUID = "SPBV1.0_COMPRESSED"
REBIRTH_METRIC = "Node Control/Rebirth"
BOOLEAN = 11
_RECEIVE = int(Quality.RECEIVE_TIME)
_SIGNED_BITS = {1: 8, 2: 16, 3: 32, 4: 64}  # Int8, Int16, Int32, Int64
_CONTROL_PREFIXES = ("node control/", "device control/", "properties/")
_NUMERIC_FIELDS = ("int_value", "long_value", "float_value", "double_value", "boolean_value")
_MAX_US = 253_402_300_799_000_000
_MAX_INFLATED = 16 * 1024 * 1024


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
    rebirths: list[tuple[str, str]] = field(default_factory=list)  # (group, edge node)

    @property
    def reason(self) -> str | None:
        return "; ".join(self.reasons[:5]) if self.reasons else None


@dataclass
class _Node:
    aliases: dict[int, tuple[str, int, str | None]] = field(default_factory=dict)
    # alias -> (metric name, datatype, device id or None for node metrics)
    expected: int | None = None  # the next seq in order
    ahead: set[int] = field(default_factory=set)  # seqs seen beyond a hole
    ahead_since_us: int = 0
    devices: set[str] = field(default_factory=set)
    last_rebirth_us: int | None = None


class _Unusable(Exception):
    """The whole message is unusable (the message is the reason)."""


def rebirth_payload(timestamp_ms: int, seq: int | None = None) -> bytes:
    """The NCMD body asking an edge node to publish its births again."""
    message = pb.Payload(timestamp=timestamp_ms)  # type: ignore[attr-defined]
    if seq is not None:
        message.seq = seq
    metric = message.metrics.add()
    metric.name = REBIRTH_METRIC
    metric.datatype = BOOLEAN
    metric.boolean_value = True
    metric.timestamp = timestamp_ms
    return bytes(message.SerializeToString())


def inflate(message: Any) -> Any:
    """The payload inside a ``SPBV1.0_COMPRESSED`` one (raises :class:`_Unusable`)."""
    algorithm = "DEFLATE"
    for metric in message.metrics:
        if metric.name == "algorithm":
            if metric.WhichOneof("value") != "string_value":
                raise _Unusable("compressed payload: metric 'algorithm' is not a string")
            algorithm = metric.string_value.upper()
    body = bytes(message.body)
    if algorithm == "GZIP":
        wbits_options: tuple[int, ...] = (31,)
    elif algorithm == "DEFLATE":
        wbits_options = (15, -15)  # zlib-wrapped (Tahu) or raw deflate
    else:
        raise _Unusable(f"compressed payload: algorithm {algorithm!r} is not DEFLATE or GZIP")
    data: bytes | None = None
    for wbits in wbits_options:
        inflater = zlib.decompressobj(wbits)
        try:
            data = inflater.decompress(body, _MAX_INFLATED)
        except zlib.error:
            continue
        if inflater.unconsumed_tail:
            raise _Unusable(
                f"compressed payload inflates to more than {_MAX_INFLATED // 1048576} MiB"
            )
        break
    if data is None:
        if algorithm == "GZIP":
            try:
                data = gzip.decompress(body)  # multi-member gzip
            except (OSError, EOFError, zlib.error) as exc:
                raise _Unusable(f"compressed payload is not valid GZIP: {exc}") from None
        else:
            raise _Unusable("compressed payload is not valid DEFLATE data")
    inner = pb.Payload()  # type: ignore[attr-defined]
    try:
        inner.ParseFromString(data)
    except (DecodeError, RuntimeError, ValueError) as exc:
        raise _Unusable(f"compressed body is not a Sparkplug B protobuf: {exc}") from None
    if inner.uuid == COMPRESSED_UUID:
        raise _Unusable("compressed payload inside a compressed payload")
    if not inner.HasField("seq") and message.HasField("seq"):
        inner.seq = message.seq
    if not inner.HasField("timestamp") and message.HasField("timestamp"):
        inner.timestamp = message.timestamp
    return inner


class SparkplugDecoder:
    """Decodes one Sparkplug B message at a time, keeping per-edge-node birth state."""

    def __init__(
        self,
        *,
        machine_from: str = "device",
        reorder_window: int = 16,
        reorder_timeout_s: float = 2.0,
        rebirth_interval_s: float = 30.0,
    ) -> None:
        if machine_from not in ("device", "edge_node"):
            raise ValueError("machine_from must be 'device' or 'edge_node'.")
        if not 1 <= reorder_window <= 128:
            raise ValueError("reorder_window must be between 1 and 128 messages.")
        self._by_device = machine_from == "device"
        self._window = reorder_window
        self._timeout_us = int(reorder_timeout_s * 1_000_000)
        self._rebirth_us = int(rebirth_interval_s * 1_000_000)
        self._nodes: dict[tuple[str, str], _Node] = {}

    def decode(self, topic: str, payload: bytes, receive_us: int) -> SparkplugResult:
        """Never raises for bad input; problems come back as reasons."""
        result = SparkplugResult()
        try:
            self._decode(topic, payload, receive_us, result)
        except _Unusable as exc:
            result.reasons.append(str(exc))
        return result

    def _decode(self, topic: str, payload: bytes, receive_us: int, result: SparkplugResult) -> None:
        parts = topic.split("/")
        if len(parts) < 3 or parts[0] != NAMESPACE:
            raise _Unusable(f"topic {topic[:80]!r} is not a Sparkplug B topic ({NAMESPACE}/...)")
        if parts[1] == "STATE" or parts[2] in ("NCMD", "DCMD"):
            return  # host state and commands carry no readings
        if len(parts) not in (4, 5):
            raise _Unusable(f"topic {topic[:80]!r} needs group/type/edge_node[/device]")
        group, kind, node_id = parts[1], parts[2], parts[3]
        device = parts[4] if len(parts) == 5 else None
        if kind not in ("NBIRTH", "NDATA", "NDEATH", "DBIRTH", "DDATA", "DDEATH"):
            raise _Unusable(f"unknown Sparkplug message type {kind[:40]!r}")
        if (device is None) != kind.startswith("N"):
            raise _Unusable(f"{kind} topic {topic[:80]!r} has the wrong number of levels")
        try:
            group = check_name(group, "Sparkplug group")
            node_id = check_name(node_id, "Sparkplug edge node")
            if device is not None:
                device = check_name(device, "Sparkplug device")
        except InvalidName as exc:
            raise _Unusable(str(exc)) from None
        message = pb.Payload()  # type: ignore[attr-defined]  # generated at import time
        try:
            message.ParseFromString(payload)
        except (DecodeError, RuntimeError, ValueError) as exc:
            raise _Unusable(f"payload is not a Sparkplug B protobuf: {exc}") from None
        if message.HasField("uuid") and message.uuid == COMPRESSED_UUID:
            message = inflate(message)
        ts_us = _ms_to_us(message.timestamp) if message.HasField("timestamp") else None
        event_ts = ts_us if ts_us is not None else receive_us
        key = (group, node_id)
        node_machine = node_id
        device_machine = (device if self._by_device else node_id) if device else node_id

        if kind == "NDEATH":
            node = self._nodes.pop(key, None)
            if node is not None:
                self._give_up_hole(node, node_machine, event_ts, kind, result)
            result.events.append(SparkplugEvent(node_machine, "offline", event_ts, {"by": kind}))
            if node is not None and self._by_device:
                for dev in sorted(node.devices):
                    result.events.append(SparkplugEvent(dev, "offline", event_ts, {"by": kind}))
            return
        if kind == "NBIRTH":
            old = self._nodes.get(key)
            node = self._nodes[key] = _Node()
            if old is not None:
                node.last_rebirth_us = old.last_rebirth_us
            result.events.append(SparkplugEvent(node_machine, "online", event_ts, {"by": kind}))
        else:
            node = self._nodes.setdefault(key, _Node())
        if self._check_seq(node, message, kind, node_machine, event_ts, receive_us, result):
            self._ask_rebirth(node, key, receive_us, result)

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
            return

        birth = kind.endswith("BIRTH")
        unknown_alias = False
        for metric in message.metrics:
            known = self._metric(
                metric, node, device, device_machine, birth, ts_us, receive_us, result
            )
            unknown_alias = unknown_alias or not known
        if unknown_alias:
            self._ask_rebirth(node, key, receive_us, result)

    def expire(self, now_us: int) -> SparkplugResult:
        """Give up the holes held longer than the reorder timeout (no message needed): a
        gap event per node, and a rebirth request where a gap was real."""
        result = SparkplugResult()
        for key, node in self._nodes.items():
            held = node.ahead and now_us - node.ahead_since_us > self._timeout_us
            if held and self._give_up_hole(node, key[1], now_us, "reorder timeout", result):
                self._ask_rebirth(node, key, now_us, result)
        return result

    # --- sequence numbers -----------------------------------------------------------------

    def _check_seq(
        self,
        node: _Node,
        message: Any,
        kind: str,
        machine: str,
        ts_us: int,
        receive_us: int,
        result: SparkplugResult,
    ) -> bool:
        """Track ``seq``; True when a real gap was declared."""
        if not message.HasField("seq"):
            return False
        seq = int(message.seq) % 256
        if kind == "NBIRTH" or node.expected is None:
            node.expected, node.ahead = (seq + 1) % 256, set()
            return False
        gap = False
        if node.ahead and receive_us - node.ahead_since_us > self._timeout_us:
            gap = self._give_up_hole(node, machine, ts_us, kind, result)
        distance = (seq - node.expected) % 256
        if distance == 0:
            node.expected = (seq + 1) % 256
            while node.expected in node.ahead:
                node.ahead.discard(node.expected)
                node.expected = (node.expected + 1) % 256
        elif distance < self._window:
            if not node.ahead:
                node.ahead_since_us = receive_us
            node.ahead.add(seq)
        elif distance > 256 - 2 * self._window:
            pass  # late: a seq given up on (or a duplicate); not a new loss
        else:
            node.ahead.add(seq)
            gap = self._give_up_hole(node, machine, ts_us, kind, result) or gap
        if node.ahead and len(node.ahead) >= self._window:
            gap = self._give_up_hole(node, machine, ts_us, kind, result) or gap
        return gap

    def _give_up_hole(
        self, node: _Node, machine: str, ts_us: int, kind: str, result: SparkplugResult
    ) -> bool:
        """Report the seqs still missing before the furthest one seen; resume after it."""
        if not node.ahead or node.expected is None:
            return False
        start = node.expected
        furthest = max(node.ahead, key=lambda s: (s - start) % 256)
        span = (furthest - start) % 256
        missing = span - sum(1 for s in node.ahead if (s - start) % 256 < span)
        node.expected, node.ahead = (furthest + 1) % 256, set()
        if missing <= 0:
            return False
        result.events.append(
            SparkplugEvent(
                machine,
                "gap",
                ts_us,
                {
                    "expected_seq": start,
                    "got_seq": furthest,
                    "missing": missing,
                    "by": kind,
                },
            )
        )
        return True

    def _ask_rebirth(
        self, node: _Node, key: tuple[str, str], receive_us: int, result: SparkplugResult
    ) -> None:
        last = node.last_rebirth_us
        if last is not None and receive_us - last < self._rebirth_us:
            return
        node.last_rebirth_us = receive_us
        result.rebirths.append(key)

    # --- metrics --------------------------------------------------------------------------

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
    ) -> bool:
        """Add the metric's reading (or a reason); False only for an unknown alias."""
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
                    return False
                name, birth_type, _ = known
                datatype = datatype or birth_type
        if not isinstance(name, str):  # protobuf hands back bytes for invalid UTF-8 (fuzzing)
            result.reasons.append("metric name is not valid UTF-8")
            return True
        if not name:
            result.reasons.append("metric has neither a name nor a known alias")
            return True
        if name == "bdSeq" or name.lower().startswith(_CONTROL_PREFIXES):
            return True
        try:
            name = check_name(name, "Sparkplug metric")
        except InvalidName as exc:
            result.reasons.append(str(exc))
            return True
        if metric.HasField("is_null") and metric.is_null:
            return True
        which = metric.WhichOneof("value")
        if which not in _NUMERIC_FIELDS:
            result.reasons.append(f"metric {name!r} is not numeric ({which or 'no value'})")
            return True
        raw = getattr(metric, which)
        if which in ("int_value", "long_value") and datatype in _SIGNED_BITS:
            bits = _SIGNED_BITS[datatype]
            raw &= (1 << bits) - 1
            if raw >= 1 << (bits - 1):
                raw -= 1 << bits
        value = float(raw)
        if not math.isfinite(value):
            result.reasons.append(f"metric {name!r} value is not finite")
            return True
        quality = _quality(metric) if metric.HasField("properties") else 0
        t = _ms_to_us(metric.timestamp) if metric.HasField("timestamp") else ts_us
        if t is None:
            t, quality = receive_us, quality | _RECEIVE
        result.rows.append((machine, name, t, value, quality))
        return True


def _quality(metric: Any) -> int:
    """The ``Quality`` property as Millwright quality (0 good, 1 uncertain, 2 bad)."""
    props = metric.properties
    for key, value in zip(props.keys, props.values, strict=False):
        if key.lower() != "quality":
            continue
        which = value.WhichOneof("value")
        if which not in ("int_value", "long_value"):
            return 0
        code = int(getattr(value, which))
        if 192 <= code <= 255:
            return int(Quality.GOOD)
        if 64 <= code < 192:
            return int(Quality.UNCERTAIN)
        return int(Quality.BAD)  # 0..63 bad; 500 (Ignition "stale") and other codes
    return 0


def _ms_to_us(ms: int) -> int | None:
    us = int(ms) * 1000
    return us if 0 <= us <= _MAX_US else None
