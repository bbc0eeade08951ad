"""Each stage's face, pinned: the names other packages may import (``from alerts import X``).

As httpx's ``test_exported_members.py`` does, the face is derived from ``vars(package)`` (once
every name is resolved: faces import on first use) and must equal both ``__all__`` and the list
below, so adding, removing or leaking a name is a visible change.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from types import ModuleType

import pytest

FACES = {
    "alerts": [
        "Alert", "AlertNotFound", "AlertState", "AlertsConfig", "AlertsError", "Attempt",
        "Delivery", "DeliveryError", "DeliveryState", "DeliveryTimeout", "DispatchReport",
        "Dispatcher", "EndpointConfig", "EpisodeState", "Evaluation", "EvaluationReport",
        "MalformedSignature", "Rule", "RuleConfig", "Score", "Severity", "SignatureError",
        "SignatureMismatch", "StaleTimestamp", "TargetError", "TargetRefused",
        "TargetUnresolvable", "Transition", "TransitionKind", "UnknownEndpoint", "acknowledge",
        "attempts_of", "check_endpoints", "check_target", "dashboard_url", "disabled_endpoints",
        "enable_endpoint", "evaluate", "evaluate_latest", "generate_secret", "get_alert",
        "list_alerts", "list_deliveries", "send_test", "sign", "verify", "webhook_headers",
        # the alarm lifecycle (#21)
        "Activation", "AlarmFilter", "AlarmKpis", "AlarmPage", "AlarmState", "BadActor",
        "JournalEntry", "STATE_WORDS", "alarm_kpis", "alarm_state", "expire_shelves",
        "history_of", "kpis", "list_alarms", "rules_for", "set_out_of_service", "shelve",
        "unshelve",
        # the edge's episodes across an outage (#24)
        "AdoptReport", "EdgeEpisode", "EdgeTransition", "adopt_edge_transitions", "body_for",
        "central_episodes", "edge_event", "edge_heartbeat",
    ],
    "api": ["create_app"],
    "dashboard": ["DashboardConfig", "create_dashboard"],
    "features": [
        "FeatureJob", "FeatureState", "FeatureStore", "FeaturesConfig", "FeaturesError",
        "UnknownVersionError", "closed_bins", "empty_bins", "feature_state", "features_at",
        "features_from_bins", "latest_features", "load_training_frame", "plant_clock",
        "resolve_definition",
    ],
    "ingest": [
        "IngestConfig", "Pipeline", "Row", "run_collect", "to_epoch_us",
        # the edge decodes the collector's stream with the collector's decoders (#24)
        "TopicTemplate", "decode",
    ],
    "models": [
        "LatestRisk", "ModelArtifact", "ModelsConfig", "ModelsError", "NoActiveModelError",
        # the edge scores through LightGBM's C library, without its Python package (#24)
        "NativeBooster",
        "RegisteredModel", "Scorer", "active_version", "latest_risks", "load_model", "promote",
        "save_candidate", "score_frame", "score_latest", "train_model", "write_scores",
    ],
    "scheduler": [
        "CLOCK_SKEW", "FieldProblem", "Order", "OrderConflict", "OrderError", "OrderInvalid",
        "OrderNotFound", "OrderPage", "PlanStatus", "RiskRow",
        "ScheduleRecord", "SchedulerConfig", "SchedulerError",
        "Step", "StepOption", "cancel_order", "cancel_step", "claim_next", "create_order",
        "finish_step", "get_order", "get_schedule", "list_orders", "list_schedules",
        "plan_status", "replace_routing", "request_schedule", "risks_the_plan_answers",
        "run_worker", "solve_schedule", "start_step",
        "update_order", "update_step", "worker_name",
    ],
    "sim": [
        "CMAPSS_SENSORS", "CmapssSource", "EngineRun", "Event", "EventKind", "EventSink",
        "GroundTruth", "MachineSpec", "MachineState", "MachineStatus", "MaintenanceOrder",
        "Plant", "PlantTiming", "Reading", "ReadingSink", "RecordingSink", "Sample",
        "SensorSpec", "Trajectory", "TrajectorySource", "WearModel", "layout", "load_engines",
        "select_units", "split_engines",
    ],
}  # fmt: skip


@pytest.mark.parametrize("stage", sorted(FACES))
def test_face_is_pinned_and_derived_from_the_namespace(stage: str) -> None:
    package = importlib.import_module(stage)
    for name in package.__all__:
        assert getattr(package, name) is not None, f"{stage}.{name}"
    derived = sorted(
        name
        for name, value in vars(package).items()
        if not name.startswith("_") and not isinstance(value, ModuleType)
    )
    assert derived == sorted(package.__all__) == sorted(FACES[stage])


def test_an_unknown_name_is_an_attribute_error() -> None:
    import alerts

    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        alerts.nope  # noqa: B018


def test_importing_a_stage_config_does_not_load_its_face() -> None:
    """The composed settings import every stage's config; faces stay unloaded until used."""
    code = (
        "import sys, models.config, scheduler.config, dashboard.config\n"
        "heavy = [m for m in ('lightgbm', 'sklearn', 'ortools', 'dash') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
