"""Outcome figures on a seeded plant with known failures, alerts, maintenance, plans and
orders, against values computed by hand (in the comments)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from outcomes import (
    AlertRecord,
    CostModel,
    Group,
    History,
    OrderRecord,
    PlannedTask,
    ScrapRecord,
    Stop,
    StopKind,
    counterfactual,
    outcome_figures,
)
from outcomes.counterfactual import Life, cost_rates, survival

T0 = datetime(2026, 1, 1, tzinfo=UTC)
END = T0 + timedelta(hours=240)
LINES = {"m1": "line-1", "m2": "line-1", "m3": "line-2"}


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def stop(machine: str, kind: StopKind, start: float, end: float, wear: bool = False) -> Stop:
    return Stop(machine, LINES[machine], kind, at(start), at(end), wear)


def alert(machine: str, opened: float) -> AlertRecord:
    return AlertRecord(machine, LINES[machine], at(opened))


F, M = StopKind.FAILURE, StopKind.MAINTENANCE
HISTORY = History(
    machines=LINES,
    stops=(
        stop("m2", M, -2, 3),  # begun before the period: 3 h of downtime, not booked again
        stop("m1", F, 34, 58),
        stop("m3", M, 50, 54),  # no wear found
        stop("m2", F, 100, 120),
        stop("m1", M, 130, 136, wear=True),
        stop("m3", F, 200, 224),  # no alert in the 72 h before: missed
    ),
    alerts=(
        alert("m1", 10),  # 24 h before m1's failure
        alert("m3", 40),  # maintenance without wear, failure 160 h later: false alarm
        alert("m2", 94),  # 6 h before m2's failure
        alert("m1", 120),  # confirmed by the maintenance that found wear
        alert("m2", 230),  # nothing follows: false alarm
    ),
    planned=(
        PlannedTask("m1", "line-1", at(100), at(130)),
        PlannedTask("m1", "line-1", at(120), at(130)),  # the same task, replanned: done
        PlannedTask("m2", "line-1", at(95), at(110)),  # the failure came first: not done
        PlannedTask("m3", "line-2", at(210), at(260)),  # still ahead: not done
    ),
    orders=(
        OrderRecord("O1", at(48), at(47), machines=("m1",)),  # on time
        OrderRecord("O2", at(100), at(103), machines=("m2",)),  # 3 h late
        OrderRecord("O3", at(230), None, machines=("m3",)),  # open, 10 h late by the end
        OrderRecord("O4", at(300), None, machines=("m1",)),  # due after the period
    ),
)


def test_plant_figures_match_the_hand_computation() -> None:
    [plant] = outcome_figures(HISTORY, T0, END)
    assert plant.machines == 3 and plant.machine_hours == 720.0
    assert plant.unplanned_downtime_hours == 68.0  # 24 + 20 + 24
    assert plant.planned_downtime_hours == 13.0  # 6 + 4 + 3 carried in
    assert plant.availability == pytest.approx(639 / 720)
    assert plant.failures == 3
    assert plant.mtbf_hours == pytest.approx(213.0)  # 639 running hours / 3
    assert plant.mttr_hours == pytest.approx(68 / 3)
    assert plant.predicted_failures == 2 and plant.recall == pytest.approx(2 / 3)
    assert plant.lead_time_median_hours == pytest.approx(15.0)  # leads 6 and 24
    assert plant.lead_time_p10_hours == pytest.approx(7.8)  # 6 + 0.1 × 18
    assert (plant.alerts, plant.false_alarms) == (5, 2)
    assert plant.false_alarm_rate == pytest.approx(0.4)
    assert (plant.maintenance_planned, plant.maintenance_done) == (3, 1)
    assert (plant.orders_due, plant.orders_on_time) == (3, 1)
    assert plant.on_time_rate == pytest.approx(1 / 3)
    assert plant.lateness_hours == pytest.approx(13.0)
    assert plant.costs == {
        "downtime": 81 * 150.0,
        "repairs": 3 * 6000.0,
        "maintenance": 2 * 1500.0,
        "scrap": 0.0,
        "tardiness": 13 * 40.0,
        "total": 12_150.0 + 18_000.0 + 3_000.0 + 520.0,
    }
    table = [(f.machine, f.lead_hours, f.cost) for f in plant.failure_list]
    assert table == [("m1", 24.0, 9600.0), ("m2", 6.0, 9000.0), ("m3", None, 9600.0)]


def test_a_failure_books_the_parts_it_scrapped() -> None:
    """Scrap from what happened: m2's failure at 100 h caught two parts, 90 and 30 minutes
    into processing; a scrap on a failure outside the period is not booked."""
    scrapped = (
        ScrapRecord("m2", "line-1", at(100), 90.0, "O2"),
        ScrapRecord("m2", "line-1", at(100), 30.0, "O5"),
        ScrapRecord("m3", "line-2", at(500), 10.0, "O6"),
    )
    history = replace(HISTORY, scrapped=scrapped)
    [plant] = outcome_figures(history, T0, END)
    # 2 × 400 € material + (90 + 30) min × 60 €/h = 800 + 120
    assert plant.scrapped_parts == 2 and plant.costs["scrap"] == pytest.approx(920.0)
    m2 = next(f for f in plant.failure_list if f.machine == "m2")
    assert m2.cost == pytest.approx(9000.0 + 920.0), "the failure's cost includes its scrap"
    lines = {f.group: f for f in outcome_figures(history, T0, END, group=Group.LINE)}
    assert lines["line-2"].scrapped_parts == 0


def test_figures_per_line_and_machine() -> None:
    lines = {f.group: f for f in outcome_figures(HISTORY, T0, END, group=Group.LINE)}
    assert set(lines) == {"line-1", "line-2"}
    one = lines["line-1"]
    assert one.machine_hours == 480.0
    assert (one.failures, one.unplanned_downtime_hours, one.planned_downtime_hours) == (2, 44, 9)
    assert one.availability == pytest.approx(427 / 480)
    assert one.recall == 1.0
    machines = {f.group: f for f in outcome_figures(HISTORY, T0, END, group=Group.MACHINE)}
    assert machines["m3"].recall == 0.0 and machines["m3"].false_alarm_rate == 1.0
    assert machines["m1"].false_alarms == 0 and machines["m1"].maintenance_done == 1


def test_a_period_cuts_stops_at_its_edges() -> None:
    [first] = outcome_figures(HISTORY, T0, at(40))
    # m1's failure at 34 h: 6 h inside, booked with its repair; m2's carried-in 3 h
    assert first.unplanned_downtime_hours == 6.0 and first.planned_downtime_hours == 3.0
    assert first.costs["repairs"] == 6000.0 and first.costs["downtime"] == 9 * 150.0


def test_unit_costs_come_from_the_shared_model() -> None:
    [plant] = outcome_figures(HISTORY, T0, END, costs=CostModel(repair=1000.0))
    assert plant.costs["repairs"] == 3000.0


def test_kaplan_meier_and_renewal_reward_by_hand() -> None:
    lives = [Life(10, True), Life(20, False), Life(30, True), Life(40, True)]
    times, surv = survival(lives)
    # at 10: 1 of 4 fail → 0.75; 20 censored; at 30: 1 of 2 → 0.375; at 40: 1 of 1 → 0
    assert times.tolist() == [10, 20, 30, 40]
    assert surv.tolist() == pytest.approx([0.75, 0.75, 0.375, 0.0])
    reactive, preventive, interval = cost_rates(lives, 100.0, 20.0, 5.0, 1.0)
    # mean life = 10 + 0.75·20 + 0.375·10 = 28.75; reactive = 100 / 33.75
    assert reactive == pytest.approx(100 / 33.75)
    # T = 10: 40 / 12; T = 20: (0.25·100 + 0.75·20) / (17.5 + 0.25·5 + 0.75·1) = 40 / 19.5;
    # T = 30: 70 / 28.5; T = 40: the reactive rate. The best age is 20.
    assert (preventive, interval) == (pytest.approx(40 / 19.5), 20.0)


def test_counterfactual_states_an_interval_and_its_assumptions() -> None:
    result = counterfactual(list(HISTORY.stops), T0, END, 3, CostModel())
    assert result is not None
    # lives: m2 3 → 100 (failed) and 120 → end; m1 58 → 130 and 136 → end; m3 54 → 200
    # (failed) and 224 → end: two complete, four censored
    assert (result.lives_complete, result.lives_censored) == (2, 4)
    # Kaplan–Meier: S = 1 until 97 h, 0.75 until 146 h, then 0: mean life 97 + 0.75 × 49;
    # a failure costs 6,000 + 150 € × the mean repair (68 / 3 h)
    mean_life = 97 + 0.75 * 49
    reactive = 720 * (6000 + 150 * 68 / 3) / (mean_life + 68 / 3)
    assert result.reactive.cost == pytest.approx(reactive)
    assert result.preventive.cost <= result.reactive.cost
    for estimate in (result.reactive, result.preventive):
        assert 0 < estimate.low <= estimate.high
    assert any("Kaplan" in line for line in result.assumptions)
    assert result.actual == pytest.approx(3 * 6000 + 2 * 1500 + (24 + 20 + 24 + 6 + 4) * 150)
