"""The TimescaleDB set-up as a plan of statements against catalogs built by hand.

TimescaleDB is not installed where these tests run; the planner is pure (catalog in,
statements out), so every statement the module would send is checked here exactly, and a
run against a real TimescaleDB covers the same code.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from millwright.core.storage.database import Database
from millwright.core.storage.timescale import (
    Catalog,
    Hypertable,
    Job,
    StepKind,
    TimescalePolicy,
    ViewKind,
    plan_timescale,
    read_catalog,
)

DAY = timedelta(days=1)
FRESH_SQL_229 = [
    "CREATE EXTENSION IF NOT EXISTS timescaledb",
    "SELECT create_hypertable('readings', by_range('ts', INTERVAL '1 day'), migrate_data => true)",
    "ALTER TABLE readings SET (timescaledb.enable_columnstore = true,"
    " timescaledb.segmentby = 'machine_id, sensor_id', timescaledb.orderby = 'ts DESC')",
    "SELECT create_hypertable('features', by_range('ts', INTERVAL '1 day'), migrate_data => true)",
    "ALTER TABLE features SET (timescaledb.enable_columnstore = true,"
    " timescaledb.segmentby = 'machine_id, version', timescaledb.orderby = 'ts DESC')",
    "SELECT create_hypertable('risk_scores', by_range('ts', INTERVAL '1 day'),"
    " migrate_data => true)",
    "ALTER TABLE risk_scores SET (timescaledb.enable_columnstore = true,"
    " timescaledb.segmentby = 'machine_id, model_version', timescaledb.orderby = 'ts DESC')",
    "CALL add_columnstore_policy('readings', after => INTERVAL '7 days')",
    "CALL add_columnstore_policy('features', after => INTERVAL '7 days')",
    "CALL add_columnstore_policy('risk_scores', after => INTERVAL '7 days')",
    "SELECT add_retention_policy('readings', drop_after => INTERVAL '365 days')",
    "CREATE MATERIALIZED VIEW readings_1h\n"
    "WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS\n"
    "SELECT time_bucket(INTERVAL '1 hour', ts) AS bucket,\n"
    "       machine_id, sensor_id,\n"
    "       avg(value) AS avg, min(value) AS min, max(value) AS max, count(*) AS n\n"
    "FROM readings\n"
    "GROUP BY bucket, machine_id, sensor_id\n"
    "WITH NO DATA",
    "CALL refresh_continuous_aggregate('readings_1h', NULL, NULL)",
    "SELECT add_continuous_aggregate_policy('readings_1h', start_offset => INTERVAL '3 days',"
    " end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '30 minutes')",
]


def _set_up(version: str = "2.29.2", policy: TimescalePolicy | None = None) -> Catalog:
    """The catalog of a database that `db upgrade` has fully set up for ``policy``."""
    policy = policy or TimescalePolicy()
    segments = {
        "readings": ("machine_id", "sensor_id"),
        "features": ("machine_id", "version"),
        "risk_scores": ("machine_id", "model_version"),
    }
    hypertables = {
        name: Hypertable(name, policy.chunk_interval, True, seg, '"ts" DESC')
        for name, seg in segments.items()
    }
    jobs = [
        Job(
            1000 + i,
            "policy_compression",
            name,
            timedelta(hours=12),
            {"hypertable_id": i + 1, "compress_after": f"{policy.compress_after_days} days"},
            {"compress_after": policy.compress_after},
        )
        for i, name in enumerate(segments)
    ]
    jobs.append(
        Job(
            1003,
            "policy_retention",
            "readings",
            DAY,
            {"hypertable_id": 1, "drop_after": f"{policy.retention_days} days"},
            {"drop_after": policy.retention},
        )
    )
    jobs.append(
        Job(
            1004,
            "policy_refresh_continuous_aggregate",
            "readings_1h",
            timedelta(minutes=30),
            {"mat_hypertable_id": 4, "start_offset": "3 days", "end_offset": "01:00:00"},
            {"start_offset": 3 * DAY, "end_offset": timedelta(hours=1)},
        )
    )
    return Catalog(
        available_version=version,
        installed_version=version,
        hypertables=hypertables,
        readings_1h=ViewKind.CAGG,
        materialized_only=False,
        jobs=tuple(jobs),
    )


def test_fresh_database_gets_everything_in_one_plan() -> None:
    catalog = Catalog(available_version="2.29.2", readings_1h=ViewKind.MISSING)
    plan = plan_timescale(catalog, TimescalePolicy())
    assert plan.timescale
    assert [s.sql for s in plan.steps] == FRESH_SQL_229
    assert all(s.kind is StepKind.SETUP for s in plan.steps)
    # only the aggregate's creation and its refresh run outside a transaction block
    outside = [s.sql.split("\n")[0] for s in plan.steps if not s.in_transaction]
    assert outside == [
        "CREATE MATERIALIZED VIEW readings_1h",
        "CALL refresh_continuous_aggregate('readings_1h', NULL, NULL)",
    ]


def test_second_run_is_a_no_op() -> None:
    plan = plan_timescale(_set_up(), TimescalePolicy())
    assert plan.steps == ()
    assert plan.notes == ()


def test_plain_database_gains_timescale_from_its_real_catalog(database: Database) -> None:
    """The session database is plain PostgreSQL with the plain readings_1h view; offer it the
    extension and the plan converts the tables in place and replaces the view."""
    with database.connection() as conn:
        catalog = read_catalog(conn)
    assert catalog.installed_version is None
    assert catalog.readings_1h is ViewKind.VIEW
    plan = plan_timescale(replace(catalog, available_version="2.29.2"), TimescalePolicy())
    sql = [s.sql for s in plan.steps]
    assert sql[0] == "CREATE EXTENSION IF NOT EXISTS timescaledb"
    assert sql[1] == "DROP VIEW readings_1h"
    assert sql[2:] == FRESH_SQL_229[1:]
    assert "migrate_data => true" in sql[2]


def test_plain_database_without_the_extension_needs_only_its_view(database: Database) -> None:
    with database.connection() as conn:
        catalog = read_catalog(conn)
    assert plan_timescale(catalog, TimescalePolicy()).steps == ()
    missing = plan_timescale(replace(catalog, readings_1h=ViewKind.MISSING), TimescalePolicy())
    assert not missing.timescale
    assert [s.why for s in missing.steps] == ["readings_1h plain view"]
    assert missing.steps[0].sql.startswith("CREATE OR REPLACE VIEW readings_1h AS")


def test_changed_settings_change_the_policies() -> None:
    before = _set_up()
    after = TimescalePolicy(chunk_interval_hours=6, compress_after_days=3, retention_days=30)
    plan = plan_timescale(before, after)
    assert all(s.kind is StepKind.TUNE for s in plan.steps)
    assert [s.sql for s in plan.steps] == [
        "SELECT set_chunk_time_interval('readings', INTERVAL '6 hours')",
        "SELECT set_chunk_time_interval('features', INTERVAL '6 hours')",
        "SELECT set_chunk_time_interval('risk_scores', INTERVAL '6 hours')",
        "CALL remove_columnstore_policy('readings', if_exists => true)",
        "CALL add_columnstore_policy('readings', after => INTERVAL '3 days')",
        "CALL remove_columnstore_policy('features', if_exists => true)",
        "CALL add_columnstore_policy('features', after => INTERVAL '3 days')",
        "CALL remove_columnstore_policy('risk_scores', if_exists => true)",
        "CALL add_columnstore_policy('risk_scores', after => INTERVAL '3 days')",
        # the retention job keeps its id: alter_job with the new drop_after in its config
        "SELECT alter_job(1003, config =>"
        ' \'{"drop_after": "30 days", "hypertable_id": 1}\'::jsonb)',
    ]
    # once applied, the same settings plan nothing
    assert plan_timescale(_set_up(policy=after), after).steps == ()


def test_refresh_policy_with_other_offsets_or_schedule_is_put_right() -> None:
    catalog = _set_up()
    jobs = list(catalog.jobs)
    jobs[-1] = replace(jobs[-1], schedule_interval=timedelta(hours=1))
    plan = plan_timescale(replace(catalog, jobs=tuple(jobs)), TimescalePolicy())
    assert [s.sql for s in plan.steps] == [
        "SELECT alter_job(1004, schedule_interval => INTERVAL '30 minutes')"
    ]
    jobs[-1] = replace(jobs[-1], intervals={"start_offset": DAY, "end_offset": DAY})
    plan = plan_timescale(replace(catalog, jobs=tuple(jobs)), TimescalePolicy())
    assert [s.sql for s in plan.steps] == [
        "SELECT remove_continuous_aggregate_policy('readings_1h', if_exists => true)",
        FRESH_SQL_229[-1],
    ]


def test_materialized_only_aggregate_becomes_real_time() -> None:
    catalog = replace(_set_up(), materialized_only=True)
    plan = plan_timescale(catalog, TimescalePolicy())
    assert [(s.sql, s.kind) for s in plan.steps] == [
        (
            "ALTER MATERIALIZED VIEW readings_1h SET (timescaledb.materialized_only = false)",
            StepKind.SETUP,
        )
    ]


def test_risk_scores_segment_by_model_version_too() -> None:
    catalog = _set_up()
    hypertables = dict(catalog.hypertables)
    hypertables["risk_scores"] = replace(hypertables["risk_scores"], segment_by=("machine_id",))
    plan = plan_timescale(replace(catalog, hypertables=hypertables), TimescalePolicy())
    assert [(s.sql, s.kind) for s in plan.steps] == [
        (
            "ALTER TABLE risk_scores SET (timescaledb.enable_columnstore = true,"
            " timescaledb.segmentby = 'machine_id, model_version',"
            " timescaledb.orderby = 'ts DESC')",
            StepKind.TUNE,
        )
    ]
    # before 2.18 the compressed chunks keep their settings: a note for people, no statement
    old = replace(_set_up("2.17.2"), hypertables=hypertables)
    plan = plan_timescale(old, TimescalePolicy())
    assert plan.steps == ()
    assert len(plan.notes) == 1 and "risk_scores" in plan.notes[0]


def test_servers_before_2_18_get_the_compression_api() -> None:
    catalog = Catalog(available_version="2.14.2", readings_1h=ViewKind.MISSING)
    sql = [s.sql for s in plan_timescale(catalog, TimescalePolicy()).steps]
    assert (
        "ALTER TABLE readings SET (timescaledb.compress,"
        " timescaledb.compress_segmentby = 'machine_id, sensor_id',"
        " timescaledb.compress_orderby = 'ts DESC')"
    ) in sql
    assert "SELECT add_compression_policy('readings', compress_after => INTERVAL '7 days')" in sql
    assert not any("columnstore" in s for s in sql)
    changed = plan_timescale(_set_up("2.14.2"), TimescalePolicy(compress_after_days=3))
    assert [s.sql for s in changed.steps][:2] == [
        "SELECT remove_compression_policy('readings', if_exists => true)",
        "SELECT add_compression_policy('readings', compress_after => INTERVAL '3 days')",
    ]


def test_a_table_named_readings_1h_is_refused() -> None:
    catalog = replace(_set_up(), readings_1h=ViewKind.OTHER)
    with pytest.raises(ValueError, match="readings_1h exists but is neither"):
        plan_timescale(catalog, TimescalePolicy())


def test_policy_values_are_validated() -> None:
    with pytest.raises(ValueError, match="compress_after_days"):
        TimescalePolicy(compress_after_days=0)


def test_order_by_as_the_server_spells_it_is_the_same_order() -> None:
    catalog = _set_up()
    hypertables = {
        name: replace(h, order_by='"ts" DESC NULLS FIRST')
        for name, h in catalog.hypertables.items()
    }
    assert plan_timescale(replace(catalog, hypertables=hypertables), TimescalePolicy()).steps == ()


def test_replay_refresh_covers_whole_hours() -> None:
    from datetime import UTC, datetime

    from millwright.core.storage.timescale import refresh_window

    lo, hi = refresh_window(
        datetime(2026, 1, 1, 3, 20, tzinfo=UTC), datetime(2026, 1, 1, 5, 59, tzinfo=UTC)
    )
    assert (lo, hi) == (datetime(2026, 1, 1, 3, tzinfo=UTC), datetime(2026, 1, 1, 6, tzinfo=UTC))
