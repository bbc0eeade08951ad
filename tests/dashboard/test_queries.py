"""The dashboard's SQL against a real database seeded with a small plant."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dashboard import queries
from dashboard.downsample import choose_bucket, hourly_view_applies, parse_range
from millwright.core.storage.database import Database
from tests.dashboard.plant import LATEST_RISK, MACHINES, Plant, write_week_of_minutes


def test_overview_has_every_machine_with_latest_risk_alerts_and_freshness(
    database: Database, plant: Plant
) -> None:
    frame = queries.plant_overview(database).set_index("name")
    assert sorted(frame.index) == sorted(m[0] for m in MACHINES)
    assert frame.loc["press-01", "line"] == "Line A"
    assert frame.loc["lathe-03", "status"] == "down"
    for name, (p_fail, rul_low) in LATEST_RISK.items():
        assert frame.loc[name, "p_fail"] == pytest.approx(p_fail)
        assert frame.loc[name, "rul_low"] == pytest.approx(rul_low)
        assert frame.loc[name, "model_version"] == "v2"
    assert frame["p_fail"].isna()["oven-06"]
    # the resolved alert on press-02 does not count
    assert frame["open_alerts"].to_dict() == {
        "lathe-03": 0, "mill-04": 0, "mill-05": 1, "oven-06": 0, "press-01": 1, "press-02": 0,
    }  # fmt: skip
    assert frame.loc["press-01", "critical_alerts"] == 1
    assert frame.loc["press-01", "last_reading_at"] == plant.now
    assert frame.loc["oven-06", "last_reading_at"] == plant.now - timedelta(days=1)


def test_trends_are_downsampled_in_the_database(database: Database, plant: Plant) -> None:
    machine = plant.machine_ids["press-01"]
    sensors = queries.machine_sensors(database, machine)
    assert list(sensors["name"]) == ["pressure", "temperature", "vibration"]
    assert list(sensors["unit"]) == ["", "°C", ""]
    start = plant.now - timedelta(hours=2)
    trends = queries.sensor_trends(
        database, machine, list(sensors["id"]), start, plant.now + timedelta(minutes=1),
        timedelta(minutes=30),
    )  # fmt: skip
    # 120 one-minute samples per sensor, 30-minute buckets aligned to the hour: 4 or 5 buckets
    per_sensor = trends.groupby("sensor")["n"].sum()
    assert per_sensor.to_dict() == {"pressure": 120, "temperature": 120, "vibration": 120}
    assert trends.groupby("sensor").size().max() <= 5
    assert (trends["min"] <= trends["avg"]).all() and (trends["avg"] <= trends["max"]).all()


def test_hourly_view_and_raw_table_agree(database: Database, plant: Plant) -> None:
    machine = plant.machine_ids["mill-05"]
    ids = list(queries.machine_sensors(database, machine)["id"])
    args = (machine, ids, plant.now - timedelta(hours=6), plant.now + timedelta(hours=1))
    raw = queries.sensor_trends(database, *args, timedelta(hours=2))
    hourly = queries.sensor_trends(database, *args, timedelta(hours=2), use_hourly_view=True)
    assert raw[["sensor", "bucket", "n"]].equals(hourly[["sensor", "bucket", "n"]])
    assert raw["avg"].to_numpy() == pytest.approx(hourly["avg"].to_numpy())
    assert raw["max"].to_numpy() == pytest.approx(hourly["max"].to_numpy())


def test_hourly_view_path_is_exact_for_a_range_off_the_hour(
    database: Database, plant: Plant
) -> None:
    """Partial hours at both ends come from the raw table: same counts, same extremes."""
    machine = plant.machine_ids["press-01"]
    ids = list(queries.machine_sensors(database, machine)["id"])
    start = plant.now - timedelta(hours=5, minutes=43)
    args = (machine, ids, start, plant.now - timedelta(minutes=17))
    raw = queries.sensor_trends(database, *args, timedelta(hours=1))
    hourly = queries.sensor_trends(database, *args, timedelta(hours=1), use_hourly_view=True)
    assert raw["n"].sum() > 0
    assert raw[["sensor", "bucket", "n"]].equals(hourly[["sensor", "bucket", "n"]])
    assert raw["avg"].to_numpy() == pytest.approx(hourly["avg"].to_numpy())
    assert raw["min"].to_numpy() == pytest.approx(hourly["min"].to_numpy())


def test_a_week_of_minutes_for_twenty_sensors_arrives_as_few_points(database: Database) -> None:
    from datetime import UTC, datetime

    now = datetime.now(UTC).replace(second=0, microsecond=0)
    assert write_week_of_minutes(database, "bench-01", 20, now, days=1) == 20 * 1440
    machine = queries.machine_by_name(database, "bench-01")
    assert machine is not None
    ids = list(queries.machine_sensors(database, int(machine["id"]))["id"])
    bucket = choose_bucket(timedelta(days=1))
    trends = queries.sensor_trends(
        database, int(machine["id"]), ids, now - timedelta(days=1), now + timedelta(minutes=1),
        bucket,
    )  # fmt: skip
    assert trends["n"].sum() == 20 * 1440
    assert len(trends) <= 20 * (400 + 1)


def test_risk_history_events_and_latest_features(database: Database, plant: Plant) -> None:
    machine = plant.machine_ids["press-01"]
    start, end = plant.now - timedelta(days=1), plant.now + timedelta(minutes=1)
    history = queries.risk_history(database, machine, start, end)
    assert len(history) == 25
    assert set(history["model_version"]) == {"v1", "v2"}
    latest = queries.latest_risk(database, machine)
    assert latest is not None and latest["p_fail"] == pytest.approx(0.85)
    assert latest["top_features"][0]["feature"] == "vibration__std_1h"
    events = queries.machine_events(database, machine, start, end)
    assert list(events["kind"]) == ["alert", "repair"]
    assert queries.latest_risk(database, plant.machine_ids["oven-06"]) is None


def test_schedule_marks_the_late_job_and_keeps_the_maintenance_reason(
    database: Database, plant: Plant
) -> None:
    current = queries.current_schedule(database)
    assert current is not None and current["id"] == plant.schedule_id
    bars = queries.schedule_assignments(database, plant.schedule_id)
    late = bars[bars["late"]]
    assert list(late["job"]) == ["J-101"]
    assert late["lateness_min"].iloc[0] == pytest.approx(60.0)
    maintenance = bars[bars["kind"] == "maintenance"].iloc[0]
    assert maintenance["machine"] == "press-01"
    assert maintenance["reason"]["risk"]["p_fail"] == pytest.approx(0.85)
    assert queries.pending_request(database) is None


def test_open_alerts_lists_unresolved_critical_first(database: Database, plant: Plant) -> None:
    frame = queries.open_alerts(database)
    assert list(frame["machine"]) == ["press-01", "mill-05"]
    assert list(frame["severity"]) == ["critical", "warning"]


def test_unknown_machine_is_none(database: Database) -> None:
    assert queries.machine_by_name(database, "nope") is None


@pytest.mark.parametrize(
    ("span", "expected_s"),
    [(timedelta(hours=6), 60), (timedelta(hours=24), 300), (timedelta(days=7), 1800),
     (timedelta(days=30), 7200), (timedelta(days=800), 86_400 * 2)],
)  # fmt: skip
def test_bucket_keeps_points_under_the_target(span: timedelta, expected_s: int) -> None:
    bucket = choose_bucket(span)
    assert bucket.total_seconds() == expected_s
    assert span / bucket <= 400


def test_bucket_and_range_edges() -> None:
    with pytest.raises(ValueError, match="positive"):
        choose_bucket(timedelta(0))
    assert parse_range("7d") == ("7d", timedelta(days=7))
    assert parse_range("'; DROP TABLE machines") == ("24h", timedelta(hours=24))
    assert hourly_view_applies(timedelta(hours=2)) and not hourly_view_applies(
        timedelta(minutes=30)
    )
