"""Everything TimescaleDB-specific, in one place, written as TimescaleDB 2.x documents it.

The set-up is a migration step: ``millwright db upgrade`` runs it under the migrations'
advisory lock; services only check that nothing is pending. It is split into a pure planner
and a small executor so that the exact statements can be tested without the extension:

    read_catalog(conn)            what the server has: extension, hypertables, settings, jobs
    plan_timescale(catalog, ...)  catalog state in, ordered statements out (pure)
    apply_plan(conn, plan)        runs them, transaction or autocommit as each one needs

With the extension, ``readings``, ``features`` and ``risk_scores`` become hypertables with
columnstore (compression) and the policies the settings ask for, and ``readings_1h`` is a
real-time continuous aggregate. Without it the tables stay ordinary tables and
``readings_1h`` is a plain view over ``date_bin``, so readers never need to know which server
they talk to. A plain database gains TimescaleDB through ``db upgrade`` as soon as the
extension is available: the tables are converted with ``migrate_data`` and the plain view
is replaced by the continuous aggregate.

Every statement below is named after the documentation page it follows (TimescaleDB API
reference, https://docs.tigerdata.com/api/latest/ ...):

- hypertable/create_hypertable (``by_range``, ``migrate_data``)
- hypertable/set_chunk_time_interval
- hypercore/alter_table (``timescaledb.enable_columnstore``, ``segmentby``, ``orderby``; 2.18+)
- compression/alter_table_compression (``timescaledb.compress``, ``compress_segmentby``,
  ``compress_orderby``; before 2.18)
- hypercore/add_columnstore_policy, hypercore/remove_columnstore_policy (2.18+)
- compression/add_compression_policy, compression/remove_compression_policy (before 2.18)
- data-retention/add_retention_policy
- jobs-automation/alter_job
- continuous-aggregates/create_materialized_view, continuous-aggregates/alter_materialized_view
  (``timescaledb.materialized_only = false``: real-time aggregation)
- continuous-aggregates/refresh_continuous_aggregate
- continuous-aggregates/add_continuous_aggregate_policy,
  continuous-aggregates/remove_continuous_aggregate_policy
- informational-views/jobs, informational-views/job_stats, informational-views/hypertables,
  informational-views/dimensions, informational-views/continuous_aggregates,
  hypercore/hypertable_columnstore_settings (``hypertable_compression_settings`` before 2.18)
"""

from __future__ import annotations

import enum
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql

from millwright.core.storage.errors import MigrationError

if TYPE_CHECKING:
    from millwright.core.settings import StorageConfig
    from millwright.core.storage.database import Database

log = logging.getLogger(__name__)

EXTENSION = "timescaledb"
COLUMNSTORE_SINCE = (2, 18)  # hypercore API: add_columnstore_policy, enable_columnstore
CAGG = "readings_1h"


@dataclass(frozen=True)
class HypertableSpec:
    """How one time-series table is laid out on TimescaleDB."""

    table: str
    time_column: str
    segment_by: tuple[str, ...]
    order_by: str


# risk_scores segments by (machine_id, model_version): both are in its unique index with ts,
# which is what TimescaleDB asks of a columnstore's segment-by and order-by columns.
HYPERTABLES: tuple[HypertableSpec, ...] = (
    HypertableSpec("readings", "ts", ("machine_id", "sensor_id"), "ts DESC"),
    HypertableSpec("features", "ts", ("machine_id", "version"), "ts DESC"),
    HypertableSpec("risk_scores", "ts", ("machine_id", "model_version"), "ts DESC"),
)
RETENTION_TABLE = "readings"

# the refresh policy keeps the last 3 days materialised; real-time aggregation covers the
# rest of the newest data, and an explicit refresh covers replays older than this window
CAGG_START_OFFSET = timedelta(days=3)
CAGG_END_OFFSET = timedelta(hours=1)
CAGG_SCHEDULE = timedelta(minutes=30)

_CAGG_SELECT = """SELECT time_bucket(INTERVAL '1 hour', ts) AS bucket,
       machine_id, sensor_id,
       avg(value) AS avg, min(value) AS min, max(value) AS max, count(*) AS n
FROM readings
GROUP BY bucket, machine_id, sensor_id"""

