"""`millwright bench opcua`: real asyncua server processes, the real collector, the database;
every published value is accounted for (stored, or lost on the server or after receipt)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from millwright.app.cli import app


@pytest.mark.slow
def test_bench_opcua_two_servers_json(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MILLWRIGHT_DATABASE_URL", database_url)
    args = ["bench", "opcua", "--nodes", "200", "--servers", "2", "--seconds", "3", "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["published"] == 200 * 30
    assert figures["stored"] + figures["lost"] == figures["published"]
    assert figures["lost"] == figures["server_discarded"] + figures["lost_after_receipt"]
    assert figures["lost"] == 0
    assert figures["collector_cpu_s"] > 0 and figures["writer_rows_per_s"] > 0
