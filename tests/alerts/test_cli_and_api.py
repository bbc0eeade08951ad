"""`millwright alerts` commands on a real database, payload bodies, and the public API pin."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import typer
from typer.testing import CliRunner

import alerts
import alerts.cli
from alerts.config import AlertsConfig
from alerts.payload import WebhookEvent, body_for
from millwright.core.commands import AppContext, CliGroups
from millwright.core.storage.database import Database
from tests.alerts.conftest import Receiver, add_machine, make_config


class _Settings:
    """The two settings the alerts commands read (the full Settings needs every package)."""

    def __init__(self, config: AlertsConfig) -> None:
        self.alerts = config
        self.public_url = "https://mw.example.com"


def run(database: Database, config: AlertsConfig, *args: str) -> tuple[int, str]:
    root = typer.Typer()

    @root.callback()
    def _root(ctx: typer.Context) -> None:
        ctx.obj = AppContext(settings=_Settings(config), _database=database)  # type: ignore[arg-type]

    alerts.cli.register(CliGroups(root=root, bench=typer.Typer(), eval=typer.Typer()))
    result = CliRunner().invoke(root, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_run_list_ack_test_commands(database: Database, receiver: Receiver) -> None:
    config = make_config(receiver.url)
    machine_id = add_machine(database)
    database.execute(
        "INSERT INTO risk_scores (ts, machine_id, model_version, horizon_hours, p_fail)"
        " VALUES (now(), %s, 'm1', 24, 0.97)",
        (machine_id,),
    )
    code, out = run(database, config, "alerts", "run", "--once")
    assert code == 0 and "1 transitions; delivered 1" in out, out
    code, out = run(database, config, "alerts", "list", "--json")
    (row,) = json.loads(out)
    assert (row["machine"], row["severity"], row["state"]) == ("press-1", "critical", "open")
    code, out = run(database, config, "alerts", "ack", str(row["id"]), "--user", "maria")
    assert code == 0 and "acknowledged by maria" in out
    code, out = run(database, config, "alerts", "list")
    assert "acked by maria" in out
    assert run(database, config, "alerts", "ack", "424242")[0] == 1
    code, out = run(database, config, "alerts", "test", "rx")
    assert code == 0 and "status=200" in out and "delivered" in out
    assert run(database, config, "alerts", "test", "nope")[0] == 2


def test_slack_and_teams_bodies() -> None:
    event = WebhookEvent(
        type="alert.escalated",
        timestamp=datetime(2024, 1, 1, tzinfo=UTC),
        data={
            "severity": "critical",
            "rule": "risk",
            "machine": {"name": "press-1", "dashboard_url": "https://mw/machines/press-1"},
            "risk": {"p_fail": 0.91, "horizon_hours": 24, "rul_low": 12.5},
            "top_features": [{"feature": "vibration"}],
            "late_orders": [{"external_id": "A-100"}],
        },
    )
    slack = body_for("slack", event)
    assert slack["text"] == "[CRITICAL] press-1: alert escalated (risk)"
    assert "A-100" in slack["blocks"][0]["text"]["text"]
    assert slack["blocks"][1]["elements"][0]["url"] == "https://mw/machines/press-1"
    teams = body_for("teams", event)
    card = teams["attachments"][0]["content"]
    assert card["type"] == "AdaptiveCard"
    assert {"title": "p_fail", "value": "91% within 24 h"} in card["body"][1]["facts"]
    assert body_for("json", event)["type"] == "alert.escalated"


def test_public_api_is_pinned() -> None:
    assert sorted(alerts.__all__) == sorted(
        [
            "Alert", "AlertNotFound", "AlertState", "AlertsConfig", "AlertsError", "Attempt",
            "Delivery", "DeliveryError", "DeliveryState", "DeliveryTimeout", "DispatchReport",
            "Dispatcher", "EndpointConfig", "EpisodeState", "Evaluation", "EvaluationReport",
            "MalformedSignature", "Rule", "RuleConfig", "Score", "Severity", "SignatureError",
            "SignatureMismatch", "StaleTimestamp", "TargetError", "TargetRefused",
            "TargetUnresolvable", "Transition", "TransitionKind", "UnknownEndpoint",
            "acknowledge", "attempts_of", "check_endpoints", "check_target", "dashboard_url",
            "disabled_endpoints", "enable_endpoint", "evaluate", "evaluate_latest",
            "generate_secret", "get_alert", "list_alerts", "list_deliveries", "send_test", "sign",
            "verify", "webhook_headers",
            # the alarm lifecycle (#21)
            "Activation", "AlarmFilter", "AlarmKpis", "AlarmPage", "AlarmState", "BadActor",
            "JournalEntry", "STATE_WORDS", "alarm_kpis", "alarm_state", "expire_shelves",
            "history_of", "kpis", "list_alarms", "rules_for", "set_out_of_service", "shelve",
            "unshelve",
            # the edge's episodes across an outage (#24)
            "AdoptReport", "EdgeEpisode", "EdgeTransition", "adopt_edge_transitions",
            "body_for", "central_episodes", "edge_event", "edge_heartbeat",
        ]
    )  # fmt: skip
    for name in alerts.__all__:
        assert getattr(alerts, name) is not None
