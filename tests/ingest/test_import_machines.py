"""`millwright import machines`: upserted machines and sensors, unknown columns refused,
machines missing from the file reported and kept."""

from __future__ import annotations

import csv
from pathlib import Path

from typer.testing import CliRunner

from millwright.app.cli import app
from millwright.core.storage.database import Database
from tests.ingest.conftest import import_summary

LIST = """
machine,line,class,groups,sensor,unit,description,operating_condition
press-1,L1,press,presses;heavy,temp,degC,oil temperature,false
press-1,L1,press,presses;heavy,load,t,press force setting,true
press-2,L1,press,presses,,,,
lathe-9,L2,lathe,,spindle_speed,rpm,,yes
,L2,lathe,,,,,
lathe-9,L2,lathe,,torque,Nm,,maybe
"""


def _import(cli: CliRunner, *args: str) -> dict:
    return import_summary(cli, "machines", *args)


def test_machines_and_sensors_are_upserted(
    cli: CliRunner, database: Database, tmp_path: Path
) -> None:
    database.execute("INSERT INTO machines (name) VALUES ('old-mill')")
    path = tmp_path / "machines.csv"
    path.write_text(LIST.lstrip())
    rejects = tmp_path / "r.csv"
    first = _import(cli, str(path), "--rejects", str(rejects))
    assert (first["machines_created"], first["sensors_created"], first["rejected"]) == (3, 3, 2)
    assert first["not_in_file"] == ["old-mill"]
    assert database.execute(
        "SELECT name, line, machine_class, alternative_groups FROM machines ORDER BY name"
    ) == [("lathe-9", "L2", "lathe", []), ("old-mill", None, None, []),
          ("press-1", "L1", "press", ["heavy", "presses"]),
          ("press-2", "L1", "press", ["presses"])]  # fmt: skip
    assert database.execute(
        "SELECT m.name, s.name, s.unit, s.description, s.operating_condition FROM sensors s"
        " JOIN machines m ON m.id = s.machine_id ORDER BY 1, 2"
    ) == [("lathe-9", "spindle_speed", "rpm", None, True),
          ("press-1", "load", "t", "press force setting", True),
          ("press-1", "temp", "degC", "oil temperature", False)]  # fmt: skip
    with rejects.open() as handle:
        rows = [(r["row"], r["reason"]) for r in csv.DictReader(handle)]
    assert rows == [("5", "machine is empty"),
                    ("6", "operating_condition 'maybe' is not true or false")]  # fmt: skip
    again = _import(cli, str(path), "--rejects", str(rejects))
    assert (again["machines_created"], again["sensors_created"]) == (0, 0)
    assert database.execute("SELECT count(*) FROM machines") == [(4,)]


def test_unknown_columns_are_refused(cli: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "machines.csv"
    path.write_text("machine,colour\npress-1,red\n")
    result = cli.invoke(app, ["import", "machines", str(path)])
    assert result.exit_code == 2
    assert "unknown column 'colour'; expected machine and optionally line" in result.stderr
