"""The predictive policy's maintenance decision is production's rule, without a margin."""

from __future__ import annotations

from dataclasses import replace

from bench.plant.health import HealthScore
from bench.plant.planning import PlanningRules, build_problem
from bench.plant.shop import Shop

RULES = PlanningRules(
    cycle_minutes=60.0,
    maintenance_minutes=360,
    replan_minutes=720,
    window_minutes=480,
    risk_window_minutes=1440,
    crew=2,
    failure_cost=10_170.0,
    planned_cost=2_400.0,
    tardiness_per_minute=40.0 / 60.0,
    max_orders=4,
)


def _tasks(scores: dict[str, HealthScore], rules: PlanningRules = RULES) -> dict[str, object]:
    built = build_problem(Shop([], list(scores)), 0, {}, scores, rules)
    return {t.machine: t for t in built.problem.maintenance}


def test_maintenance_starts_by_rul_low_itself_when_it_falls_before_the_next_window() -> None:
    # rul_low 10 cycles = 600 min: start by 600 (no margin), from 120 (window 480 before);
    # the deadline adds the 360 min task because a machine under maintenance stops ageing.
    scores = {"m-1": HealthScore(rul=30.0, rul_low=10.0, p_fail=0.4)}
    built = build_problem(Shop([], ["m-1"]), 0, {}, scores, RULES)
    (task,) = built.problem.maintenance
    assert (task.release, task.deadline, built.latest_start["m-1"]) == (120, 960, 600)
    (risk,) = built.problem.risks
    assert risk.rul_low == 600 and risk.p_fail == 0.4


def test_rul_low_at_the_next_replan_plus_window_waits_for_a_fresher_prediction() -> None:
    # within = replan 720 + window 480 = 1200 min = 20 cycles; production's rule is strict.
    assert not _tasks({"m-1": HealthScore(40.0, 20.0, 0.2)})
    assert set(_tasks({"m-1": HealthScore(40.0, 19.9, 0.2)})) == {"m-1"}


def test_a_p_fail_threshold_alone_asks_for_maintenance_within_the_window() -> None:
    far = {"m-1": HealthScore(rul=90.0, rul_low=60.0, p_fail=0.3)}
    assert not _tasks(far), "production default: rul_low alone decides"
    (task,) = _tasks(far, replace(RULES, p_fail=0.3)).values()
    assert (task.release, task.deadline) == (0, 480 + 360)  # type: ignore[attr-defined]
    assert not _tasks(far, replace(RULES, p_fail=0.31))


def test_a_healthy_machine_gets_no_task_and_no_risk() -> None:
    healthy = {"m-1": HealthScore(200.0, 150.0, 0.001)}
    built = build_problem(Shop([], ["m-1"]), 0, {}, healthy, RULES)
    assert not built.problem.maintenance and not built.problem.risks
