"""One plant clock (wall or data) and time zone; the view in the URL; trends that do not
mislead (constant sensors hidden, bands broken at gaps); words instead of identifiers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from dashboard import figures
from dashboard.callbacks.machine import machine_view
from dashboard.callbacks.schedule import schedule_view
from dashboard.context import DashboardContext
from dashboard.view import parse_view
from dashboard.words import feature_label, fmt_duration, maintenance_cause, reason_words
from millwright.app.settings import Settings
from millwright.core.clock import PlantClock
from millwright.core.storage.database import Database
from tests.dashboard.conftest import SECRET
from tests.dashboard.plant import seed_plant

AHEAD = timedelta(days=3, hours=5)


@pytest.fixture
def data_clock_context(database_url: str, database: Database) -> DashboardContext:
    settings = Settings(
        database_url=database_url,
        dashboard={"secret_key": SECRET},  # type: ignore[arg-type]
        worker={"clock": "data"},  # type: ignore[arg-type]
        plant_timezone="Europe/Berlin",
    )
    return DashboardContext.build(settings, database)


def test_a_data_clock_plant_days_ahead_shows_its_live_series(
    data_clock_context: DashboardContext, database: Database
) -> None:
    plant = seed_plant(database, datetime.now(UTC) + AHEAD)
    clock = data_clock_context.clock
    assert clock.now() == plant.now  # the newest reading, not the wall clock
    view = machine_view(data_clock_context, "press-01", "", None, clock.now())
    assert view is not None
    risk = [t for t in view.risk.data if t.name == "model v2"]
    assert len(risk[0].x) == 12  # model v2: the last 12 hourly scores, up to the plant now
    trends = view.trends["data"]
    averages = [t for t in trends if "x0" in t]
    assert len(averages) == 3 and all(sum(v is not None for v in t["y"]) >= 24 for t in averages)
    # Times are the plant's wall time in Berlin (CET in December: UTC+1).
    local = pd.Timestamp(plant.now).tz_convert("Europe/Berlin").strftime("%Y-%m-%d %H:%M")
    assert risk[0].x[-1].startswith(local)
    assert "0 s ago" in " ".join(str(c) for c in view.header)
    _, _, gantt, _, _ = schedule_view(data_clock_context, clock.now())
    now_line = next(s for s in gantt.layout.shapes if s.line.dash == "dash")
    assert now_line.x0.startswith(local)  # the "now" line is the plant's now, on the plan
    assert "CET" in view.score


def test_clock_modes_and_zones(database: Database) -> None:
    wall = PlantClock("wall", "America/Chicago")
    assert abs((wall.now() - datetime.now(UTC)).total_seconds()) < 5
    ts = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    assert wall.label(ts) == "01 Jul 07:00 CDT"
    empty = PlantClock("data", "UTC", database)
    assert abs((empty.now() - datetime.now(UTC)).total_seconds()) < 5  # no readings yet
    with pytest.raises(ValueError, match="IANA"):
        PlantClock("wall", "Mars/Olympus")
    with pytest.raises(ValueError, match="database"):
        PlantClock("data", "UTC")


def test_the_view_round_trips_through_the_url() -> None:
    view = parse_view("?from=2026-03-02 06:00&to=2026-03-02T18:00&refresh=0&kiosk=1&rotate=15"
                      "&theme=hp&sort=risk&line=Line+A")  # fmt: skip
    assert (view.start_local, view.end_local) == ("2026-03-02T06:00", "2026-03-02T18:00")
    assert (view.refresh_s, view.kiosk, view.rotate_s, view.theme, view.sort, view.line) == (
        0, True, 15, "hp", "risk", "Line A",
    )  # fmt: skip
    assert parse_view(view.query()) == view
    window = view.time_range(datetime.now(UTC), PlantClock("wall", "Europe/Berlin").tz,
                             slack=timedelta(0))  # fmt: skip
    assert window.start == datetime(2026, 3, 2, 5, 0, tzinfo=UTC) and not window.live
    assert parse_view("?range=7d&refresh=banana&theme=neon").query() == "?range=7d"


def test_constant_sensors_are_hidden_and_bands_break_at_gaps() -> None:
    times = pd.date_range("2026-01-01", periods=10, freq="1min", tz="UTC")
    live = pd.DataFrame({"sensor": "temp", "unit": "°C", "bucket": times,
                         "avg": np.arange(10.0), "n": 1})  # fmt: skip
    live = live.assign(min=live["avg"] - 1, max=live["avg"] + 1).drop(index=[4, 5])
    flat = pd.DataFrame({"sensor": "setpoint", "unit": "", "bucket": times, "avg": 5.0,
                         "min": 5.0, "max": 5.0, "n": 1})  # fmt: skip
    trends = pd.concat([live, flat])
    assert figures.constant_sensors(trends) == ["setpoint"]
    figure = figures.trends_figure(live, None, timedelta(minutes=1))
    band = figure["data"][0]
    assert band["fill"] == "toself"
    # Two polygons (buckets 0-3 and 6-9) separated by a break, not one bridging the gap.
    assert band["x"].count(None) == 2 and len(band["x"]) == 2 * 4 * 2 + 2
    assert figure["layout"]["yaxis"]["title"]["text"] == "°C"


def test_words_replace_identifiers() -> None:
    assert feature_label("ps30_hpc_outlet_static_pressure__max_6h") == (
        "ps30 hpc outlet static pressure · max over 6 h"
    )
    assert feature_label("operating_hours_since_repair") == "Operating hours since repair"
    assert feature_label("dev_rms_6h") == "Deviation from healthy, all sensors, over 6 h"
    assert feature_label("dev_rms_rate_6h").startswith("Deviation from healthy per hour")
    text = reason_words({"text": "maintenance: rul_low=5577 hazard=1.19e-05"})
    assert "5577" not in text and "hazard" not in text
    assert fmt_duration(timedelta(hours=3, minutes=20)) == "3 h 20 min"
    assert fmt_duration(timedelta(days=2, hours=4)) == "2 d 4 h"


def test_maintenance_bars_say_why_they_are_there() -> None:
    risk = {"machine": "m-3", "p_fail": 0.82, "rul_low_hours": 9.0}
    assert maintenance_cause({"risk": risk}) == "Risk: life ≤ 9 h"
    assert maintenance_cause({"risk": {"p_fail": 0.82}}) == "Risk: 82% failure"
    under_way = {"text": "maintenance under way since 10:00", "risk": None, "under_way": True}
    assert maintenance_cause(under_way) == "Maintenance under way"
    assert maintenance_cause({"text": "calendar", "risk": None}) == "Planned maintenance"
