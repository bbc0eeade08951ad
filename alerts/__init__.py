"""Alerts: risk episodes (thresholds, hysteresis, minimum duration) and signed webhooks.

Owns the ``alerts`` table (one row per episode), the webhook outbox (``webhook_deliveries``,
``webhook_attempts``, ``webhook_endpoints``) and the episode clocks (``alert_episode_state``).
Reads ``risk_scores`` (from `models`) and the current plan (from `scheduler`'s tables).
"""

from alerts.config import AlertsConfig, EndpointConfig, RuleConfig
from alerts.dispatcher import Dispatcher, DispatchReport
from alerts.episodes import (
    AlertState,
    EpisodeState,
    Evaluation,
    Rule,
    Score,
    Severity,
    Transition,
    TransitionKind,
    evaluate,
)
from alerts.errors import (
    AlertNotFound,
    AlertsError,
    DeliveryError,
    DeliveryTimeout,
    MalformedSignature,
    SignatureError,
    SignatureMismatch,
    StaleTimestamp,
    TargetError,
    TargetRefused,
    TargetUnresolvable,
    UnknownEndpoint,
)
from alerts.outbox import (
    Attempt,
    Delivery,
    DeliveryState,
    attempts_of,
    disabled_endpoints,
    enable_endpoint,
    list_deliveries,
)
from alerts.service import (
    EvaluationReport,
    acknowledge,
    check_endpoints,
    dashboard_url,
    evaluate_latest,
    send_test,
)
from alerts.signing import generate_secret, sign, verify, webhook_headers
from alerts.store import Alert, get_alert, list_alerts
from alerts.targets import check_target

__all__ = [
    "Alert",
    "AlertNotFound",
    "AlertState",
    "AlertsConfig",
    "AlertsError",
    "Attempt",
    "Delivery",
    "DeliveryError",
    "DeliveryState",
    "DeliveryTimeout",
    "DispatchReport",
    "Dispatcher",
    "EndpointConfig",
    "EpisodeState",
    "Evaluation",
    "EvaluationReport",
    "MalformedSignature",
    "Rule",
    "RuleConfig",
    "Score",
    "Severity",
    "SignatureError",
    "SignatureMismatch",
    "StaleTimestamp",
    "TargetError",
    "TargetRefused",
    "TargetUnresolvable",
    "Transition",
    "TransitionKind",
    "UnknownEndpoint",
    "acknowledge",
    "attempts_of",
    "check_endpoints",
    "check_target",
    "dashboard_url",
    "disabled_endpoints",
    "enable_endpoint",
    "evaluate",
    "evaluate_latest",
    "generate_secret",
    "get_alert",
    "list_alerts",
    "list_deliveries",
    "send_test",
    "sign",
    "verify",
    "webhook_headers",
]
