"""The ingest commands as people meet them: help text, and no asyncua chatter without -v."""

from __future__ import annotations

import logging
from typing import Any

from typer.testing import CliRunner

from millwright.app.cli import app
from tests.ingest.opcua_support import TestServer, ThreadedServer, free_port


def test_collect_help_describes_both_protocols() -> None:
    result = CliRunner().invoke(app, ["collect", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "MQTT" in text and "OPC-UA" in text
    assert "ingest.mqtt" in text and "ingest.opcua" in text and "Sparkplug B" in text


def test_browse_logs_no_asyncua_info_lines_unless_verbose(caplog: Any) -> None:
    caplog.set_level(logging.INFO)
    runner = CliRunner()
    with ThreadedServer(TestServer(free_port(), ["m1"], ["temp"])) as server:
        caplog.clear()
        quiet = runner.invoke(app, ["opcua", "browse", server.endpoint])
        quiet_lines = [r for r in caplog.records if r.name.startswith("asyncua.client")]
        caplog.clear()
        loud = runner.invoke(app, ["-v", "opcua", "browse", server.endpoint])
        loud_lines = [r for r in caplog.records if r.name.startswith("asyncua.client")]
    assert quiet.exit_code == 0 and loud.exit_code == 0, quiet.output + loud.output
    assert "m1.temp" in quiet.output
    assert [r.getMessage() for r in quiet_lines] == []
    assert any(r.levelno == logging.INFO for r in loud_lines)
    runner.invoke(app, ["version"])  # leave asyncua quiet for the tests that follow
