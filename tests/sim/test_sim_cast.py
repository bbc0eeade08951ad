"""The demo's rotating cast of degrading machines, and a restarted simulator that continues
exactly where the recorded one stopped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from millwright.core.storage import Database
from sim.build import build_plant
from sim.config import SimConfig
from sim.db_sinks import DatabaseEventSink, recorded_maintenance
from sim.records import MachineState, MaintenanceOrder

START = datetime(2026, 1, 1, tzinfo=UTC)
WINDOW = timedelta(hours=16)


def _config(**changes: Any) -> SimConfig:
    return SimConfig(machines=12, lines=3, seed=7, start=START, **changes)


def _due(plant) -> list[datetime]:  # type: ignore[no-untyped-def]
    return sorted(
        plant.ground_truth(m.id).failure_at
        for m in plant.machines
        if plant.status(m.id).state is MachineState.RUNNING
    )


def test_some_machine_is_always_wearing_out_however_often_it_is_maintained() -> None:
    plant = build_plant(_config(cast_window_hours=16.0))
    for hour in range(24 * 15):
        plant.advance(timedelta(hours=1))
        due = _due(plant)
        assert due[0] - plant.now <= WINDOW, f"hour {hour}: nobody near failure"
        assert due[1] - plant.now <= 2 * WINDOW, f"hour {hour}: nobody next in line"
        # an eager maintainer: whatever is within a day of failing is maintained in 2 h
        for m in plant.machines:
            failure_at = plant.ground_truth(m.id).failure_at
            soon = failure_at is not None and failure_at - plant.now < timedelta(days=1)
            if soon and not plant.pending_orders(m.id):
                plant.submit(MaintenanceOrder(m.id, plant.now + timedelta(hours=2)))
    healthy = [t for t in _due(plant) if t - plant.now > 4 * WINDOW]
    assert len(healthy) >= 4, "most of the cast is healthy at any time"


def test_without_a_cast_lives_run_as_drawn() -> None:
    plain, cast = build_plant(_config()), build_plant(_config(cast_window_hours=16.0))
    assert _due(plain)[0] - START > 2 * WINDOW  # seed 7: the first failure is days away
    assert _due(cast)[0] - START == WINDOW


def test_restart_replays_recorded_maintenance_to_the_same_state(database: Database) -> None:
    config = _config(cast_window_hours=16.0)
    live = build_plant(config)
    sink = DatabaseEventSink(database)
    sink.register_machines([(m.id, m.line) for m in live.machines])
    for step in range(72):
        events = live.advance(timedelta(hours=1))
        sink.write_events(events)
        if step % 10 == 3:  # the plan sends a machine for maintenance now and then
            target = live.machines[step % 12].id
            live.submit(MaintenanceOrder(target, live.now + timedelta(hours=1), "plan-x"))
    stopped = live.now
    orders = recorded_maintenance(database, stopped)
    assert len(orders) >= 5

    restarted = build_plant(config)
    for order in orders:
        restarted.submit(order)
    restarted.advance_to(stopped)
    for m in live.machines:
        assert restarted.ground_truth(m.id) == live.ground_truth(m.id)
        assert restarted.status(m.id) == live.status(m.id)
    assert [s.values for s in restarted.sample()] == [s.values for s in live.sample()]
