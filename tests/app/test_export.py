"""`millwright export`: readings, events, risk scores and plans for a range, CSV and Parquet,
with names instead of ids; an exported readings file imports back to the same rows."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from millwright.app.cli import app
from millwright.core.storage.database import Database
from millwright.core.storage.events import PlantEvent, write_events
from millwright.core.storage.readings import Reading, ReadingsWriter
from scheduler import service
from tests.scheduler.plant import CONFIG, NOW, seed_job, seed_machines, seed_risk

runner = CliRunner()


@pytest.fixture
def plant(database_url: str, database: Database, monkeypatch: pytest.MonkeyPatch) -> Database:
    monkeypatch.setenv("MILLWRIGHT_DATABASE_URL", database_url)
    ids = seed_machines(database)
    writer = ReadingsWriter(database)
    base = pd.Timestamp("2026-01-05T00:00:00Z").to_pydatetime()
    writer.write([Reading("M1", "temp", base + timedelta(minutes=i), 20.0 + i) for i in range(5)])
    writer.write([Reading("M2", "temp", base - timedelta(days=1), 1.0)])  # outside the range
    write_events(database, [
        PlantEvent("M1", "failure", base + timedelta(hours=1), note="line 1, \"quoted\"\nnext"),
        PlantEvent("M1", "repair", base + timedelta(hours=3), work_order="WO-9"),
    ])  # fmt: skip
    seed_risk(database, ids["M3"], at=base + timedelta(hours=2))
    seed_job(database, "J1", [{ids["M1"]: 600}])
    schedule = service.request_schedule(database, "test", time_limit_s=2)
    service.solve_schedule(database, CONFIG, schedule.id, now=NOW)
    return database


def _export(tmp: Path, *args: str) -> list[dict]:
    result = runner.invoke(app, ["export", *args, "--out", str(tmp), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_csv_and_parquet_exports(plant: Database, tmp_path: Path) -> None:
    window = ["--from", "2026-01-05", "--to", "2026-01-06"]
    done = _export(tmp_path, "readings", "events", "risk", *window)
    assert [(d["table"], d["rows"]) for d in done] == [("readings", 5), ("events", 2), ("risk", 1)]
    readings = pd.read_csv(tmp_path / "readings.csv")
    assert list(readings.columns) == ["ts", "machine", "sensor", "value", "quality"]
    assert readings["value"].tolist() == [20.0, 21.0, 22.0, 23.0, 24.0]
    events = pd.read_csv(tmp_path / "events.csv", keep_default_na=False)
    assert events["kind"].tolist() == ["failure", "repair"]
    assert events["note"].tolist() == ['line 1, "quoted"\nnext', ""]
    assert events["work_order"].tolist() == ["", "WO-9"]

    parquet = _export(tmp_path, "readings", "plans", *window[:2], "--to", "2031-01-01",
                      "--format", "parquet")  # fmt: skip
    stored = plant.execute("SELECT count(*) FROM schedule_assignments")[0][0]
    assert [(d["table"], d["rows"]) for d in parquet] == [("readings", 5), ("plans", stored)]
    plan = pd.read_parquet(tmp_path / "plans.parquet")
    work = plan[plan["kind"] == "operation"]
    assert work[["machine", "job", "seq"]].values.tolist() == [["M1", "J1", 0]]
    assert str(plan["start_at"].dtype).startswith("datetime64") and plan["is_current"].all()
    assert pd.read_parquet(tmp_path / "readings.parquet")["sensor"].unique().tolist() == ["temp"]

    # what goes out comes back in: a re-import of the export adds nothing
    result = runner.invoke(app, ["import", "readings", str(tmp_path / "readings.csv"), "--json"])
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert (summary["imported"], summary["duplicates"], summary["rejected"]) == (0, 5, 0)


def test_bad_export_requests_are_one_sentence(plant: Database, tmp_path: Path) -> None:
    result = runner.invoke(app, ["export", "alarms", "--from", "2026-01-01", "--to", "2026-02-01"])
    assert result.exit_code == 2 and "cannot export 'alarms'" in result.stderr
    result = runner.invoke(app, ["export", "events", "--from", "soon", "--to", "2026-02-01"])
    assert result.exit_code == 2 and "--from 'soon' is not an ISO 8601" in result.stderr
    result = runner.invoke(app, ["export", "events", "--from", "2026-02-01", "--to", "2026-01-01",
                                 "--out", str(tmp_path)])  # fmt: skip
    assert result.exit_code == 2 and "must be after its start" in result.stderr
