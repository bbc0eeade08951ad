"""Server restart mid-stream: the source reconnects by itself, values flow again, and every
value that never arrived lies inside a recorded gap for its machine."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from ingest.opcua.source import OpcUaSource
from ingest.runtime import IngestRuntime
from millwright.core.storage import Database
from tests.ingest.opcua_support import Running, TestServer, eventually, free_port, source_config

MACHINES = ["m1", "m2"]
SENSORS = ["a", "b"]


def test_server_restart_loses_nothing_beyond_a_recorded_gap(
    database: Database, opcua_runtime: IngestRuntime
) -> None:
    port = free_port()
    generated: list[tuple[str, str, datetime, float]] = []
    state: dict[str, TestServer | None] = {}

    async def plant(stop: asyncio.Event) -> None:
        """Every node changes every 50 ms, whether or not the server is there to publish it."""
        counter = 0
        while not stop.is_set():
            counter += 1
            for machine in MACHINES:
                for sensor in SENSORS:
                    ts = datetime.now(UTC)
                    generated.append((machine, sensor, ts, float(counter)))
                    server = state["server"]
                    if server is not None and server.server is not None:
                        await server.write(machine, sensor, float(counter), ts)
            await asyncio.sleep(0.05)

    async def scenario() -> OpcUaSource:
        server = await TestServer(port, MACHINES, SENSORS).start()
        state["server"] = server
        nodes = [
            {"node_id": server.node_id(m, s), "machine": f"press-{m}", "sensor": s}
            for m in MACHINES
            for s in SENSORS
        ]
        source = OpcUaSource(
            source_config(server, nodes), opcua_runtime.pipeline, gap_close_after_s=3
        )
        stop_plant = asyncio.Event()
        async with Running(source):
            writer = asyncio.create_task(plant(stop_plant))
            await eventually(lambda: source.stats.received >= 40)
            state["server"] = None
            await server.stop()  # the server goes away mid-stream...
            await eventually(lambda: not source.stats.connected, timeout_s=10)
            await asyncio.sleep(1.0)
            state["server"] = await TestServer(port, MACHINES, SENSORS).start()  # ...and returns
            before = source.stats.received
            await eventually(lambda: source.stats.recreated >= 1, timeout_s=20)
            await eventually(lambda: source.stats.received >= before + 40, timeout_s=10)
            await eventually(lambda: source.stats.gaps >= len(MACHINES), timeout_s=10)
            stop_plant.set()
            await writer
            await asyncio.sleep(0.3)  # the last values are published
        restarted = state["server"]
        assert restarted is not None
        await restarted.stop()
        return source

    source = asyncio.run(scenario())
    rows = database.execute(
        "SELECT m.name, s.name, r.ts, r.value FROM readings r"
        " JOIN machines m ON m.id = r.machine_id JOIN sensors s ON s.id = r.sensor_id"
    )
    stored = {(m, s, ts): v for m, s, ts, v in rows}
    gaps = database.execute(
        "SELECT m.name, e.ts, e.ends_at, e.source FROM events e"
        " JOIN machines m ON m.id = e.machine_id WHERE e.kind = 'gap'"
    )
    assert {g[0] for g in gaps} == {f"press-{m}" for m in MACHINES}
    assert all(g[3] == "opcua:opcua-test" and g[2] > g[1] for g in gaps)

    def in_gap(machine: str, ts: datetime) -> bool:
        return any(g[0] == machine and g[1] < ts < g[2] for g in gaps)

    lost = []
    for machine, sensor, ts, value in generated:
        key = (f"press-{machine}", sensor, ts)
        if key in stored:
            assert stored[key] == value
        elif not in_gap(key[0], ts):
            lost.append(key)
    assert lost == [], f"{len(lost)} values lost outside any gap, first {lost[:3]}"
    # values flowed on both sides of the restart
    gap_end = max(g[2] for g in gaps)
    assert any(ts > gap_end for (_, _, ts) in stored)
    assert source.stats.recreated >= 1
