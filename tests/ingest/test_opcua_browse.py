"""``millwright opcua browse`` against a real server: the listing and a config snippet that
loads as settings; and ``millwright collect`` running an OPC-UA source from that config."""

from __future__ import annotations

import threading
import time
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

from asyncua import ua
from typer.testing import CliRunner

from ingest.config import IngestConfig
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
