"""``millwright opcua browse`` against a real server: the listing and a config snippet that
loads as settings; and ``millwright collect`` running an OPC-UA source from that config."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from asyncua import ua
from typer.testing import CliRunner

from ingest.config import IngestConfig
from ingest.opcua import uatypes
from ingest.service import run_collect
from millwright.app.cli import app
from millwright.core.storage import Database
from tests.ingest.opcua_support import TestServer, ThreadedServer, free_port


def test_browse_prints_the_address_space_and_writes_a_config_that_collects(
    tmp_path: Path, database: Database, database_url: str
) -> None:
    extra = {"state": ("m1", "running", ua.VariantType.String)}
    with ThreadedServer(TestServer(free_port(), ["m1", "m2"], ["temp"], extra=extra)) as server:
        snippet = tmp_path / "plant.toml"
        result = CliRunner().invoke(
            app,
            ["opcua", "browse", server.endpoint, "--depth", "3", "--write-config", str(snippet)],
        )
        assert result.exit_code == 0, result.output
        ns = server.ns
        assert f"ns={ns};s=m1.temp" in result.output
        assert f"{ns}:Plant/{ns}:m2/{ns}:temp" in result.output
        assert "Double" in result.output and "String" in result.output
        assert "'running'" in result.output

        document = tomllib.loads(snippet.read_text())
        config = IngestConfig.model_validate(document["ingest"])
        source = config.opcua[0]
        assert {(n.machine, n.sensor) for n in source.nodes} == {
            ("m1", "temp"),
            ("m2", "temp"),
            ("m1", "state"),
        }
        state = next(n for n in source.nodes if n.sensor == "state")
        assert state.value_map == {"running": 0}

        stop = threading.Event()
        source = source.model_copy(update={"publishing_interval_ms": 50, "sampling_interval_ms": 0})
        collect = config.model_copy(
            update={
                "opcua": [source],
                "metrics": config.metrics.model_copy(update={"enabled": False}),
            }
        )
        runner = threading.Thread(
            target=run_collect,
            args=(collect, database_url),
            kwargs={"data_dir": tmp_path, "stop": stop},
        )
        runner.start()
        try:
            ts = datetime.now(UTC) - timedelta(seconds=1)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                server.call(server.write("m2", "temp", 42.0, ts))
                rows = database.execute(
                    "SELECT r.value FROM readings r JOIN machines m ON m.id = r.machine_id"
                    " WHERE m.name = 'm2' AND r.ts = %s",
                    (ts,),
                )
                if rows:
                    break
                time.sleep(0.2)
            assert rows == [(42.0,)]
        finally:
            stop.set()
            runner.join(30)


def test_browse_paces_nodes_from_the_server_and_captures_a_10_hz_signal(
    tmp_path: Path, database: Database, database_url: str, caplog: Any
) -> None:
    """The node's MinimumSamplingInterval (100 ms) becomes its sampling interval, its queue
    holds one publishing interval; used as written, the config stores ≥ 98 % of 10 Hz."""
    with ThreadedServer(TestServer(free_port(), ["fast", "slow"], ["sig"])) as server:

        async def declare() -> None:
            assert server.server is not None
            rate = ua.DataValue(ua.Variant(100.0, ua.VariantType.Double))
            await server.server.write_attribute_value(
                uatypes.node_id("fast.sig", server.ns),
                rate,
                ua.AttributeIds.MinimumSamplingInterval,
            )

        server.call(declare())
        snippet = tmp_path / "plant.toml"
        result = CliRunner().invoke(
            app, ["opcua", "browse", server.endpoint, "--write-config", str(snippet)]
        )
        assert result.exit_code == 0, result.output
        config = IngestConfig.model_validate(tomllib.loads(snippet.read_text())["ingest"])
        source = config.opcua[0]
        assert source.publishing_interval_ms == 500
        pacing = {n.machine: (n.sampling_interval_ms, n.queue_size) for n in source.nodes}
        # 100 ms declared → 100 ms, 6 samples per 500 ms publish; none declared → publishing
        assert pacing == {"fast": (100.0, 6), "slow": (500.0, 2)}

        collect = config.model_copy(
            update={"metrics": config.metrics.model_copy(update={"enabled": False})}
        )
        stop = threading.Event()
        runner = threading.Thread(
            target=run_collect,
            args=(collect, database_url),
            kwargs={"data_dir": tmp_path, "stop": stop},
        )
        caplog.set_level(logging.WARNING, logger="ingest.opcua.source")
        runner.start()
        try:
            start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)

            def stored() -> int:
                return int(
                    database.execute(
                        "SELECT count(*) FROM readings r JOIN machines m ON m.id = r.machine_id"
                        " WHERE m.name = 'fast' AND r.ts >= %s",
                        (start,),
                    )[0][0]
                )

            deadline = time.monotonic() + 20
            while stored() == 0 and time.monotonic() < deadline:  # collector subscribed?
                server.call(server.write("fast", "sig", -1.0, start - timedelta(seconds=1)))
                server.call(server.write("fast", "sig", -2.0, start))
                time.sleep(0.2)
            assert stored() == 1
            n = 50

            async def signal() -> None:  # 10 Hz for 5 s, source-timestamped
                for i in range(1, n + 1):
                    await server.write("fast", "sig", float(i), start + timedelta(seconds=i / 10))
                    await asyncio.sleep(0.1)

            server.call(signal(), timeout_s=30)
            deadline = time.monotonic() + 10
            while stored() < n + 1 and time.monotonic() < deadline:
                time.sleep(0.2)
            assert stored() - 1 >= 0.98 * n
        finally:
            stop.set()
            runner.join(30)
    # asyncua servers answer every sampling request with the publishing interval: coarser
    warnings = [r.getMessage() for r in caplog.records if "more slowly" in r.getMessage()]
    assert warnings and "fast/sig 100 → 500 ms" in warnings[0]
