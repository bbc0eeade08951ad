"""The ingest commands as people meet them: help text, and no asyncua chatter without -v."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from millwright.app.cli import app
from tests.ingest.opcua_support import TestServer, ThreadedServer, free_port


def test_collect_help_describes_both_protocols() -> None:
    result = CliRunner().invoke(app, ["collect", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "MQTT" in text and "OPC-UA" in text
    assert "ingest.mqtt" in text and "ingest.opcua" in text and "Sparkplug B" in text


def _browse(endpoint: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "millwright"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MILLWRIGHT_")}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    return subprocess.run(
        [str(exe), "opcua", "browse", endpoint],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_browse_prints_no_asyncua_info_lines_unless_verbose() -> None:
    with ThreadedServer(TestServer(free_port(), ["m1"], ["temp"])) as server:
        quiet = _browse(server.endpoint)
    assert quiet.returncode == 0, quiet.stderr
    assert "m1.temp" in quiet.stdout
    assert [line for line in quiet.stderr.splitlines() if " asyncua" in line] == []
    # -v gives asyncua its say again (it inherits the root's DEBUG level)
    runner = CliRunner()
    assert runner.invoke(app, ["-v", "version"]).exit_code == 0
    assert logging.getLogger("asyncua").level == logging.NOTSET
    assert runner.invoke(app, ["version"]).exit_code == 0
    assert logging.getLogger("asyncua").level == logging.WARNING
