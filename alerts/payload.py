"""What a receiver gets: the webhook payload (pydantic, the edge) and Slack/Teams bodies.

The JSON payload follows the Standard Webhooks shape ``{type, timestamp, data}``. ``data``
tells a maintenance planner what to do without opening anything: the machine, its risk and
why (top features), where to look (dashboard link), when the plan already reserves time for
maintenance, and which orders would be late if the machine failed now.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class _Public(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class MachinePublic(_Public):
    name: str
    line: str | None = None
    machine_class: str | None = None
    status: str | None = None
    dashboard_url: str


class RiskPublic(_Public):
    p_fail: float | None = None
    rul: float | None = None
    rul_low: float | None = None
    horizon_hours: float | None = None
    model_version: str | None = None
    scored_at: datetime | None = None


class MaintenanceWindow(_Public):
    """The maintenance the current plan schedules on this machine (first one still ahead)."""

    start_at: datetime
    end_at: datetime
    schedule_id: int
    reason: dict[str, Any] = {}


class LateOrder(_Public):
    """An order whose planned finish plus the assumed repair time passes its due date."""

    external_id: str
    due_at: datetime
    planned_finish: datetime
    projected_finish: datetime
    lateness_hours: float
    weight: float


class AlertData(_Public):
    alert_id: int | None  # None: opened at the edge, not yet known to the central database
    rule: str
    severity: str
    state: str
    opened_at: datetime
    escalated_at: datetime | None = None
    resolved_at: datetime | None = None
    acked_at: datetime | None = None
    acked_by: str | None = None
    ack_comment: str | None = None
    lifecycle: str | None = None  # ISA-18.2 state, `alerts.lifecycle.AlarmState`
    shelved_until: datetime | None = None
    shelved_by: str | None = None
    shelve_reason: str | None = None
    machine: MachinePublic
    risk: RiskPublic
    top_features: list[dict[str, Any]] = []
    maintenance_window: MaintenanceWindow | None = None
    late_orders: list[LateOrder] = []
    assumed_repair_hours: float
    scored_at_edge: bool = False  # the episode's scores came from `millwright edge`
    edge_episode: str | None = None  # the edge's id of the episode (stable across the sync)


class WebhookEvent(_Public):
    """The JSON body of every webhook (Standard Webhooks: type, timestamp, data)."""

    type: str
    timestamp: datetime
    data: dict[str, Any]


def normalise_features(raw: object) -> list[dict[str, Any]]:
    """Top features as ``[{"feature": ..., ...}]`` whatever shape the model stored."""
    if not isinstance(raw, list):
        return []
    out: list[dict[str, Any]] = []
    for item in raw:
        if isinstance(item, dict):
            out.append(dict(item))
        elif isinstance(item, list | tuple) and len(item) == 2:
            out.append({"feature": str(item[0]), "contribution": item[1]})
        else:
            out.append({"feature": str(item)})
    return out


# PagerDuty Events API v2: which event action each alarm state change is.
PAGERDUTY_ACTIONS = {
    "alert.opened": "trigger",
    "alert.escalated": "trigger",
    "alert.unshelved": "trigger",
    "alert.acknowledged": "acknowledge",
    "alert.shelved": "acknowledge",
    "alert.resolved": "resolve",
}


def body_for(kind: str, event: WebhookEvent) -> dict[str, Any]:
    """The JSON body an endpoint of ``kind`` (json, slack, teams, pagerduty) receives.

    A pagerduty body lacks its ``routing_key``: the dispatcher adds the endpoint's key when
    it sends, so the integration key is never stored in the outbox."""
    full = event.model_dump(mode="json")
    if kind == "json":
        return full
    if kind == "pagerduty":
        return pagerduty_body(event)
    summary, facts, url = _summary(event)
    if kind == "slack":
        return _slack(summary, facts, url)
    if kind == "teams":
        return _teams(summary, facts, url)
    raise ValueError(f"unknown endpoint kind {kind!r}; expected json, slack or teams")


def pagerduty_body(event: WebhookEvent) -> dict[str, Any]:
    """A PagerDuty Events v2 event: the alarm id is the ``dedup_key``, so PagerDuty folds
    every state change of one alarm into one incident (trigger, acknowledge, resolve)."""
    data = event.data
    if event.type == "webhook.test":
        return {
            "event_action": "trigger",
            "dedup_key": f"test-{data.get('endpoint')}",
            "payload": {
                "summary": "Millwright test webhook",
                "source": "millwright",
                "severity": "info",
                "timestamp": event.timestamp.isoformat(),
            },
        }
    summary, facts, url = _summary(event)
    machine = data.get("machine") or {}
    body: dict[str, Any] = {
        "event_action": PAGERDUTY_ACTIONS.get(event.type, "trigger"),
        "dedup_key": str(data.get("edge_episode") or data.get("alert_id")),
        "payload": {
            "summary": summary[:1024],
            "source": str(machine.get("name", "millwright")),
            "severity": "critical" if data.get("severity") == "critical" else "warning",
            "timestamp": event.timestamp.isoformat(),
            "component": machine.get("name"),
            "group": machine.get("line"),
            "class": data.get("rule"),
            "custom_details": {k: v for k, v in facts} | {"state": data.get("lifecycle")},
        },
    }
    if url:
        body["links"] = [{"href": url, "text": "Machine in the Millwright dashboard"}]
    return body


def _summary(event: WebhookEvent) -> tuple[str, list[tuple[str, str]], str | None]:
    data = event.data
    machine = data.get("machine") or {}
    name = machine.get("name", "?")
    if event.type == "webhook.test":
        return "Millwright test webhook", [("endpoint", str(data.get("endpoint")))], None
    verb = event.type.removeprefix("alert.")
    summary = f"[{str(data.get('severity', '')).upper()}] {name}: alert {verb} ({data.get('rule')})"
    risk = data.get("risk") or {}
    facts: list[tuple[str, str]] = []
    if risk.get("p_fail") is not None:
        facts.append(("p_fail", f"{risk['p_fail']:.0%} within {risk.get('horizon_hours')} h"))
    if risk.get("rul_low") is not None:
        facts.append(("RUL (low)", f"{risk['rul_low']:.1f} h"))
    features = ", ".join(str(f.get("feature")) for f in data.get("top_features", [])[:3])
    if features:
        facts.append(("drivers", features))
    window = data.get("maintenance_window")
    if window:
        facts.append(("planned maintenance", f"{window['start_at']} → {window['end_at']}"))
    late = data.get("late_orders") or []
    late_ids = ", ".join(o["external_id"] for o in late) or "none"
    facts.append(("orders late on failure now", late_ids))
    if data.get("acked_by"):
        comment = f": {data['ack_comment']}" if data.get("ack_comment") else ""
        facts.append(("acknowledged by", f"{data['acked_by']}{comment}"))
    if data.get("shelved_until"):
        facts.append(
            ("shelved", f"until {data['shelved_until']} by {data.get('shelved_by')}:"
             f" {data.get('shelve_reason')}")
        )  # fmt: skip
    return summary, facts, machine.get("dashboard_url")


def _slack(summary: str, facts: list[tuple[str, str]], url: str | None) -> dict[str, Any]:
    lines = "\n".join(f"*{k}:* {v}" for k, v in facts)
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{summary}*\n{lines}"}}
    ]
    if url:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {"type": "button", "text": {"type": "plain_text", "text": "Open"}, "url": url}
                ],
            }
        )
    return {"text": summary, "blocks": blocks}


def _teams(summary: str, facts: list[tuple[str, str]], url: str | None) -> dict[str, Any]:
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {"type": "TextBlock", "text": summary, "weight": "Bolder", "wrap": True},
            {"type": "FactSet", "facts": [{"title": k, "value": v} for k, v in facts]},
        ],
    }
    if url:
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Open dashboard", "url": url}]
    return {
        "type": "message",
        "summary": summary,
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}
        ],
    }
