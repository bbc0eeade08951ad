"""`millwright report outcomes`: CSV with the figures, and a self-contained HTML report that
renders in Chromium with the network off."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from typer.testing import CliRunner

from millwright.app.cli import app
from millwright.core.storage import Database
from sim.records import Event, EventKind
from tests.dashboard.browser import chromium

T0 = datetime(2026, 5, 1, tzinfo=UTC)
OFFLINE = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"


def _seed(database: Database, t0: datetime = T0) -> None:
    from sim.db_sinks import DatabaseEventSink

    sink = DatabaseEventSink(database)
    sink.register_machines([("m-001", "line-1"), ("m-002", "line-2")])
    events = []
    for i, (machine, hours) in enumerate(
        [("m-001", 30), ("m-002", 80), ("m-001", 150), ("m-002", 200)]
    ):
        t = t0 + timedelta(hours=hours)
        line = "line-1" if machine == "m-001" else "line-2"
        events += [
            Event(t, line, machine, EventKind.FAILURE, None, {}),
            Event(t, line, machine, EventKind.REPAIR, t + timedelta(hours=10 + i), {}),
        ]
    t = t0 + timedelta(hours=110)
    events.append(
        Event(
            t,
            "line-2",
            "m-002",
            EventKind.MAINTENANCE,
            t + timedelta(hours=6),
            {"finding": "found wear"},
        )
    )
    sink.write_events(events)
    database.execute(
        "INSERT INTO alerts (machine_id, rule, severity, state, opened_at)"
        " SELECT id, 'risk', 'warning', 'resolved', %s FROM machines WHERE name = 'm-001'",
        (t0 + timedelta(hours=20),),
    )


def _report(database_url: str, monkeypatch: pytest.MonkeyPatch, *args: str) -> str:
    monkeypatch.setenv("MILLWRIGHT_DATABASE_URL", database_url)
    result = CliRunner().invoke(
        app,
        ["report", "outcomes", "--from", "2026-05-01", "--to", "2026-05-11", *args],
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_csv_has_the_figures(
    database: Database, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _seed(database)
    rows = list(csv.DictReader(io.StringIO(_report(database_url, monkeypatch, "--format", "csv"))))
    values = {r["figure"]: r["value"] for r in rows if r["group"] == "plant"}
    assert values["failures"] == "4"
    assert float(values["unplanned_downtime_hours"]) == 10 + 11 + 12 + 13
    assert float(values["planned_downtime_hours"]) == 6
    assert float(values["recall"]) == 0.25  # only m-001's first failure was alerted
    assert float(values["false_alarm_rate"]) == 0.0
    assert float(values["cost_repairs"]) == 4 * 6000
    assert "counterfactual_reactive_low" in values


@pytest.mark.browser
def test_html_report_renders_offline(
    database: Database, database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _seed(database)
    target = tmp_path / "outcomes.html"
    _report(database_url, monkeypatch, "--format", "html", "--output", str(target))
    page = target.read_text()
    assert not re.findall(r'(?:src|href)\s*=\s*["\']', page), "nothing is fetched"
    assert "<script" not in page
    with chromium(extra_flags=(OFFLINE,)) as driver:
        driver.get(target.as_uri())
        body = driver.find_element(By.TAG_NAME, "body").text
        assert "Millwright outcomes" in body
        assert "missed" in body  # m-002's failure had no alert
        assert "reactive (run to failure)" in body
        assert len(driver.find_elements(By.CSS_SELECTOR, "svg rect")) >= 10
