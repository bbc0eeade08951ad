"""`millwright import events`: a CMMS work-order log into events and downtime windows, with
exact rows in the database, the rejects checked row by row and an idempotent re-import."""

from __future__ import annotations

import csv
from pathlib import Path

from typer.testing import CliRunner

from millwright.app.cli import app
from millwright.core.storage.database import Database
from tests.ingest.conftest import import_summary

LOG = """
ts,machine,kind,end,component,work_order,note
2026-01-05T06:00:00Z,press-1,failure,,hydraulic pump,WO-1,pressure lost
2026-01-05T09:30:00Z,press-1,repair,,hydraulic pump,WO-2,pump replaced
2026-01-06T08:00:00Z,press-1,maintenance,2026-01-06T10:00:00Z,,WO-3,planned service
2026-01-07T08:00:00Z,press-2,inspection,,,WO-4,
2026-01-07T12:00:00Z,press-2,downtime_start,,,WO-5,line stop
2026-01-07T16:00:00Z,press-2,downtime_end,,,WO-6,
2026-01-08T00:00:00Z,press-2,downtime_start,2026-01-08T06:00:00Z,,WO-7,night shift off
2026-01-09T00:00:00Z,press-3,failure,,spindle,WO-8,
2026-01-09T01:00:00Z,press-3,explosion,,,WO-9,
2026-01-09T05:00:00Z,press-3,maintenance,2026-01-09T04:00:00Z,,WO-10,
not-a-time,press-3,repair,,,WO-11,
2026-01-10T00:00:00Z,press-3,downtime_end,,,WO-12,
"""


def _import(cli: CliRunner, *args: str) -> dict:
    return import_summary(cli, "events", *args)


def _events(database: Database) -> list[tuple]:
    return database.execute(
        "SELECT m.name, e.kind, to_char(e.ts AT TIME ZONE 'UTC', 'MM-DD HH24:MI'),"
        " to_char(e.ends_at AT TIME ZONE 'UTC', 'MM-DD HH24:MI'), e.work_order,"
        " e.details->>'component' FROM events e JOIN machines m ON m.id = e.machine_id"
        " ORDER BY e.ts, m.name"
    )


def test_a_work_order_log_becomes_events_and_calendar_gaps(
    cli: CliRunner, database: Database, tmp_path: Path
) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(LOG.lstrip())
    rejects = tmp_path / "rejects.csv"
    summary = _import(cli, str(path), "--rejects", str(rejects))
    assert summary["rows_read"] == 12
    assert (summary["imported"], summary["rejected"], summary["downtimes"]) == (7, 4, 2)
    assert summary["open_failures"] == ["row 8: press-3 at 2026-01-09T00:00:00+00:00"]
    assert _events(database) == [
        ("press-1", "failure", "01-05 06:00", None, "WO-1", "hydraulic pump"),
        ("press-1", "repair", "01-05 09:30", None, "WO-2", "hydraulic pump"),
        ("press-1", "maintenance", "01-06 08:00", "01-06 10:00", "WO-3", None),
        ("press-2", "inspection", "01-07 08:00", None, "WO-4", None),
        ("press-2", "downtime", "01-07 12:00", "01-07 16:00", "WO-5", None),
        ("press-2", "downtime", "01-08 00:00", "01-08 06:00", "WO-7", None),
        ("press-3", "failure", "01-09 00:00", None, "WO-8", "spindle"),
    ]
    # the spans the scheduler reads as calendar gaps
    assert database.execute(
        "SELECT m.name, to_char(d.start_at AT TIME ZONE 'UTC', 'MM-DD HH24:MI'),"
        " to_char(d.end_at AT TIME ZONE 'UTC', 'MM-DD HH24:MI'), d.reason"
        " FROM machine_downtime d JOIN machines m ON m.id = d.machine_id ORDER BY d.start_at"
    ) == [("press-2", "01-07 12:00", "01-07 16:00", "line stop"),
          ("press-2", "01-08 00:00", "01-08 06:00", "night shift off")]  # fmt: skip
    with rejects.open() as handle:
        rows = sorted((int(r["row"]), r["reason"]) for r in csv.DictReader(handle))
    assert rows == [
        (9, "kind 'explosion' is not one of failure, repair, maintenance, inspection,"
            " downtime_start, downtime_end"),
        (10, "end 2026-01-09T04:00:00+00:00 is before ts 2026-01-09T05:00:00+00:00"),
        (11, "timestamp 'not-a-time' is not a date and time (ISO 8601, or give --ts-format)"),
        (12, "downtime_end without an earlier downtime_start on this machine"),
    ]  # fmt: skip

    again = _import(cli, str(path), "--rejects", str(rejects))
    assert (again["imported"], again["unchanged"]) == (0, 7)
    closed = _import(cli, str(path), "--repair-after", "8", "--rejects", str(rejects))
    assert (closed["imported"], closed["closed_by_repair_after"], closed["open_failures"]) == (
        1, 1, [],
    )  # fmt: skip
    assert _events(database)[-1] == ("press-3", "repair", "01-09 08:00", None, "WO-8:repair",
                                     "spindle")  # fmt: skip
    assert _import(cli, str(path), "--rejects", str(rejects))["open_failures"] == []
    assert database.execute("SELECT count(*) FROM events") == [(8,)]


def test_bad_event_files_are_refused(cli: CliRunner, tmp_path: Path) -> None:
    extra = tmp_path / "extra.csv"
    extra.write_text("ts,machine,kind,priority\n2026-01-05T06:00:00Z,M,failure,high\n")
    result = cli.invoke(app, ["import", "events", str(extra)])
    assert result.exit_code == 2
    assert "unknown column 'priority'; expected only ts, machine, kind" in result.stderr
    missing = tmp_path / "missing.csv"
    missing.write_text("ts,machine\n2026-01-05T06:00:00Z,M\n")
    result = cli.invoke(app, ["import", "events", str(missing)])
    assert result.exit_code == 2 and "missing column 'kind'" in result.stderr
