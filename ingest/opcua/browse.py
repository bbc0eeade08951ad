"""``millwright opcua browse``: what a server offers, and a config snippet to start from.

Walks the address space below Objects (skipping the standard's namespace-0 nodes) down to
``depth`` levels, and reads each variable's data type and current value in batched Read
calls. The TOML snippet maps every variable to ``machine`` = its parent's name and ``sensor``
= its own name — a guess meant to be edited, with hints for values that need a conversion
(strings → value_map, arrays → index).

Pacing comes from the server, not a guess: each node's ``sampling_interval_ms`` is the node's
``MinimumSamplingInterval`` (the fastest the server says it can sample it; 0 or unknown → the
publishing interval the server revised our request to, learnt from a short-lived
subscription), and its ``queue_size`` holds one publishing interval of samples (plus one), so
a signal changing at the node's rate is delivered whole between two publishes.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from asyncua import Client, Node, ua

from ingest.opcua.config import OpcUaSourceConfig
from ingest.opcua.uatypes import node_id

_SERVER_OBJECT = node_id(ua.ObjectIds.Server, 0)
_NUMERIC = {
    "Boolean", "SByte", "Byte", "Int16", "UInt16", "Int32", "UInt32", "Int64", "UInt64",
    "Float", "Double", "Number", "Integer", "UInteger",
}  # fmt: skip


@dataclass(frozen=True)
class BrowsedVariable:
    """One variable found while browsing."""

    node_id: str
    browse_path: str
    parent: str
    name: str
    data_type: str
    value: Any
    status: str
    min_sampling_ms: float | None = None  # MinimumSamplingInterval; None when unknown

    @property
    def is_array(self) -> bool:
        return isinstance(self.value, list | tuple)

    @property
    def is_numeric(self) -> bool:
        return self.data_type in _NUMERIC and not self.is_array


async def browse(client: Client, *, depth: int = 4) -> list[BrowsedVariable]:
    """Variables below Objects, at most ``depth`` references deep, with their values."""
    found: list[tuple[ua.NodeId, str, str, str]] = []  # node, path, parent name, name
    level: list[tuple[Node, str, str]] = [(client.nodes.objects, "", "Objects")]
    for _ in range(depth):
        following: list[tuple[Node, str, str]] = []
        for node, path, name in level:
            for ref in await node.get_children_descriptions():
                child_id = ref.NodeId
                if child_id == _SERVER_OBJECT or child_id.NamespaceIndex == 0:
                    continue  # the standard's own nodes (Server, Aliases, ...), not plant data
                qname = ref.BrowseName
                child_path = f"{path}/{qname.NamespaceIndex}:{qname.Name}".lstrip("/")
                plain = node_id(child_id.Identifier, child_id.NamespaceIndex, child_id.NodeIdType)
                if ref.NodeClass == ua.NodeClass.Variable:
                    found.append((plain, child_path, name, qname.Name))
                following.append((client.get_node(plain), child_path, qname.Name))
        level = following
        if not level:
            break
    nodes = [client.get_node(n) for n, *_ in found]
    values = await _read(client, nodes, ua.AttributeIds.Value)
    types = await _read(client, nodes, ua.AttributeIds.DataType)
    rates = await _read(client, nodes, ua.AttributeIds.MinimumSamplingInterval)
    result = []
    for (nid, path, parent, name), value, dtype, rate in zip(
        found, values, types, rates, strict=True
    ):
        raw = value.Value.Value if value.Value is not None else None
        status = value.StatusCode.name if value.StatusCode is not None else "Good"
        result.append(
            BrowsedVariable(
                nid.to_string(),
                path,
                parent,
                name,
                _type_name(dtype),
                raw,
                status,
                _interval(rate),
            )
        )
    return result


def _interval(value: ua.DataValue) -> float | None:
    """A MinimumSamplingInterval in ms, or None when the server has none (or -1: unknown)."""
    if value.StatusCode is not None and not value.StatusCode.is_good():
        return None
    raw = value.Value.Value if value.Value is not None else None
    if isinstance(raw, int | float) and not isinstance(raw, bool) and math.isfinite(raw):
        return float(raw) if raw >= 0 else None
    return None


async def revised_publishing_interval(client: Client, requested_ms: float) -> float:
    """The publishing interval the server grants for ``requested_ms`` (a subscription is
    created, read and deleted)."""
    params = ua.CreateSubscriptionParameters(
        RequestedPublishingInterval=requested_ms,
        RequestedLifetimeCount=10_000,
        RequestedMaxKeepAliveCount=client.get_keepalive_count(requested_ms),
        MaxNotificationsPerPublish=0,
        PublishingEnabled=False,
        Priority=0,
    )
    result = await client.uaclient.create_subscription(params, lambda *_: None)
    try:
        revised = float(result.RevisedPublishingInterval)
    finally:
        await client.uaclient.delete_subscriptions([result.SubscriptionId])
    return revised if revised > 0 else requested_ms


def node_pacing(min_sampling_ms: float | None, publishing_ms: float) -> tuple[float, int]:
    """(sampling interval, queue size) for a node: its MinimumSamplingInterval (0 or unknown →
    the publishing interval) and enough queue for one publishing interval, plus one."""
    sampling = min_sampling_ms if min_sampling_ms else publishing_ms
    queue = math.ceil(publishing_ms / sampling) + 1
    return sampling, max(2, min(queue, 100_000))


async def _read(client: Client, nodes: list[Node], attr: ua.AttributeIds) -> list[ua.DataValue]:
    out: list[ua.DataValue] = []
    for start in range(0, len(nodes), 500):
        out.extend(await client.read_attributes(nodes[start : start + 500], attr))
    return out


def _type_name(value: ua.DataValue) -> str:
    dtype = value.Value.Value if value.Value is not None else None
    if isinstance(dtype, ua.NodeId):
        if dtype.NamespaceIndex == 0 and isinstance(dtype.Identifier, int):
            return str(ua.ObjectIdNames.get(dtype.Identifier, dtype.to_string()))
        return str(dtype.to_string())
    return "?"


def format_table(variables: Sequence[BrowsedVariable]) -> str:
    """One line per variable: node id, browse path, data type, value (status when not Good)."""
    lines = [f"{'node id':<32} {'browse path':<48} {'type':<10} value"]
    for v in variables:
        shown = repr(v.value) if len(repr(v.value)) <= 40 else repr(v.value)[:37] + "..."
        if v.status != "Good":
            shown = f"{shown} [{v.status}]"
        lines.append(f"{v.node_id:<32} {v.browse_path:<48} {v.data_type:<10} {shown}")
    return "\n".join(lines)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "x"


def _toml(value: Any) -> str:
    return json.dumps(value)  # a JSON string is a valid TOML basic string


def config_snippet(
    config: OpcUaSourceConfig,
    variables: Sequence[BrowsedVariable],
    *,
    publishing_interval_ms: float = 500.0,
) -> str:
    """A ``[[ingest.opcua]]`` table for the endpoint with one node mapping per variable
    (``publishing_interval_ms``: what the server granted; see the module docstring)."""
    out = [
        "# Generated by `millwright opcua browse`; edit machine/sensor/unit, delete what you",
        "# do not need. Secrets (password) are better given as MILLWRIGHT_INGEST__... env vars.",
        "[[ingest.opcua]]",
        f"name = {_toml(config.name)}",
        f"endpoint = {_toml(config.endpoint)}",
        f"security_policy = {_toml(config.security_policy)}",
        f"security_mode = {_toml(config.security_mode)}",
    ]
    if config.certificate is not None:
        out.append(f"certificate = {_toml(str(config.certificate))}")
    if config.private_key is not None:
        out.append(f"private_key = {_toml(str(config.private_key))}")
    if config.trusted_certificates:
        out.append(
            "trusted_certificates = ["
            + ", ".join(_toml(str(p)) for p in config.trusted_certificates)
            + "]"
        )
    if config.username is not None:
        out.append(f"username = {_toml(config.username)}")
        out.append('# password = "..."')
    pub = publishing_interval_ms
    out += [
        f"publishing_interval_ms = {_number(pub)}  # as revised by the server",
        "# each node below samples at its MinimumSamplingInterval, with a queue covering",
        "# one publishing interval",
    ]
    seen: set[tuple[str, str]] = set()
    for v in variables:
        machine, sensor = _slug(v.parent), _slug(v.name)
        key = (machine, sensor)
        if key in seen:
            sensor = _slug(f"{v.name}_{v.node_id}")
            key = (machine, sensor)
        seen.add(key)
        sampling, queue = node_pacing(v.min_sampling_ms, pub)
        where = "MinimumSamplingInterval" if v.min_sampling_ms else "no minimum: publishing"
        out += [
            "",
            "[[ingest.opcua.nodes]]",
            f"# browse_path = {_toml(v.browse_path)}   ({v.data_type}, now {_short(v.value)})",
            f"node_id = {_toml(v.node_id)}",
            f"machine = {_toml(machine)}",
            f"sensor = {_toml(sensor)}",
            f"sampling_interval_ms = {_number(sampling)}  # {where}",
            f"queue_size = {queue}",
            '# unit = ""',
        ]
        if v.is_array:
            out.append("index = 0  # an array: pick the element to store")
        elif isinstance(v.value, str):
            out.append(f"value_map = {{ {_toml(v.value)} = 0 }}  # a string: map each state")
        elif not v.is_numeric:
            out.append("# not a number: add value_map, index or field, or delete this node")
    return "\n".join(out) + "\n"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 30 else text[:27] + "..."
