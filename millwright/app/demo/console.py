"""What the demo says: where to look, how the plant is doing, and a short closing summary.

Queries here only read; the sentences are for a newcomer watching their first plant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from millwright.core.storage.database import Database
from models import latest_risks
from scheduler import risks_the_plan_answers


@dataclass
class Watch:
    """Samples of the live plant after the first risk-driven plan: is some machine at risk,
    and does the plan maintain it? (``bench demo`` and the tests read these.)"""

    samples: int = 0
    with_at_risk: int = 0
    with_task: int = 0
    with_both: int = 0
    at_risk_max: int = 0
    tasks_max: int = 0
    longest_wait_h: float = 0.0
    """The longest a machine stayed at risk, in plant hours, with no task in the plan: how
    long the loop (score, page, replan) took to answer a new risk."""
    waiting_since: dict[str, datetime] = field(default_factory=dict)

    def add(self, at_risk: list[str], tasks: list[str], now: datetime) -> None:
        """One sample at plant time ``now``: the machines at risk, and the machines of the
        current plan's maintenance tasks."""
        planned = set(tasks)
        self.waiting_since = {
            m: self.waiting_since.get(m, now) for m in at_risk if m not in planned
        }
        for since in self.waiting_since.values():
            self.longest_wait_h = max(self.longest_wait_h, (now - since).total_seconds() / 3600)
        self.samples += 1
        self.with_at_risk += bool(at_risk)
        self.with_task += bool(tasks)
        self.with_both += bool(at_risk) and bool(tasks)
        self.at_risk_max = max(self.at_risk_max, len(at_risk))
        self.tasks_max = max(self.tasks_max, len(tasks))

    def as_dict(self) -> dict[str, Any]:
        def share(n: int) -> float | None:
            return round(n / self.samples, 3) if self.samples else None

        return {
            "samples": self.samples,
            "fraction_with_at_risk_machine": share(self.with_at_risk),
            "fraction_with_risk_task": share(self.with_task),
            "fraction_with_both": share(self.with_both),
            "at_risk_machines_max": self.at_risk_max,
            "risk_tasks_in_plan_max": self.tasks_max,
            "longest_wait_hours": round(self.longest_wait_h, 2),
        }


def live_events(database: Database, since: datetime, kind: str) -> int:
    """Failures or maintenance that happened in the live plant (after ``since``)."""
    rows = database.execute(
        "SELECT count(*) FROM events WHERE kind = %s AND ts >= %s", (kind, since)
    )
    return int(rows[0][0])


@dataclass
class DemoReport:
    """What the demo produced, for the closing summary, ``bench demo`` and the tests."""

    data_dir: str = ""
    database_url: str = ""
    api_url: str = ""
    dashboard_url: str = ""
    token: str = ""
    resumed: bool = False
    counts: dict[str, int] = field(default_factory=dict)
    maintenance_done: int = 0
    failures: int = 0
    maintenance_in_current_plan: int = 0
    webhooks_received: int = 0
    orders_submitted: int = 0
    plant_time: datetime | None = None
    live_from: datetime | None = None
    seconds_to_urls: float | None = None
    seconds_to_first_scores: float | None = None
    seconds_to_risk_plan: float | None = None
    seconds_training: float | None = None
    stopped_by: str = ""
    watch: Watch = field(default_factory=Watch)
    past_alerts: int | None = None
    seconds_to_past_scored: float | None = None
    """Alerts the model would have raised over the recorded past (None: not scored yet)."""
    tasks_per_plan: list[int] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "data_dir": self.data_dir,
            "database_url": self.database_url,
            "dashboard_url": self.dashboard_url,
            "api_url": self.api_url,
            "resumed": self.resumed,
            "plant_time": self.plant_time.isoformat() if self.plant_time else None,
            "live_from": self.live_from.isoformat() if self.live_from else None,
            "counts": self.counts,
            "maintenance_done": self.maintenance_done,
            "failures": self.failures,
            "maintenance_in_current_plan": self.maintenance_in_current_plan,
            "webhooks_received": self.webhooks_received,
            "orders_submitted": self.orders_submitted,
            "seconds_to_urls": self.seconds_to_urls,
            "seconds_to_first_scores": self.seconds_to_first_scores,
            "seconds_to_risk_plan": self.seconds_to_risk_plan,
            "seconds_training": self.seconds_training,
            "stopped_by": self.stopped_by,
            "watch": self.watch.as_dict(),
            "risk_tasks_per_plan": self.tasks_per_plan,
            "past_alerts": self.past_alerts,
            "seconds_to_past_scored": self.seconds_to_past_scored,
        }


def banner(
    report: DemoReport, *, username: str, password: str, webhook_url: str, logs: str
) -> list[str]:
    """The lines printed once the dashboard answers."""
    api_root = report.api_url.removesuffix("/api/v1")
    return [
        "",
        f"dashboard:  {report.dashboard_url}",
        f"sign in:    user {username!r}, password {password}  (viewer, planner, maintenance)",
        f"MES API:    {report.api_url}  (OpenAPI: {api_root}/openapi.json)",
        f"API token:  {report.token}  (user 'mes', role planner; kept across restarts)",
        f"database:   {report.database_url}",
        "            (other commands: MILLWRIGHT_DATABASE_URL='<that URL>' millwright alerts list)",
        f"webhooks:   {webhook_url}  (the maintenance team's receiver)",
        f"logs:       {logs}",
        "Ctrl-C stops the demo; `millwright demo` again resumes it, `--fresh` starts over.",
        "",
    ]


