"""What the demo says: where to look, how the plant is doing, and a short closing summary.

Queries here only read; the sentences are for a newcomer watching their first plant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from millwright.core.storage.database import Database
from models import latest_risks


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


def latest_risk(database: Database) -> list[tuple[str, float, float | None]]:
    """Each machine's latest (name, p_fail, rul_low), riskiest first."""
    with database.connection() as conn:
        risks = latest_risks(conn)
    found = [(r.machine, r.p_fail, r.rul_low) for r in risks]
    return sorted(found, key=lambda row: -row[1])


def status_line(database: Database, now: datetime, alerts_delivered: int, warning_p: float) -> str:
    risk = latest_risk(database)
    at_risk = [name for name, p, _ in risk if p >= warning_p]
    top = f"highest risk {risk[0][0]} {risk[0][1]:.0%}" if risk else "no scores yet"
    return (
        f"plant time {now:%Y-%m-%d %H:%M} · {top} · {len(at_risk)} at warning or worse"
        f" · {current_maintenance(database)} maintenance task(s) in the plan"
        f" · {alerts_delivered} alert(s) delivered"
    )


def current_maintenance(database: Database) -> int:
    """Risk-driven maintenance tasks in the current plan."""
    rows = database.execute(
        "SELECT count(*) FROM schedule_assignments a JOIN schedules s ON s.id = a.schedule_id"
        " WHERE s.is_current AND a.kind = 'maintenance'"
    )
    return int(rows[0][0])


def live_events(database: Database, since: datetime, kind: str) -> int:
    """Failures or maintenance that happened in the live plant (after ``since``)."""
    rows = database.execute(
        "SELECT count(*) FROM events WHERE kind = %s AND ts >= %s", (kind, since)
    )
    return int(rows[0][0])


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
