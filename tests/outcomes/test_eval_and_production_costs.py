"""One event history, two readers: the plant evaluation books it on its ledger as it runs,
production reads it back from the database; both come to the same euros, category by
category, because both use :mod:`outcomes.costs`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bench.plant.costs import CostModel as EvalCostModel
from bench.plant.costs import Ledger as EvalLedger
from bench.plant.policies import PlantView
from bench.plant.run import _apply
from bench.plant.shop import Shop
from millwright.core.storage import Database
from outcomes import CostModel, Group, outcome_figures
from outcomes.store import read_history
from sim.build import build_plant
from sim.config import SimConfig
from sim.db_sinks import DatabaseEventSink
from sim.records import MaintenanceOrder

START = datetime(2026, 3, 1, tzinfo=UTC)
HOURS = 24 * 20


def test_eval_plant_and_production_cost_the_same_history(database: Database) -> None:
    assert EvalCostModel is CostModel and EvalLedger.__module__ == "outcomes.costs"
    plant = build_plant(SimConfig(machines=6, lines=2, seed=3, start=START))
    view = PlantView(plant, Shop([], [m.id for m in plant.machines]), START)
    ledger = EvalLedger(CostModel())
    sink = DatabaseEventSink(database)
    sink.register_machines([(m.id, m.line) for m in plant.machines])
    end_minutes = HOURS * 60
    for hour in range(HOURS):
        events = plant.advance(timedelta(hours=1))
        for event in events:
            _apply(event, view, ledger, end_minutes)
        sink.write_events(events)
        if hour % 50 == 7:  # now and then a planned maintenance, 2 h ahead
            machine = plant.machines[hour % 6].id
            plant.submit(MaintenanceOrder(machine, plant.now + timedelta(hours=2), f"o{hour}"))
    assert ledger.failures >= 2 and ledger.maintenance_count >= 2

    end = START + timedelta(hours=HOURS)
    [figures] = outcome_figures(read_history(database, end), START, end, group=Group.PLANT)
    assert figures.failures == ledger.failures
    assert figures.costs == ledger.by_category()
    assert figures.unplanned_downtime_hours + figures.planned_downtime_hours == (
        ledger.downtime_minutes / 60
    )


def test_alerts_from_the_database_count_toward_recall(database: Database) -> None:
    sink = DatabaseEventSink(database)
    sink.register_machines([("m-001", "line-1")])
    from sim.records import Event, EventKind

    t = START + timedelta(hours=50)
    sink.write_events(
        [
            Event(t, "line-1", "m-001", EventKind.FAILURE, None, {}),
            Event(t, "line-1", "m-001", EventKind.REPAIR, t + timedelta(hours=24), {}),
        ]
    )
    database.execute(
        "INSERT INTO alerts (machine_id, rule, severity, state, opened_at)"
        " SELECT id, 'risk', 'warning', 'resolved', %s FROM machines WHERE name = 'm-001'",
        (t - timedelta(hours=30),),
    )
    end = START + timedelta(days=5)
    [figures] = outcome_figures(read_history(database, end), START, end)
    assert (figures.failures, figures.recall, figures.lead_time_median_hours) == (1, 1.0, 30.0)
    assert figures.mttr_hours == 24.0
