"""Alerts: risk episodes (thresholds, hysteresis, minimum duration) and signed webhooks.

Owns the ``alerts`` table (one row per episode), the webhook outbox (``webhook_deliveries``,
``webhook_attempts``, ``webhook_endpoints``) and the episode clocks (``alert_episode_state``).
Reads ``risk_scores`` (from `models`) and the current plan (from `scheduler`'s tables).

The face: other packages import only the names in ``__all__`` (``from alerts import X``);
each is imported on first use (:mod:`millwright.core.face`).
"""

import typing

import millwright.core.face as _face

if typing.TYPE_CHECKING:
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

_FACE = {
    "Alert": "alerts.store",
    "AlertNotFound": "alerts.errors",
    "AlertState": "alerts.episodes",
    "AlertsConfig": "alerts.config",
    "AlertsError": "alerts.errors",
    "Attempt": "alerts.outbox",
    "Delivery": "alerts.outbox",
    "DeliveryError": "alerts.errors",
    "DeliveryState": "alerts.outbox",
    "DeliveryTimeout": "alerts.errors",
    "DispatchReport": "alerts.dispatcher",
    "Dispatcher": "alerts.dispatcher",
    "EndpointConfig": "alerts.config",
    "EpisodeState": "alerts.episodes",
    "Evaluation": "alerts.episodes",
    "EvaluationReport": "alerts.service",
    "MalformedSignature": "alerts.errors",
    "Rule": "alerts.episodes",
    "RuleConfig": "alerts.config",
    "Score": "alerts.episodes",
    "Severity": "alerts.episodes",
    "SignatureError": "alerts.errors",
    "SignatureMismatch": "alerts.errors",
    "StaleTimestamp": "alerts.errors",
    "TargetError": "alerts.errors",
    "TargetRefused": "alerts.errors",
    "TargetUnresolvable": "alerts.errors",
    "Transition": "alerts.episodes",
    "TransitionKind": "alerts.episodes",
    "UnknownEndpoint": "alerts.errors",
    "acknowledge": "alerts.service",
    "attempts_of": "alerts.outbox",
    "check_endpoints": "alerts.service",
    "check_target": "alerts.targets",
    "dashboard_url": "alerts.service",
    "disabled_endpoints": "alerts.outbox",
    "enable_endpoint": "alerts.outbox",
    "evaluate": "alerts.episodes",
    "evaluate_latest": "alerts.service",
    "generate_secret": "alerts.signing",
    "get_alert": "alerts.store",
    "list_alerts": "alerts.store",
    "list_deliveries": "alerts.outbox",
    "send_test": "alerts.service",
    "sign": "alerts.signing",
    "verify": "alerts.signing",
    "webhook_headers": "alerts.signing",
}

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

__getattr__, __dir__ = _face.lazy_face(__name__, _FACE)
