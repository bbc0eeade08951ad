"""`millwright import readings`: long, wide and Parquet files, a messy file with its rejects
checked row by row, time zones, re-imports that add nothing, and files that are refused."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from millwright.app.cli import app
from millwright.core.storage.database import Database
from tests.ingest.conftest import import_summary


def _import(cli: CliRunner, *args: str, code: int = 0) -> dict:
    return import_summary(cli, "readings", *args, code=code)


def _refused(cli: CliRunner, *args: str) -> str:
    result = cli.invoke(app, ["import", "readings", *args])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]


def _readings(database: Database) -> list[tuple]:
    return database.execute(
        "SELECT m.name, s.name, to_char(r.ts AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), r.value"
        " FROM readings r JOIN machines m ON m.id = r.machine_id"
        " JOIN sensors s ON s.id = r.sensor_id ORDER BY 1, 2, 3"
    )


def _write(path: Path, text: str) -> Path:
    path.write_text(text.lstrip())
    return path


LONG = """
ts,machine,sensor,value,quality
2026-01-05T00:00:00Z,press-1,temp,20.5,0
2026-01-05T00:01:00Z,press-1,temp,20.75,0
2026-01-05T00:00:00+01:00,press-2,vibration,0.125,1
"""


def test_long_csv_imports_and_a_reimport_adds_nothing(
    cli: CliRunner, database: Database, tmp_path: Path
) -> None:
    path = _write(tmp_path / "long.csv", LONG)
    first = _import(cli, str(path), "--unit", "temp=degC")
    assert first["rows_read"] == 3 and first["imported"] == 3 and first["rejected"] == 0
    assert (first["machines_created"], first["sensors_created"]) == (2, 2)
    assert (first["first_ts"], first["last_ts"]) == (
        "2026-01-04T23:00:00+00:00",
        "2026-01-05T00:01:00+00:00",
    )
    assert _readings(database) == [
        ("press-1", "temp", "2026-01-05 00:00", 20.5),
        ("press-1", "temp", "2026-01-05 00:01", 20.75),
        ("press-2", "vibration", "2026-01-04 23:00", 0.125),
    ]
    assert database.execute("SELECT unit FROM sensors WHERE name = 'temp'") == [("degC",)]
    assert database.execute("SELECT quality FROM readings ORDER BY quality") == [(0,), (0,), (1,)]
    again = _import(cli, str(path))
    assert (again["imported"], again["duplicates"], again["machines_created"]) == (0, 3, 0)
    assert database.execute("SELECT count(*) FROM readings") == [(3,)]


MESSY = """
ts,machine,sensor,value
2026-01-05T00:00:00Z,M1,temp,20.5
2026-01-05T00:01:00Z,M1,temp,n/a
yesterday,M1,temp,21
2026-01-05T00:03:00Z,,temp,21
2026-01-05T00:00:00Z,M1,temp,99
1999-12-31T23:00:00Z,M1,temp,19
2026-01-05 00:06:00,M1,temp,22
2026-01-05T00:07:00Z,M1,temp,
2026-01-05T00:08:00Z,M1,temp,23.5
"""


def test_a_messy_file_keeps_every_good_row_and_explains_every_bad_one(
    cli: CliRunner, database: Database, tmp_path: Path
) -> None:
    path = _write(tmp_path / "messy.csv", MESSY)
    rejects = tmp_path / "bad.csv"
    summary = _import(cli, str(path), "--rejects", str(rejects))
    assert (summary["rows_read"], summary["imported"], summary["duplicates"]) == (9, 2, 1)
    assert summary["rejected"] == 6 and summary["rejects_file"] == str(rejects)
    with rejects.open() as handle:
        rows = [(r["row"], r["sensor"], r["reason"]) for r in csv.DictReader(handle)]
    assert sorted(rows, key=lambda r: int(r[0])) == [
        ("2", "temp", "value 'n/a' is not a finite number"),
        ("3", "", "timestamp 'yesterday' is not a date and time (ISO 8601, or give --ts-format)"),
        ("4", "", "machine is empty"),
        ("6", "temp", "timestamp before 2000-01-01"),
        ("7", "", "timestamp has no timezone while row 1's has one (mixed time zones);"
                  " give --timezone for the naive ones"),
        ("8", "temp", "value is empty"),
    ]  # fmt: skip
    assert _readings(database) == [
        ("M1", "temp", "2026-01-05 00:00", 20.5),
        ("M1", "temp", "2026-01-05 00:08", 23.5),
    ]


WIDE = """
time,line_machine,temp,vibration,operator
2026-01-05 01:00:00,mill-3,30.5,0.5,ana
2026-01-05 01:01:00,mill-3,,0.625,ana
2026-01-05 01:02:00,mill-3,31,oops,bo
"""


def test_wide_csv_with_named_columns_local_time_and_ignored_columns(
    cli: CliRunner, database: Database, tmp_path: Path
) -> None:
    path = _write(tmp_path / "wide.csv", WIDE)
    common = ["--ts-column", "time", "--machine-column", "line_machine", "--layout", "wide"]
    line = _refused(cli, str(path), *common, "--sensors", "temp,vibration")
    assert "row 1: timestamp '2026-01-05 01:00:00' has no timezone; give --timezone" in line
    summary = _import(cli, str(path), *common, "--sensors", "temp,vibration",
                      "--timezone", "Europe/Berlin")  # fmt: skip
    assert summary["ignored_columns"] == ["operator"]
    assert (summary["rows_read"], summary["imported"], summary["rejected"]) == (3, 4, 1)
    assert _readings(database) == [
        ("mill-3", "temp", "2026-01-05 00:00", 30.5),
        ("mill-3", "temp", "2026-01-05 00:02", 31.0),
        ("mill-3", "vibration", "2026-01-05 00:00", 0.5),
        ("mill-3", "vibration", "2026-01-05 00:01", 0.625),
    ]


def test_parquet_in_chunks_with_epoch_and_one_machine(
    cli: CliRunner, database: Database, tmp_path: Path
) -> None:
    frame = pd.DataFrame(
        {
            "ts": pd.date_range("2026-01-05", periods=2500, freq="min", tz="UTC"),
            "spindle_speed": [float(i % 7) for i in range(2500)],
            "torque": [1.5] * 2500,
        }
    )
    path = tmp_path / "history.parquet"
    frame.to_parquet(path)
    summary = _import(cli, str(path), "--machine", "lathe-9", "--chunk-rows", "1000")
    assert (summary["rows_read"], summary["imported"], summary["rejected"]) == (2500, 5000, 0)
    assert summary["last_ts"] == "2026-01-06T17:39:00+00:00"
    assert database.execute(
        "SELECT s.name, count(*), sum(r.value) FROM readings r JOIN sensors s"
        " ON s.id = r.sensor_id GROUP BY 1 ORDER BY 1"
    ) == [("spindle_speed", 2500, float(sum(i % 7 for i in range(2500)))), ("torque", 2500, 3750.0)]

    epoch = _write(tmp_path / "epoch.csv", "ts,sensor,value\n1767571200000,temp,1\n")
    summary = _import(cli, str(epoch), "--machine", "lathe-9", "--ts-format", "ms")
    assert summary["first_ts"] == "2026-01-05T00:00:00+00:00" and summary["imported"] == 1
    assert _import(cli, str(path), "--machine", "lathe-9")["duplicates"] == 5000


def test_files_that_cannot_be_read_are_refused_in_one_sentence(
    cli: CliRunner, database: Database, tmp_path: Path
) -> None:
    empty = _write(tmp_path / "empty.csv", "")
    assert "is empty; expected a header line" in _refused(cli, str(empty))
    binary = tmp_path / "dump.csv"
    binary.write_bytes(b"ts,machine\n\x00\x01\x02")
    assert "byte offset 11 is a NUL byte" in _refused(cli, str(binary))
    missing = _write(tmp_path / "missing.csv", "ts,machine,sensor\n2026-01-05T00:00:00Z,M,s\n")
    line = _refused(cli, str(missing), "--layout", "long")
    assert "missing column 'value' (found: ts, machine, sensor)" in line
    assert "no such file" in _refused(cli, str(tmp_path / "nope.csv"))
    good = _write(tmp_path / "good.csv", LONG)
    assert "not a time zone name" in _refused(cli, str(good), "--timezone", "Mars/Olympus")
    # nothing of the good file was written when another file of the same call was bad
    assert "missing column" in _refused(cli, str(good), str(missing), "--layout", "long")
    assert database.execute("SELECT count(*) FROM readings") == [(0,)]


def test_unknown_machines_are_rejected_when_registration_is_off(
    cli: CliRunner, database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MILLWRIGHT_REGISTER_UNKNOWN", "false")
    path = _write(tmp_path / "long.csv", LONG)
    summary = _import(cli, str(path), "--rejects", str(tmp_path / "r.csv"))
    assert (summary["imported"], summary["rejected"]) == (0, 3)
    reasons = {r["reason"] for r in csv.DictReader((tmp_path / "r.csv").open())}
    assert reasons == {"unknown machine or sensor (registration is off)"}


def test_sensor_metadata_file_sets_units_descriptions_and_operating_conditions(
    cli: CliRunner, database: Database, tmp_path: Path
) -> None:
    data = _write(tmp_path / "long.csv", LONG)
    bad_flag = _write(tmp_path / "bad.csv", "sensor,operating_condition\ntemp,sometimes\n")
    line = _refused(cli, str(data), "--sensor-metadata", str(bad_flag))
    assert line.endswith("bad.csv: row 1: operating_condition 'sometimes' is not true or false.")
    unknown = _write(tmp_path / "unknown.csv", "sensor,colour\ntemp,red\n")
    assert "unknown column 'colour'" in _refused(cli, str(data), "--sensor-metadata", str(unknown))
    assert _readings(database) == []  # checked before anything was written

    meta = _write(
        tmp_path / "sensors.csv",
        """
sensor,machine,unit,description,operating_condition
temp,,degC,bearing temperature,false
vibration,press-2,mm/s,,true
speed,,rpm,spindle speed,true
""",
    )
    summary = _import(cli, str(data), "--sensor-metadata", str(meta))
    assert (summary["imported"], summary["sensors_described"]) == (3, 2)
    assert summary["metadata_unmatched"] == ["speed"]
    sensors = database.execute(
        "SELECT m.name, s.name, s.unit, s.description, s.operating_condition FROM sensors s"
        " JOIN machines m ON m.id = s.machine_id ORDER BY 1, 2"
    )
    assert sensors == [
        ("press-1", "temp", "degC", "bearing temperature", False),
        ("press-2", "vibration", "mm/s", None, True),
    ]
