import json

import pytest
from typer.testing import CliRunner

from millwright.app.cli import app

runner = CliRunner()


def test_help_lists_the_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("db", "bench", "version", "users"):
        assert command in result.output


def test_db_upgrade_and_status(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MILLWRIGHT_DATABASE_URL", database_url)
    first = runner.invoke(app, ["db", "upgrade"])
    assert first.exit_code == 0, first.output
    assert "already up to date" in first.output
    status = runner.invoke(app, ["db", "status", "--json"])
    assert status.exit_code == 0, status.output
    assert json.loads(status.output.strip().splitlines()[-1])["schema_version"] >= 1


def test_bad_setting_stops_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MILLWRIGHT_POOL_MAX_SIZE", "zero")
    result = runner.invoke(app, ["version"])
    assert result.exit_code == 2
    assert "MILLWRIGHT_POOL_MAX_SIZE" in result.output
