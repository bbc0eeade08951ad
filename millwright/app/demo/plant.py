"""The demo plant: its size, pace and the configuration its services run with.

The same TOML a site would write for production, generated for a simulated plant on
loopback, so every service in the demo is the production service.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import tomli_w

from sim.sensors import CMAPSS_SENSORS

# The 14 C-MAPSS FD001 measurements that change with wear (the other 7 are flat).
INFORMATIVE = (1, 2, 3, 6, 7, 8, 10, 11, 12, 13, 14, 16, 19, 20)
DEMO_SENSORS = tuple(CMAPSS_SENSORS[i].id for i in INFORMATIVE)


FEATURES_EVERY_S = 2.0
WARNING_P_FAIL = 0.5
CRITICAL_P_FAIL = 0.8
DEFAULT_API_PORT = 8000
DEFAULT_DASHBOARD_PORT = 8050


@dataclass(frozen=True)
class DemoOptions:
    """How the demo runs. ``api_port``/``dashboard_port`` None: the defaults, or a free port
    when a default is taken; ``data_dir`` None: the settings' data directory."""

    machines: int = 12
    lines: int = 3
    seed: int = 7
    speed: float = 1800.0
    history_days: float = 40.0
    """The recorded past: a month for the Outcomes page, and the training window."""
    train_days: float = 10.0
    """The last days of the past, recorded before the plant goes live; the first model learns
    on them. The weeks before are recorded and scored in the background."""
    live_hours: float | None = None
    order_every_hours: float = 12.0
    api_port: int | None = None
    dashboard_port: int | None = None
    cast_window_hours: float = 12.0
    data_dir: Path | None = None
    fresh: bool = False
    as_json: bool = False

    def __post_init__(self) -> None:
        if self.machines < self.lines:
            raise ValueError("the demo needs at least one machine per line.")
        if self.speed <= 0 or self.history_days <= 0 or self.cast_window_hours <= 0:
            raise ValueError("speed, history_days and cast_window_hours must be positive.")
        if not 0 < self.train_days <= self.history_days:
            raise ValueError("train_days must be positive and at most history_days.")


@dataclass(frozen=True)
class DemoEndpoints:
    api_port: int
    dashboard_port: int
    broker_host: str
    broker_port: int
    opcua_port: int
    metrics_port: int
    worker_health_port: int
    webhook_url: str
    webhook_secret: str


def machines_by_line(options: DemoOptions) -> dict[str, list[str]]:
    from sim.plant import layout

    lines: dict[str, list[str]] = {}
    for spec in layout(options.machines, options.lines):
        lines.setdefault(spec.line, []).append(spec.id)
    return lines


def at_risk_hours(options: DemoOptions) -> tuple[float, float]:
    """(warning, critical) ``rul_low`` hours of the demo's plant: a machine is at warning when
    it may fail within the cast window (the soonest of the cast fails inside it), critical
    within a third of it. Plant lives run in hours here, so a week-long warning would call
    every machine at risk."""
    return options.cast_window_hours, options.cast_window_hours / 3


