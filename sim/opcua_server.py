"""Serves the simulated plant over OPC-UA with asyncua's server.

Address space, in the namespace ``opcua_namespace`` (index ``ns``)::

    Objects/Plant                         ns=<ns>;s=plant
      <machine>  (folder)                 ns=<ns>;s=<machine>
        <sensor> (Double, source ts)      ns=<ns>;s=<machine>.<sensor>
        state    (String)                 ns=<ns>;s=<machine>.state

String node ids make tag maps predictable. Sensor variables carry the sample's plant time as
source timestamp; before the first sample their status is ``BadWaitingForInitialData``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import cast

from asyncua import Server, ua

from sim.errors import OpcUaServeError
from sim.records import Event, EventKind, MachineSpec, MachineState, Sample
from sim.sensors import SensorSpec

log = logging.getLogger(__name__)

_STATE_AFTER = {
    EventKind.FAILURE: MachineState.DOWN,
    EventKind.REPAIR: MachineState.DOWN,
    EventKind.MAINTENANCE: MachineState.MAINTENANCE,
}


def node_id(ns: int, name: str) -> ua.NodeId:
    """A string node id in namespace ``ns`` (asyncua's typed aliases hidden from callers)."""
    return ua.NodeId(cast(ua.String, name), cast(ua.Int16, ns))


def sensor_node_id(ns: int, machine: str, sensor: str) -> ua.NodeId:
    """The node id of a machine's sensor variable."""
    return node_id(ns, f"{machine}.{sensor}")


def _ua_time(value: datetime) -> ua.DateTime:
    return cast(ua.DateTime, value)


class OpcUaPlantServer:
    """An OPC-UA server mirroring the plant: a sink for samples and events."""

    def __init__(
        self,
        endpoint: str,
        machines: Sequence[MachineSpec],
        sensors: Sequence[SensorSpec],
        *,
        namespace: str = "urn:millwright:sim",
        name: str = "Millwright simulated plant",
    ) -> None:
        self.endpoint = endpoint
        self.namespace = namespace
        self.ns = -1
        self._machines = tuple(machines)
        self._sensors = tuple(sensors)
        self._name = name
        self._server: Server | None = None
        self._state: dict[str, MachineState] = {}

    async def start(self) -> None:
        """Build the address space and start listening on ``endpoint``."""
        server = Server()
        try:
            await server.init()
            server.set_endpoint(self.endpoint)
            server.set_server_name(self._name)
            server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
            self.ns = await server.register_namespace(self.namespace)
            await self._build(server)
            await server.start()
        except (OSError, ua.UaError) as exc:
            raise OpcUaServeError(f"cannot serve OPC-UA on {self.endpoint}: {exc}") from exc
        self._server = server
        log.info(
            "OPC-UA server on %s (namespace %s = ns=%d)", self.endpoint, self.namespace, self.ns
        )

    async def _build(self, server: Server) -> None:
        ns = self.ns
        plant = await server.nodes.objects.add_folder(
            node_id(ns, "plant"), ua.QualifiedName("Plant", ns)
        )
        waiting = ua.DataValue(
            ua.Variant(float("nan"), ua.VariantType.Double),
            StatusCode=ua.StatusCode(cast(ua.UInt32, ua.StatusCodes.BadWaitingForInitialData)),
        )
        for m in self._machines:
            folder = await plant.add_folder(node_id(ns, m.id), ua.QualifiedName(m.id, ns))
            for s in self._sensors:
                node = await folder.add_variable(
                    sensor_node_id(ns, m.id, s.id),
                    ua.QualifiedName(s.id, ns),
                    ua.Variant(float("nan"), ua.VariantType.Double),
                )
                await node.write_attribute(
                    ua.AttributeIds.Description,
                    ua.DataValue(ua.Variant(ua.LocalizedText(f"{s.description} [{s.unit}]"))),
                )
                await server.write_attribute_value(node.nodeid, waiting)
            await folder.add_variable(
                node_id(ns, f"{m.id}.state"),
                ua.QualifiedName("state", ns),
                ua.Variant(MachineState.RUNNING.value, ua.VariantType.String),
            )
            await folder.add_property(
                node_id(ns, f"{m.id}.line"), ua.QualifiedName("line", ns), m.line
            )

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.stop()
            self._server = None

    async def __aenter__(self) -> OpcUaPlantServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def write_samples(self, samples: Sequence[Sample]) -> None:
        server = self._require()
        now = datetime.now(UTC)
        for s in samples:
            for sensor, value in s.values.items():
                dv = ua.DataValue(
                    ua.Variant(value, ua.VariantType.Double),
                    SourceTimestamp=_ua_time(s.ts),
                    ServerTimestamp=_ua_time(now),
                )
                await server.write_attribute_value(sensor_node_id(self.ns, s.machine, sensor), dv)
            if self._state.get(s.machine, MachineState.RUNNING) is not MachineState.RUNNING:
                await self._write_state(s.machine, MachineState.RUNNING, s.ts)

    async def write_events(self, events: Sequence[Event]) -> None:
        for e in events:
            state = _STATE_AFTER.get(e.kind)
            if state is not None:
                await self._write_state(e.machine, state, e.ts)

    async def _write_state(self, machine: str, state: MachineState, ts: datetime) -> None:
        self._state[machine] = state
        dv = ua.DataValue(
            ua.Variant(state.value, ua.VariantType.String), SourceTimestamp=_ua_time(ts)
        )
        await self._require().write_attribute_value(node_id(self.ns, f"{machine}.state"), dv)

    def _require(self) -> Server:
        if self._server is None:
            raise OpcUaServeError("the OPC-UA server is not started; call start() first")
        return self._server
