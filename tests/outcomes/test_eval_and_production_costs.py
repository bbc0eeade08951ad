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


def test_parts_under_a_failing_machine_are_read_as_scrap(database: Database) -> None:
    """The MES's progress says which part was on the machine when it failed: started before
    the failure and not finished by it (still open, or reported finished later)."""
    from tests.outcomes.test_report import T0, _seed

    _seed(database)  # m-001 fails at 30 h and 150 h
    fail = T0 + timedelta(hours=30)
    database.execute(
        "INSERT INTO jobs (external_id, release_at, due_at) VALUES"
        " ('SO-1', %(t)s, %(t)s), ('SO-2', %(t)s, %(t)s), ('SO-3', %(t)s, %(t)s)",
        {"t": T0},
    )
    rows = [  # job, started, finished (hours after T0)
        ("SO-1", 29.0, None),  # under way at the failure, never finished: scrapped
        ("SO-2", 28.5, 31.0),  # reported finished after the failure: scrapped
        ("SO-3", 20.0, 29.5),  # finished before: not scrapped
    ]
    for job, started, finished in rows:
        database.execute(
            "INSERT INTO operations (job_id, seq, status, machine_id, started_at, finished_at)"
            " SELECT j.id, 0, %s, m.id, %s, %s FROM jobs j, machines m"
            " WHERE j.external_id = %s AND m.name = 'm-001'",
            (
                "in_progress" if finished is None else "done",
                T0 + timedelta(hours=started),
                None if finished is None else T0 + timedelta(hours=finished),
                job,
            ),
        )
    history = read_history(database, T0 + timedelta(days=10))
    scrapped = sorted((s.order, s.machine, s.at, s.processed_minutes) for s in history.scrapped)
    assert scrapped == [("SO-1", "m-001", fail, 60.0), ("SO-2", "m-001", fail, 90.0)]
    [plant] = outcome_figures(history, T0, T0 + timedelta(days=10))
    assert plant.scrapped_parts == 2
    assert plant.costs["scrap"] == 2 * 400.0 + 150 * 60.0 / 60.0  # material + 150 min × 60 €/h