def demo_config(options: DemoOptions, endpoints: DemoEndpoints, start: datetime) -> dict[str, Any]:
    """The settings every demo service runs with (written to TOML for the subprocesses)."""
    lines = machines_by_line(options)
    warning_h, critical_h = at_risk_hours(options)
    line_names = sorted(lines)
    mqtt_lines, opcua_lines = line_names[:-1], line_names[-1:]
    nodes = [
        {
            "browse_path": f"2:Plant/2:{machine}/2:{sensor}",
            "machine": machine,
            "sensor": sensor,
        }
        for line in opcua_lines
        for machine in lines[line]
        for sensor in DEMO_SENSORS
    ]
    return {
        # Accelerated plant time runs ahead of the wall clock.
        "max_future_seconds": 10 * 365 * 86_400,
        "public_url": f"http://127.0.0.1:{endpoints.dashboard_port}",
        "sim": {
            "machines": options.machines,
            "lines": options.lines,
            "seed": options.seed,
            "speed": options.speed,
            "start": start,
            # A rotating cast: some machine is always wearing out, whatever the plan fixes.
            "cast_window_hours": options.cast_window_hours,
            "mqtt_per_sensor": False,
            "mqtt_batch": True,
            "opcua_endpoint": f"opc.tcp://127.0.0.1:{endpoints.opcua_port}/millwright/",
        },
        "ingest": {
            "metrics": {"port": endpoints.metrics_port},
            "mqtt": [
                {
                    "name": "plant-mqtt",
                    "host": endpoints.broker_host,
                    "port": endpoints.broker_port,
                    "client_id": "millwright-demo-collector",
                    "subscriptions": [
                        {"topic": f"plant/batch/{line}/{{machine}}/values", "format": "json"}
                        for line in mqtt_lines
                    ],
                }
            ],
            "opcua": [
                {
                    "name": "plant-opcua",
                    "endpoint": f"opc.tcp://127.0.0.1:{endpoints.opcua_port}/millwright/",
                    "publishing_interval_ms": 250,
                    "queue_size": 50,
                    "nodes": nodes,
                }
            ],
        },
        # A 30-minute cadence keeps the first model's training under a minute on two cores.
        # Windows of at most 6 plant hours: a machine back from maintenance or repair looks
        # healthy within hours, not after a day of windows still holding its worn readings
        # (which would bring it straight back into the plan).
        "features": {
            "sensors": list(DEMO_SENSORS),
            "cadence_minutes": 30,
            "windows_minutes": [60, 360],
        },
        "models": {
            "calibration": "sigmoid",
            # Rows watched this long have a known (capped) RUL: no bias from lives cut short
            # by the end of the history. Above the scheduler's horizon, so a healthy machine
            # is not scheduled for maintenance.
            "rul_cap_hours": 150.0,
            # Accelerated plant time: features trail the newest reading by a few worker
            # cycles of plant time; that is not a silent machine.
            "no_data_minutes": 60.0 + 4 * FEATURES_EVERY_S * options.speed / 60.0,
            # Small enough for the first plan within 30 s of start on two busy cores.
            "lightgbm": {"n_estimators": 80, "n_jobs": 1, "colsample_bytree": 0.5},
            "calibration_folds": 2,
        },
        "worker": {
            "features_every_s": FEATURES_EVERY_S,
            "score_every_s": 3.0,
            "alerts_every_s": 2.0,
            "reschedule_every_s": 10.0,
            "solve_poll_s": 1.0,
            "health_port": endpoints.worker_health_port,
            "clock": "data",
        },
        # One notion of "at risk" for the tiles and the plan: the plan maintains exactly the
        # machines the dashboard shows at warning or critical.
        "dashboard": {
            "warning_p_fail": WARNING_P_FAIL,
            "critical_p_fail": CRITICAL_P_FAIL,
            "warning_rul_low_h": warning_h,
            "critical_rul_low_h": critical_h,
        },
        "scheduler": {
            "time_limit_s": 5.0,
            "horizon_hours": 96.0,
            "risk_maintenance_hours": warning_h,
            "risk_maintenance_p_fail": WARNING_P_FAIL,
            "crew_size": 2,
            "max_clock_skew_s": 10 * 365 * 86_400,
        },
        "alerts": {
            # The same "at risk" as the tiles and the plan; an episode ends when the risk has
            # clearly gone (a maintenance, a repair), not at the first score below warning.
            "rules": [
                {
                    "name": "risk",
                    "warning_p_fail": WARNING_P_FAIL,
                    "critical_p_fail": CRITICAL_P_FAIL,
                    "resolve_p_fail": WARNING_P_FAIL / 2,
                    "warning_rul_low": warning_h,
                    "critical_rul_low": critical_h,
                    "resolve_rul_low": 1.5 * warning_h,
                }
            ],
            "backoff_base_s": 1.0,
            "backoff_max_s": 30.0,
            "endpoints": [
                {
                    "name": "maintenance-team",
                    "url": endpoints.webhook_url,
                    "secrets": [endpoints.webhook_secret],
                    "allow_private": True,
                    "timeout_s": 5.0,
                }
            ],
        },
    }


def write_config(config: dict[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(tomli_w.dumps(config))
    return path


def history_window(options: DemoOptions, now: datetime) -> tuple[datetime, datetime]:
    """(start of the recorded history, the moment the live plant takes over)."""
    live = now.replace(minute=0, second=0, microsecond=0)
    return live - timedelta(days=options.history_days), live


def new_webhook_secret() -> str:
    from alerts.signing import generate_secret

    return generate_secret()
