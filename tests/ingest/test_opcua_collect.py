"""The OPC-UA source against asyncua's own server on loopback, through the shared pipeline
into PostgreSQL: mapping, status codes, timestamps, non-numeric values."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from asyncua import ua

from ingest.opcua.source import OpcUaSource
from ingest.runtime import IngestRuntime
from millwright.core.storage import Database
from tests.ingest.opcua_support import (
    Running,
    TestServer,
    eventually,
    free_port,
    source_config,
    stored,
)

T0 = datetime.now(UTC).replace(microsecond=123456) - timedelta(minutes=5)


def test_mapping_by_node_id_and_browse_path_keeps_source_times_and_quality(
    database: Database, opcua_runtime: IngestRuntime
) -> None:
    async def scenario() -> None:
        async with TestServer(free_port(), ["m1", "m2"], ["temp", "speed"]) as server:
            ns = server.ns
            config = source_config(
                server,
                [
                    {
                        "node_id": server.node_id("m1", "temp"),
                        "machine": "press-1",
                        "sensor": "temperature",
                        "unit": "degC",
                    },
                    {
                        "browse_path": f"{ns}:Plant/{ns}:m2/{ns}:speed",
                        "machine": "press-2",
                        "sensor": "rpm",
                    },
                ],
            )
            source = OpcUaSource(config, opcua_runtime.pipeline, metrics=opcua_runtime.metrics)
            async with Running(source):
                await server.write("m1", "temp", 20.5, T0)
                await server.write("m2", "speed", 1500.0, T0)
                await server.write(
                    "m1",
                    "temp",
                    21.5,
                    T0 + timedelta(seconds=1),
                    status=ua.StatusCodes.UncertainLastUsableValue,
                )
                await server.write(
                    "m2",
                    "speed",
                    1490.0,
                    T0 + timedelta(seconds=1),
                    status=ua.StatusCodes.BadSensorFailure,
                )
                await server.write("m1", "speed", 99.0, T0)  # not mapped: never stored
                await eventually(lambda: source.stats.received >= 6)
        assert source.stats.unresolved == []

    asyncio.run(scenario())
    rows = stored(database)
    assert rows[("press-1", "temperature", T0)] == (20.5, 0)
    assert rows[("press-2", "rpm", T0)] == (1500.0, 0)
    assert rows[("press-1", "temperature", T0 + timedelta(seconds=1))] == (21.5, 1)
    # A Bad value carries no number on the wire (Part 4, 7.7.1): stored as 0.0, quality bad.
    assert rows[("press-2", "rpm", T0 + timedelta(seconds=1))] == (0.0, 2)
    assert {(m, s) for m, s, _ in rows} == {("press-1", "temperature"), ("press-2", "rpm")}


def test_non_numeric_values_are_mapped_when_configured_else_dead_lettered(
    database: Database, opcua_runtime: IngestRuntime
) -> None:
    extra = {
        "state": ("m1", "running", ua.VariantType.String),
        "vector": ("m1", [1.0, 2.0, 3.0], ua.VariantType.Double),
        "label": ("m1", "hello", ua.VariantType.String),
    }

    async def scenario() -> None:
        async with TestServer(free_port(), ["m1"], ["temp"], extra=extra) as server:
            config = source_config(
                server,
                [
                    {
                        "node_id": server.node_id("m1", "state"),
                        "machine": "m1",
                        "sensor": "state",
                        "value_map": {"running": 0, "down": 1},
                    },
                    {
                        "node_id": server.node_id("m1", "vector"),
                        "machine": "m1",
                        "sensor": "v2",
                        "index": 2,
                    },
                    {"node_id": server.node_id("m1", "label"), "machine": "m1", "sensor": "label"},
                    {"node_id": f"ns={server.ns};s=nope", "machine": "m1", "sensor": "missing"},
                    {
                        "browse_path": f"{server.ns}:Plant/{server.ns}:m9/{server.ns}:x",
                        "machine": "m1",
                        "sensor": "missing2",
                    },
                ],
            )
            source = OpcUaSource(config, opcua_runtime.pipeline, metrics=opcua_runtime.metrics)
            async with Running(source):
                await server.write("m1", "state", "down", T0, vtype=ua.VariantType.String)
                await server.write(
                    "m1",
                    "state",
                    "exploded",
                    T0 + timedelta(seconds=1),
                    vtype=ua.VariantType.String,
                )
                await server.write("m1", "vector", [4.0, 5.0, 6.0], T0)
                await eventually(lambda: source.stats.received >= 6)

    asyncio.run(scenario())
    rows = stored(database)
    assert rows[("m1", "state", T0)] == (1.0, 0)
    assert rows[("m1", "v2", T0)] == (6.0, 0)
    assert ("m1", "label") not in {(m, s) for m, s, _ in rows}
    letters = database.execute("SELECT source, topic, reason, payload FROM dead_letters")
    reasons = {r[2] for r in letters}
    assert any("'exploded' is not in value_map" in r for r in reasons), reasons
    assert any("m1/label: string 'hello' is not a number" in r for r in reasons), reasons
    assert any("m1/missing" in r and "BadNodeIdUnknown" in r for r in reasons), reasons
    assert any("m1/missing2" in r and "not found" in r for r in reasons), reasons
    assert all(r[0] == "opcua-test" for r in letters)