# continuous-aggregates/create_materialized_view: WITH NO DATA, filled by an explicit refresh
_CAGG_SQL = (
    "CREATE MATERIALIZED VIEW readings_1h\n"
    "WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS\n"
    f"{_CAGG_SELECT}\n"
    "WITH NO DATA"
)

_PLAIN_VIEW_SQL = """CREATE OR REPLACE VIEW readings_1h AS
SELECT date_bin(INTERVAL '1 hour', ts, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS bucket,
       machine_id, sensor_id,
       avg(value) AS avg, min(value) AS min, max(value) AS max, count(*) AS n
FROM readings
GROUP BY bucket, machine_id, sensor_id"""


@dataclass(frozen=True)
class TimescalePolicy:
    """The settings the TimescaleDB set-up follows."""

    chunk_interval_hours: int = 24
    compress_after_days: int = 7
    retention_days: int = 365

    def __post_init__(self) -> None:
        for name in ("chunk_interval_hours", "compress_after_days", "retention_days"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a whole number of at least 1, not {value!r}.")

    @classmethod
    def from_settings(cls, settings: StorageConfig) -> TimescalePolicy:
        return cls(
            chunk_interval_hours=settings.chunk_interval_hours,
            compress_after_days=settings.compress_after_days,
            retention_days=settings.retention_days,
        )

    @property
    def chunk_interval(self) -> timedelta:
        return timedelta(hours=self.chunk_interval_hours)

    @property
    def compress_after(self) -> timedelta:
        return timedelta(days=self.compress_after_days)

    @property
    def retention(self) -> timedelta:
        return timedelta(days=self.retention_days)


# --- the catalog: what the server has ---------------------------------------------------------


class ViewKind(enum.StrEnum):
    MISSING = "missing"
    VIEW = "view"  # the plain PostgreSQL view
    CAGG = "continuous aggregate"
    OTHER = "other"  # a table or materialized view of that name: refuse to touch it


@dataclass(frozen=True)
class Hypertable:
    name: str
    chunk_interval: timedelta | None
    columnstore: bool
    segment_by: tuple[str, ...] = ()
    order_by: str = ""


@dataclass(frozen=True)
class Job:
    """One policy job, its arguments read out of ``config`` as intervals."""

    job_id: int
    proc_name: str
    relation: str
    schedule_interval: timedelta
    config: Mapping[str, Any]
    intervals: Mapping[str, timedelta] = field(default_factory=dict)
    next_start: datetime | None = None


@dataclass(frozen=True)
class Catalog:
    """What :func:`read_catalog` found; tests build these by hand."""

    available_version: str | None = None
    installed_version: str | None = None
    hypertables: Mapping[str, Hypertable] = field(default_factory=dict)
    readings_1h: ViewKind = ViewKind.MISSING
    materialized_only: bool | None = None
    jobs: tuple[Job, ...] = ()

    def job(self, proc_name: str, relation: str) -> list[Job]:
        return [j for j in self.jobs if j.proc_name == proc_name and j.relation == relation]


def version_tuple(version: str | None) -> tuple[int, ...]:
    if not version:
        return ()
    parts = []
    for piece in version.split("-")[0].split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def columnstore_api(version: str | None) -> bool:
    """Whether the server speaks the hypercore (columnstore) API of 2.18 and later."""
    return version_tuple(version) >= COLUMNSTORE_SINCE


# --- the plan: catalog in, statements out -----------------------------------------------------


class StepKind(enum.StrEnum):
    SETUP = "setup"  # the schema is behind without it: services refuse to start
    TUNE = "tune"  # a policy differs from the settings: services warn


@dataclass(frozen=True)
class Step:
    sql: str
    kind: StepKind
    why: str
    in_transaction: bool = True  # False: must run outside a transaction block


@dataclass(frozen=True)
class Plan:
    timescale: bool  # whether the database is on TimescaleDB once the plan has run
    steps: tuple[Step, ...] = ()
    notes: tuple[str, ...] = ()  # differences the plan cannot fix, for people

    @property
    def setup_pending(self) -> list[Step]:
        return [s for s in self.steps if s.kind is StepKind.SETUP]

    @property
    def tuning_pending(self) -> list[Step]:
        return [s for s in self.steps if s.kind is StepKind.TUNE]


def _interval(delta: timedelta) -> str:
    """An interval literal from a whole number of days, hours or minutes (never user text)."""
    seconds = int(delta.total_seconds())
    for unit, size in (("day", 86_400), ("hour", 3600), ("minute", 60), ("second", 1)):
        if seconds % size == 0:
            count = seconds // size
            return f"INTERVAL '{count} {unit}{'' if count == 1 else 's'}'"
    raise AssertionError("unreachable")


def _interval_text(delta: timedelta) -> str:
    return _interval(delta).removeprefix("INTERVAL '").removesuffix("'")


def _normal_columns(text: str | None) -> tuple[str, ...]:
    if not text:
        return ()
    return tuple(part.strip().strip('"').lower() for part in text.split(",") if part.strip())


def _normal_order(text: str | None) -> str:
    """``"ts" DESC NULLS FIRST`` and ``ts DESC`` are the same order (the defaults dropped)."""
    if not text:
        return ""
    parts = []
    for item in text.split(","):
        words = [w.lower() for w in item.replace('"', "").split()]
        if not words:
            continue
        desc = "desc" in words[1:2]
        rest = words[2:] if len(words) > 1 and words[1] in {"asc", "desc"} else words[1:]
        if rest == (["nulls", "first"] if desc else ["nulls", "last"]):
            rest = []
        parts.append(" ".join([words[0], *(["desc"] if desc else []), *rest]))
    return ", ".join(parts)


def _columnstore_sql(spec: HypertableSpec, new_api: bool) -> str:
    segment = ", ".join(spec.segment_by)
    if new_api:  # hypercore/alter_table
        return (
            f"ALTER TABLE {spec.table} SET (timescaledb.enable_columnstore = true,"
            f" timescaledb.segmentby = '{segment}', timescaledb.orderby = '{spec.order_by}')"
        )
    # compression/alter_table_compression
    return (
        f"ALTER TABLE {spec.table} SET (timescaledb.compress,"
        f" timescaledb.compress_segmentby = '{segment}',"
        f" timescaledb.compress_orderby = '{spec.order_by}')"
    )


def _add_columnstore_policy(table: str, after: timedelta, new_api: bool) -> str:
    if new_api:  # hypercore/add_columnstore_policy (a procedure)
        return f"CALL add_columnstore_policy('{table}', after => {_interval(after)})"
    return f"SELECT add_compression_policy('{table}', compress_after => {_interval(after)})"


def _remove_columnstore_policy(table: str, new_api: bool) -> str:
    if new_api:  # hypercore/remove_columnstore_policy
        return f"CALL remove_columnstore_policy('{table}', if_exists => true)"
    return f"SELECT remove_compression_policy('{table}', if_exists => true)"


def hypertable_statements(
    spec: HypertableSpec, chunk_interval: timedelta, version: str | None
) -> list[str]:
    """Convert one table and enable its columnstore (also used for the ingest bench table)."""
    return [
        # hypertable/create_hypertable: the generalised API with by_range (2.13+)
        f"SELECT create_hypertable('{spec.table}', by_range('{spec.time_column}',"
        f" {_interval(chunk_interval)}), migrate_data => true)",
        _columnstore_sql(spec, columnstore_api(version)),
    ]


def plan_timescale(catalog: Catalog, policy: TimescalePolicy) -> Plan:
    """The ordered statements that bring the database to ``policy``; empty when it is there.

    Pure: the catalog is read elsewhere, nothing is executed here.
    """
    version = catalog.installed_version
    steps: list[Step] = []
    notes: list[str] = []
    if version is None and catalog.available_version is not None:
        steps.append(
            Step(
                f"CREATE EXTENSION IF NOT EXISTS {EXTENSION}", StepKind.SETUP, "enable TimescaleDB"
            )
        )
        version = catalog.available_version
        catalog = replace(catalog, hypertables={}, jobs=())
    if version is None:
        return _plan_plain(catalog)
    new_api = columnstore_api(version)

    if catalog.readings_1h is ViewKind.OTHER:
        raise ValueError(
            f"{CAGG} exists but is neither a view nor a continuous aggregate; drop it, then"
            " run `millwright db upgrade` again."
        )
    if catalog.readings_1h is ViewKind.VIEW:
        steps.append(
            Step(f"DROP VIEW {CAGG}", StepKind.SETUP, "the plain view makes way for the aggregate")
        )

    for spec in HYPERTABLES:
        found = catalog.hypertables.get(spec.table)
        if found is None:
            for sql in hypertable_statements(spec, policy.chunk_interval, version):
                steps.append(Step(sql, StepKind.SETUP, f"{spec.table} becomes a hypertable"))
            continue
        if found.chunk_interval != policy.chunk_interval:
            steps.append(
                Step(  # hypertable/set_chunk_time_interval: applies to chunks created from now
                    f"SELECT set_chunk_time_interval('{spec.table}',"
                    f" {_interval(policy.chunk_interval)})",
                    StepKind.TUNE,
                    f"{spec.table} chunk interval {found.chunk_interval} ->"
                    f" {policy.chunk_interval}",
                )
            )
        same_layout = _normal_columns(
            ",".join(found.segment_by)
        ) == spec.segment_by and _normal_order(found.order_by) == _normal_order(spec.order_by)
        if not found.columnstore:
            steps.append(
                Step(_columnstore_sql(spec, new_api), StepKind.SETUP, f"{spec.table} columnstore")
            )
        elif not same_layout:
            if new_api:  # 2.18+: new settings apply to chunks not yet in the columnstore
                steps.append(
                    Step(
                        _columnstore_sql(spec, new_api),
                        StepKind.TUNE,
                        f"{spec.table} segment by {', '.join(spec.segment_by)}",
                    )
                )
            else:
                notes.append(
                    f"{spec.table} is compressed with segment-by {found.segment_by or '()'};"
                    f" TimescaleDB {version} cannot change it while chunks are compressed"
                    f" (2.18+ can), so it stays until an upgrade of the extension."
                )

    for spec in HYPERTABLES:
        steps.extend(_columnstore_policy_steps(catalog, spec.table, policy.compress_after, new_api))

    steps.extend(_retention_steps(catalog, policy.retention))

    if catalog.readings_1h is not ViewKind.CAGG:
        steps.append(Step(_CAGG_SQL, StepKind.SETUP, f"{CAGG} continuous aggregate", False))
        steps.append(
            Step(  # continuous-aggregates/refresh_continuous_aggregate: NULL = the whole range
                f"CALL refresh_continuous_aggregate('{CAGG}', NULL, NULL)",
                StepKind.SETUP,
                f"materialise {CAGG} over the existing readings",
                False,
            )
        )
    elif catalog.materialized_only is not False:
        steps.append(
            Step(  # continuous-aggregates/alter_materialized_view
                f"ALTER MATERIALIZED VIEW {CAGG} SET (timescaledb.materialized_only = false)",
                StepKind.SETUP,
                f"{CAGG} becomes real-time",
            )
        )
    steps.extend(_refresh_policy_steps(catalog))
    return Plan(timescale=True, steps=tuple(steps), notes=tuple(notes))


def _plan_plain(catalog: Catalog) -> Plan:
    if catalog.readings_1h is ViewKind.MISSING:
        return Plan(False, (Step(_PLAIN_VIEW_SQL, StepKind.SETUP, f"{CAGG} plain view"),))
    if catalog.readings_1h is ViewKind.CAGG:
        raise ValueError(
            f"{CAGG} is a continuous aggregate but the {EXTENSION} extension is not installed."
        )
    return Plan(False)


def _columnstore_policy_steps(
    catalog: Catalog, table: str, after: timedelta, new_api: bool
) -> list[Step]:
    jobs = catalog.job("policy_compression", table)
    add = _add_columnstore_policy(table, after, new_api)
    if not jobs:
        return [Step(add, StepKind.SETUP, f"{table} columnstore policy after {after.days} days")]
    current = jobs[0].intervals.get("compress_after")
    if len(jobs) == 1 and current == after:
        return []
    # hypertables/create_table: "to change after ... you must remove the columnstore policy
    # and add a new one" (alter_job changes the schedule only)
    why = f"{table} columnstore policy {current} -> {after}"
    return [
        Step(_remove_columnstore_policy(table, new_api), StepKind.TUNE, why),
        Step(add, StepKind.TUNE, why),
    ]


def _retention_steps(catalog: Catalog, drop_after: timedelta) -> list[Step]:
    jobs = catalog.job("policy_retention", RETENTION_TABLE)
    if not jobs:
        return [
            Step(  # data-retention/add_retention_policy
                f"SELECT add_retention_policy('{RETENTION_TABLE}',"
                f" drop_after => {_interval(drop_after)})",
                StepKind.SETUP,
                f"{RETENTION_TABLE} retention {drop_after.days} days",
            )
        ]
    job = jobs[0]
    current = job.intervals.get("drop_after")
    if current == drop_after:
        return []
    # jobs-automation/alter_job: the same job (and id) with the new drop_after in its config
    config = dict(job.config)
    config["drop_after"] = _interval_text(drop_after)
    literal = json.dumps(config, sort_keys=True).replace("'", "''")
    return [
        Step(
            f"SELECT alter_job({int(job.job_id)}, config => '{literal}'::jsonb)",
            StepKind.TUNE,
            f"{RETENTION_TABLE} retention {current} -> {drop_after}",
        )
    ]


def _add_refresh_policy() -> str:
    # continuous-aggregates/add_continuous_aggregate_policy
    return (
        f"SELECT add_continuous_aggregate_policy('{CAGG}',"
        f" start_offset => {_interval(CAGG_START_OFFSET)},"
        f" end_offset => {_interval(CAGG_END_OFFSET)},"
        f" schedule_interval => {_interval(CAGG_SCHEDULE)})"
    )


def _refresh_policy_steps(catalog: Catalog) -> list[Step]:
    jobs = catalog.job("policy_refresh_continuous_aggregate", CAGG)
    if catalog.readings_1h is not ViewKind.CAGG or not jobs:
        return [Step(_add_refresh_policy(), StepKind.SETUP, f"{CAGG} refresh policy")]
    job = jobs[0]
    offsets = (job.intervals.get("start_offset"), job.intervals.get("end_offset"))
    if offsets != (CAGG_START_OFFSET, CAGG_END_OFFSET) or len(jobs) > 1:
        why = f"{CAGG} refresh window {offsets} -> {(CAGG_START_OFFSET, CAGG_END_OFFSET)}"
        return [
            Step(  # continuous-aggregates/remove_continuous_aggregate_policy
                f"SELECT remove_continuous_aggregate_policy('{CAGG}', if_exists => true)",
                StepKind.TUNE,
                why,
            ),
            Step(_add_refresh_policy(), StepKind.TUNE, why),
        ]
    if job.schedule_interval != CAGG_SCHEDULE:
        return [
            Step(  # jobs-automation/alter_job
                f"SELECT alter_job({int(job.job_id)},"
                f" schedule_interval => {_interval(CAGG_SCHEDULE)})",
                StepKind.TUNE,
                f"{CAGG} refresh every {CAGG_SCHEDULE}",
            )
        ]
    return []


# --- reading the catalog ----------------------------------------------------------------------

_JOBS_SQL = """
SELECT j.job_id, j.proc_name, coalesce(c.view_name, j.hypertable_name) AS relation,
       j.schedule_interval, j.config, j.next_start,
       CASE WHEN jsonb_typeof(j.config->'compress_after') = 'string'
            THEN (j.config->>'compress_after')::interval END,
       CASE WHEN jsonb_typeof(j.config->'drop_after') = 'string'
            THEN (j.config->>'drop_after')::interval END,
       CASE WHEN jsonb_typeof(j.config->'start_offset') = 'string'
            THEN (j.config->>'start_offset')::interval END,
       CASE WHEN jsonb_typeof(j.config->'end_offset') = 'string'
            THEN (j.config->>'end_offset')::interval END
FROM timescaledb_information.jobs j
LEFT JOIN timescaledb_information.continuous_aggregates c
       ON c.materialization_hypertable_schema = j.hypertable_schema
      AND c.materialization_hypertable_name = j.hypertable_name
WHERE j.proc_name IN ('policy_compression', 'policy_retention',
                      'policy_refresh_continuous_aggregate')
ORDER BY j.job_id
"""


def read_catalog(conn: psycopg.Connection[Any]) -> Catalog:
    """Read what the planner needs; read-only, and cheap enough for every service start."""
    available = conn.execute(
        "SELECT default_version FROM pg_available_extensions WHERE name = %s", (EXTENSION,)
    ).fetchone()
    installed = conn.execute(
        "SELECT extversion FROM pg_extension WHERE extname = %s", (EXTENSION,)
    ).fetchone()
    kind_row = conn.execute(
        "SELECT c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = current_schema() AND c.relname = %s",
        (CAGG,),
    ).fetchone()
    catalog = Catalog(
        available_version=available[0] if available else None,
        installed_version=installed[0] if installed else None,
    )
    if installed is None:
        kind = ViewKind.MISSING if kind_row is None else ViewKind.VIEW
        if kind_row is not None and kind_row[0] != "v":
            kind = ViewKind.OTHER
        return replace(catalog, readings_1h=kind)
    hypertables = _read_hypertables(conn, catalog.installed_version)
    cagg = conn.execute(
        "SELECT materialized_only FROM timescaledb_information.continuous_aggregates"
        " WHERE view_schema = current_schema() AND view_name = %s",
        (CAGG,),
    ).fetchone()
    if cagg is not None:
        kind, materialized_only = ViewKind.CAGG, bool(cagg[0])
    elif kind_row is None:
        kind, materialized_only = ViewKind.MISSING, None
    else:
        kind, materialized_only = (ViewKind.VIEW if kind_row[0] == "v" else ViewKind.OTHER), None
    jobs = []
    for row in conn.execute(_JOBS_SQL):
        names = ("compress_after", "drop_after", "start_offset", "end_offset")
        intervals = {n: v for n, v in zip(names, row[6:], strict=True) if v is not None}
        jobs.append(
            Job(
                job_id=row[0],
                proc_name=row[1],
                relation=row[2],
                schedule_interval=row[3],
                config=row[4] or {},
                intervals=intervals,
                next_start=row[5],
            )
        )
    return replace(
        catalog,
        hypertables=hypertables,
        readings_1h=kind,
        materialized_only=materialized_only,
        jobs=tuple(jobs),
    )


def _read_hypertables(conn: psycopg.Connection[Any], version: str | None) -> dict[str, Hypertable]:
    names = [spec.table for spec in HYPERTABLES]
    rows = conn.execute(
        "SELECT h.hypertable_name, h.compression_enabled, d.time_interval"
        " FROM timescaledb_information.hypertables h"
        " LEFT JOIN timescaledb_information.dimensions d"
        "   ON d.hypertable_schema = h.hypertable_schema"
        "  AND d.hypertable_name = h.hypertable_name AND d.dimension_number = 1"
        " WHERE h.hypertable_schema = current_schema() AND h.hypertable_name = ANY(%s)",
        (names,),
    ).fetchall()
    layout: dict[str, tuple[str, str]] = {}
    if columnstore_api(version):  # hypercore/hypertable_columnstore_settings (2.18+)
        query = (
            "SELECT hypertable::text, segmentby, orderby"
            " FROM timescaledb_information.hypertable_columnstore_settings"
        )
    elif conn.execute(
        "SELECT to_regclass('timescaledb_information.hypertable_compression_settings')"
    ).fetchone() != (None,):  # informational-views/hypertable_compression_settings (2.14+)
        query = (
            "SELECT hypertable::text, segmentby, orderby"
            " FROM timescaledb_information.hypertable_compression_settings"
        )
    else:  # informational-views/compression_settings: one row per column (before 2.14)
        query = (
            "SELECT hypertable_name,"
            " string_agg(attname, ', ' ORDER BY segmentby_column_index)"
            "   FILTER (WHERE segmentby_column_index IS NOT NULL),"
            " string_agg(attname || CASE WHEN orderby_asc THEN '' ELSE ' DESC' END, ', '"
            "   ORDER BY orderby_column_index) FILTER (WHERE orderby_column_index IS NOT NULL)"
            " FROM timescaledb_information.compression_settings GROUP BY hypertable_name"
        )
    for table, segment, order in conn.execute(query):
        layout[str(table).split(".")[-1].strip('"')] = (segment or "", order or "")
    found = {}
    for name, compression, interval in rows:
        segment, order = layout.get(name, ("", ""))
        found[name] = Hypertable(
            name=name,
            chunk_interval=interval,
            columnstore=bool(compression),
            segment_by=_normal_columns(segment),
            order_by=order,
        )
    return found


# --- running the plan -------------------------------------------------------------------------


def apply_plan(conn: psycopg.Connection[Any], plan: Plan) -> list[str]:
    """Run the steps in order; consecutive transactional steps share one transaction.

    The caller holds the migrations' advisory lock (a session lock, so it spans the
    autocommit steps too). Returns what was done, one line per step.
    """
    done: list[str] = []
    for step in plan.steps:
        try:
            if step.in_transaction:
                conn.execute(step.sql)
            else:
                conn.commit()
                conn.autocommit = True
                try:
                    conn.execute(step.sql)
                finally:
                    conn.autocommit = False
        except psycopg.Error as exc:
            conn.rollback()
            raise MigrationError(
                f"TimescaleDB set-up step failed ({step.why}): {exc}; the statement was: {step.sql}"
            ) from exc
        log.info("timescaledb: %s", step.why)
        done.append(f"timescaledb: {step.why}")
    conn.commit()
    for note in plan.notes:
        log.warning("%s", note)
    return done


def setup_timescale(
    conn: psycopg.Connection[Any], policy: TimescalePolicy
) -> tuple[bool, list[str]]:
    """Plan and apply; the caller holds the migrations' lock. Returns (active, what was done).

    When the extension is available but this role may not create it, the database stays
    plain with a warning rather than failing the upgrade.
    """
    catalog = read_catalog(conn)
    conn.commit()
    done: list[str] = []
    if catalog.installed_version is None and catalog.available_version is not None:
        try:
            conn.execute(f"CREATE EXTENSION IF NOT EXISTS {EXTENSION}")
            conn.commit()
        except psycopg.Error as exc:
            conn.rollback()
            log.warning("%s is available but could not be created here: %s", EXTENSION, exc)
            catalog = replace(catalog, available_version=None)
        else:
            done.append("timescaledb: enable TimescaleDB")
            catalog = read_catalog(conn)
            conn.commit()
    plan = plan_timescale(catalog, policy)
    return plan.timescale, done + apply_plan(conn, plan)


def check_timescale(database: Database, policy: TimescalePolicy) -> Plan:
    """What ``db upgrade`` would still do, without doing it (services and ``db status``).

    An extension that is available but not installed is not counted as pending: the role may
    not be allowed to create it, and then ``db upgrade`` keeps the database plain.
    """
    with database.connection() as conn:
        catalog = read_catalog(conn)
    if catalog.installed_version is None:
        catalog = replace(catalog, available_version=None)
    return plan_timescale(catalog, policy)


# --- status and the hot path ------------------------------------------------------------------

_POLICIES_SQL = """
SELECT j.job_id, j.proc_name, coalesce(c.view_name, j.hypertable_name) AS relation,
       j.schedule_interval::text, j.config, j.next_start,
       s.last_run_started_at, s.last_successful_finish, s.last_run_status,
       s.total_runs, s.total_failures
FROM timescaledb_information.jobs j
LEFT JOIN timescaledb_information.job_stats s ON s.job_id = j.job_id
LEFT JOIN timescaledb_information.continuous_aggregates c
       ON c.materialization_hypertable_schema = j.hypertable_schema
      AND c.materialization_hypertable_name = j.hypertable_name
WHERE j.proc_name IN ('policy_compression', 'policy_retention',
                      'policy_refresh_continuous_aggregate')
ORDER BY relation, j.proc_name
"""

_POLICY_NAMES = {
    "policy_compression": "columnstore",
    "policy_retention": "retention",
    "policy_refresh_continuous_aggregate": "refresh",
}


def policies(database: Database) -> list[dict[str, Any]]:
    """Every policy job with its arguments, next run and last result (informational-views/
    jobs and job_stats); empty on plain PostgreSQL."""
    rows = database.execute("SELECT 1 FROM pg_extension WHERE extname = %s", (EXTENSION,))
    if not rows:
        return []
    out = []
    for row in database.execute(_POLICIES_SQL):
        config = {k: v for k, v in (row[4] or {}).items() if not k.endswith("hypertable_id")}
        out.append(
            {
                "job_id": row[0],
                "policy": _POLICY_NAMES.get(row[1], row[1]),
                "relation": row[2],
                "schedule_interval": row[3],
                "config": config,
                "next_start": row[5].isoformat() if row[5] else None,
                "last_run_started_at": row[6].isoformat() if row[6] else None,
                "last_successful_finish": row[7].isoformat() if row[7] else None,
                "last_run_status": row[8],
                "total_runs": row[9],
                "total_failures": row[10],
            }
        )
    return out


def refresh_window(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """Whole hourly buckets covering ``[start, end]`` (a refresh skips partial buckets)."""
    lo = start.replace(minute=0, second=0, microsecond=0)
    hi = end.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return lo, hi


def refresh_hourly(database: Database, start: datetime, end: datetime) -> None:
    """Re-materialise ``readings_1h`` over ``[start, end]`` after a replay of old readings.

    continuous-aggregates/refresh_continuous_aggregate: a procedure that cannot run inside a
    transaction block, hence the autocommit connection.
    """
    lo, hi = refresh_window(start, end)
    statement = sql.SQL("CALL refresh_continuous_aggregate({view}, {lo}, {hi})").format(
        view=sql.Literal(CAGG), lo=sql.Literal(lo), hi=sql.Literal(hi)
    )
    with database.connection() as conn:
        conn.autocommit = True
        try:
            conn.execute(statement)
        finally:
            conn.autocommit = False


def bench_hypertable_statements(
    table: str, policy: TimescalePolicy, version: str | None
) -> list[str]:
    """The readings layout (hypertable and columnstore) for the ingest bench's own table."""
    if table != "bench_readings":
        raise ValueError(f"unknown bench table {table!r}.")
    readings = HYPERTABLES[0]
    spec = HypertableSpec(table, readings.time_column, readings.segment_by, readings.order_by)
    return hypertable_statements(spec, policy.chunk_interval, version)


def hypertable_names(database: Database) -> set[str]:
    """informational-views/hypertables, in this schema."""
    rows = database.execute(
        "SELECT hypertable_name FROM timescaledb_information.hypertables"
        " WHERE hypertable_schema = current_schema()"
    )
    return {row[0] for row in rows}


def hypertable_rows_and_size(database: Database, table: str) -> tuple[int, str]:
    """Estimated rows (hyperfunctions/approximate_row_count) and total size including chunks
    (hypertable/hypertable_size) of one hypertable."""
    rows = database.execute(
        "SELECT coalesce(approximate_row_count(%s::regclass), 0),"
        " pg_size_pretty(coalesce(hypertable_size(%s::regclass), 0))",
        (table, table),
    )
    return int(rows[0][0]), str(rows[0][1])


def timescale_version(database: Database) -> str | None:
    rows = database.execute("SELECT extversion FROM pg_extension WHERE extname = %s", (EXTENSION,))
    return str(rows[0][0]) if rows else None


__all__: Sequence[str] = (
    "HYPERTABLES",
    "Catalog",
    "Hypertable",
    "Job",
    "Plan",
    "Step",
    "StepKind",
    "TimescalePolicy",
    "ViewKind",
    "apply_plan",
    "check_timescale",
    "plan_timescale",
    "policies",
    "read_catalog",
    "refresh_hourly",
    "setup_timescale",
)