def look_first(database: Database, dashboard_url: str) -> str:
    """A sentence pointing at the most interesting machine and the plan that answers it."""
    riskiest = latest_risk(database)
    plan = f"{dashboard_url}schedule"
    if not riskiest:
        return f"look first at the overview {dashboard_url}, then the plan at {plan}"
    name, p_fail, rul_low = riskiest[0]
    rul = f", {rul_low:.0f} h of life left at the low estimate" if rul_low is not None else ""
    return (
        f"look first at {name} ({p_fail:.0%} risk of failing within the horizon{rul}):"
        f" {dashboard_url}machine/{name}; its maintenance is in the plan at {plan}"
    )


def risks_to_answer(database: Database) -> list[tuple[str, float, float | None]]:
    """(name, p_fail, rul_low) of each machine whose risk a plan answers, riskiest first.

    Not a machine that is down or back from maintenance since its last score: the tiles show
    it DOWN, and the plan rightly maintains it no more.
    """
    with database.connection() as conn:
        risks = risks_the_plan_answers(conn)
    return sorted(((r.machine, r.p_fail, r.rul_low) for r in risks), key=lambda row: -row[1])


def latest_risk(database: Database) -> list[tuple[str, float, float | None]]:
    """Each machine's latest (name, p_fail, rul_low), riskiest first."""
    with database.connection() as conn:
        risks = latest_risks(conn)
    found = [(r.machine, r.p_fail, r.rul_low) for r in risks]
    return sorted(found, key=lambda row: -row[1])


@dataclass(frozen=True)
class AtRisk:
    """What the dashboard's tiles call warning or worse: ``p_fail`` or ``rul_low`` (hours)."""

    warning_p_fail: float
    warning_rul_low_h: float

    def machines(self, risks: list[tuple[str, float, float | None]]) -> list[str]:
        return [
            name
            for name, p, rul in risks
            if p >= self.warning_p_fail or (rul is not None and rul <= self.warning_rul_low_h)
        ]


def status_line(database: Database, now: datetime, alerts_delivered: int, at: AtRisk) -> str:
    risk = latest_risk(database)
    at_risk = at.machines(risks_to_answer(database))
    top = f"highest risk {risk[0][0]} {risk[0][1]:.0%}" if risk else "no scores yet"
    return (
        f"plant time {now:%Y-%m-%d %H:%M} · {top} · {len(at_risk)} at warning or worse"
        f" · {current_maintenance(database)} maintenance task(s) in the plan"
        f" · {alerts_delivered} alert(s) delivered"
    )


def current_maintenance(database: Database) -> int:
    """Risk-driven maintenance tasks in the current plan."""
    return len(current_maintenance_machines(database))


def current_maintenance_machines(database: Database) -> list[str]:
    """The machines of the current plan's risk-driven maintenance tasks (one per task)."""
    rows = database.execute(
        "SELECT m.name FROM schedule_assignments a JOIN schedules s ON s.id = a.schedule_id"
        " JOIN machines m ON m.id = a.machine_id"
        " WHERE s.is_current AND a.kind = 'maintenance' ORDER BY m.name"
    )
    return [str(r[0]) for r in rows]


def maintenance_per_plan(database: Database, since: datetime) -> list[int]:
    """Risk-driven maintenance tasks of each plan solved since ``since``, oldest first."""
    rows = database.execute(
        "SELECT count(a.schedule_id) FROM schedules s LEFT JOIN schedule_assignments a"
        " ON a.schedule_id = s.id AND a.kind = 'maintenance'"
        " WHERE s.state = 'done' AND coalesce(s.plan_start, s.requested_at) >= %s"
        " GROUP BY s.id ORDER BY s.id",
        (since,),
    )
    return [int(r[0]) for r in rows]


COUNTED = (
    "readings", "features", "risk_scores", "alerts", "webhook_deliveries", "schedules",
    "jobs", "events", "dead_letters",
)  # fmt: skip


def counts(database: Database) -> dict[str, int]:
    found = {}
    for table in COUNTED:  # fixed names, not input
        found[table] = int(database.execute(f"SELECT count(*) FROM {table}")[0][0])
    return found


def summary_table(report: DemoReport) -> list[str]:
    """The closing summary: a short two-column table."""
    c = report.counts

    def seconds(value: float | None) -> str:
        return "—" if value is None else f"{value:.1f} s"

    rows = [
        ("plant time", f"{report.plant_time:%Y-%m-%d %H:%M}" if report.plant_time else "—"),
        ("readings stored", f"{c.get('readings', 0):,}"),
        ("risk scores", f"{c.get('risk_scores', 0):,}"),
        ("alerts raised", f"{c.get('alerts', 0):,} ({report.webhooks_received} delivered)"),
        ("plans", f"{c.get('schedules', 0):,}"),
        (
            "maintenance done",
            f"{report.maintenance_done} ({report.maintenance_in_current_plan} in the plan)",
        ),
        ("failures", f"{report.failures}"),
        ("orders submitted", f"{report.orders_submitted}"),
        ("dead letters", f"{c.get('dead_letters', 0)}"),
        ("first risk-driven plan", seconds(report.seconds_to_risk_plan)),
        ("data directory", report.data_dir),
    ]
    width = max(len(label) for label, _ in rows)
    return ["", "demo summary", *(f"  {label:<{width}}  {value}" for label, value in rows)]
