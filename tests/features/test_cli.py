"""`millwright features run|backfill|show`."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from millwright.app.cli import app
from millwright.core.storage import Database

runner = CliRunner()


@pytest.fixture
def env(plant: Database, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MILLWRIGHT_DATABASE_URL", database_url)
    monkeypatch.setenv("MILLWRIGHT_FEATURES__WINDOWS_MINUTES", "[60, 120]")


def test_run_backfill_show(env: None) -> None:
    ran = runner.invoke(app, ["features", "run", "--until", "2024-03-01T12:00:00Z", "--json"])
    assert ran.exit_code == 0, ran.output
    result = json.loads(ran.output.strip().splitlines()[-1])
    assert result["written"] == 2 * 72 and result["through"] == "2024-03-01T12:00:00+00:00"
    again = runner.invoke(app, ["features", "run", "--until", "2024-03-01T12:00:00Z", "--json"])
    assert json.loads(again.output.strip().splitlines()[-1])["written"] == 0

    back = runner.invoke(
        app, ["features", "backfill", "--start", "2024-03-01T11:00", "--end", "2024-03-01T13:00"]
    )
    assert back.exit_code == 0, back.output
    assert "12 new rows of 26" in back.output

    listed = runner.invoke(app, ["features", "show"])
    version = result["version"]
    assert version in listed.output and "2 machines" in listed.output
    shown = runner.invoke(app, ["features", "show", version])
    assert "a__slope_2h" in shown.output and "computed through 2024-03-01T13:00" in shown.output
    one = runner.invoke(app, ["features", "show", version, "--machine", "1"])
    assert "machine 1 at 2024-03-01 13:00:00+00:00" in one.output
    missing = runner.invoke(app, ["features", "show", "fd-000000000000"])
    assert missing.exit_code == 1 and "unknown" in missing.output
