"""The protocol-free plant core: exact lives, failures, maintenance and determinism."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from sim import (
    CmapssSource,
    EventKind,
    MachineState,
    MaintenanceOrder,
    Plant,
    PlantTiming,
    RecordingSink,
    WearModel,
    layout,
    load_engines,
    select_units,
    split_engines,
)
from sim.build import build_plant
from sim.config import SimConfig
from sim.errors import UnknownMachineError
from sim.runner import OrderInbox, run_plant

T0 = datetime(2024, 3, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _plant(seed: int = 7, machines: int = 6, **kwargs: object) -> Plant:
    engines = select_units(load_engines(), range(1, 11))
    return Plant(layout(machines, 2), CmapssSource(engines), start=T0, seed=seed, **kwargs)  # type: ignore[arg-type]


def test_bundled_fd001_has_100_engines_with_known_lengths() -> None:
    engines = load_engines()
    assert len(engines) == 100
    assert [e.cycles for e in engines[:3]] == [192, 287, 179]
    assert engines[0].values[0, 1] == pytest.approx(641.82)  # s2 = T24 of unit 1, cycle 1


def test_same_seed_same_events_and_samples_different_seed_differs() -> None:
    runs = []
    for seed in (7, 7, 8):
        plant = _plant(seed, subcycle_noise=1.0)
        plant.submit(MaintenanceOrder("m-002", T0 + 30 * HOUR))
        events = plant.advance_to(T0 + timedelta(days=40))
        runs.append((events, plant.sample()))
    assert runs[0] == runs[1]
    assert runs[0][0] != runs[2][0]


def test_replayed_engines_fail_exactly_when_their_life_ends() -> None:
    cycle = timedelta(minutes=30)
    plant = _plant(machines=10, stagger=False, timing=PlantTiming(cycle=cycle, repair=24 * HOUR))
    lives = {m.id: plant.ground_truth(m.id) for m in plant.machines}
    horizon = T0 + 100 * HOUR  # 200 cycles: some of units 1..10 (128..287 cycles) end inside
    expected = {
        (mid, T0 + cycle * gt.cycles, gt.unit)
        for mid, gt in lives.items()
        if T0 + cycle * gt.cycles <= horizon
    }
    events = plant.advance_to(horizon)
    failures = {(e.machine, e.ts, e.details["unit"]) for e in events if e.kind is EventKind.FAILURE}
    assert failures == expected
    assert 0 < len(expected) < 10
    assert sorted(gt.unit for gt in lives.values()) == list(range(1, 11))  # dealt, not repeated
    for mid, ts, _ in expected:
        repair = next(e for e in events if e.kind is EventKind.REPAIR and e.machine == mid)
        assert (repair.ts, repair.ends_at) == (ts, ts + 24 * HOUR)
        repaired = ts + 24 * HOUR <= horizon
        assert plant.status(mid).state is (MachineState.RUNNING if repaired else MachineState.DOWN)


def test_down_machine_restarts_fresh_after_repair() -> None:
    plant = _plant(machines=1, stagger=False)
    first = plant.ground_truth("m-001")
    failed_at = T0 + HOUR * first.cycles
    plant.advance_to(failed_at + 23 * HOUR)
    assert plant.sample() == []
    plant.advance_to(failed_at + 24 * HOUR)
    status = plant.status("m-001")
    assert (status.state, status.life_started, status.cycle) == (
        MachineState.RUNNING,
        failed_at + 24 * HOUR,
        0.0,
    )
    assert plant.ground_truth("m-001").unit != first.unit


def test_maintenance_order_runs_at_planned_time_and_restarts_fresh() -> None:
    plant = _plant(machines=2, stagger=False)
    before = plant.ground_truth("m-001")
    planned = T0 + 10 * HOUR
    plant.submit(MaintenanceOrder("m-001", planned, order_id="wo-1"))
    assert plant.advance_to(planned - timedelta(seconds=1)) == []
    events = plant.advance_to(planned)
    assert [(e.kind, e.ts, e.ends_at, e.details["order_id"]) for e in events] == [
        (EventKind.MAINTENANCE, planned, planned + 6 * HOUR, "wo-1")
    ]
    assert events[0].details["remaining_cycles"] == before.cycles - 10
    assert plant.status("m-001").state is MachineState.MAINTENANCE
    assert [s.machine for s in plant.sample()] == ["m-002"]
    plant.advance_to(planned + 6 * HOUR)
    after = plant.ground_truth("m-001")
    assert after.life_started == planned + 6 * HOUR
    assert after.failure_at == planned + 6 * HOUR + HOUR * after.cycles
    np.testing.assert_array_equal(plant.history("m-001"), load_engines()[after.unit - 1].values[:1])
    # the old life's failure never happens
    events = plant.advance_to(T0 + HOUR * before.cycles + HOUR)
    old_failure = ("m-001", EventKind.FAILURE, T0 + HOUR * before.cycles)
    assert old_failure not in {(e.machine, e.kind, e.ts) for e in events}


def test_orders_can_be_moved_cancelled_and_are_skipped_while_down() -> None:
    plant = _plant(machines=1, stagger=False)
    life = plant.ground_truth("m-001").cycles
    plant.submit(MaintenanceOrder("m-001", T0 + 5 * HOUR, order_id="a"))
    plant.submit(MaintenanceOrder("m-001", T0 + 8 * HOUR, order_id="a"))  # moved
    plant.submit(MaintenanceOrder("m-001", T0 + 9 * HOUR, order_id="b"))
    assert plant.cancel("b") and not plant.cancel("b")
    events = plant.advance_to(T0 + 20 * HOUR)
    assert [(e.kind, e.ts) for e in events] == [(EventKind.MAINTENANCE, T0 + 8 * HOUR)]
    plant2 = _plant(machines=1, stagger=False)
    plant2.submit(MaintenanceOrder("m-001", T0 + HOUR * (life + 1)))
    events = plant2.advance_to(T0 + HOUR * (life + 2))
    assert [e.kind for e in events] == [
        EventKind.FAILURE,
        EventKind.REPAIR,
        EventKind.MAINTENANCE_SKIPPED,
    ]
    with pytest.raises(UnknownMachineError, match="m-999"):
        plant.submit(MaintenanceOrder("m-999", T0))


def test_sampling_never_changes_events() -> None:
    sampled, unsampled = _plant(subcycle_noise=1.0), _plant(subcycle_noise=1.0)
    events = []
    t = T0
    while t < T0 + timedelta(days=20):
        t += timedelta(minutes=10)
        events += sampled.advance_to(t)
        sampled.sample()
    assert events == unsampled.advance_to(t)


def test_samples_follow_the_trajectory_by_cycle() -> None:
    plant = _plant(machines=1, stagger=False, interpolate=False)
    unit = plant.ground_truth("m-001").unit
    plant.advance_to(T0 + 5 * HOUR + timedelta(minutes=30))
    (sample,) = plant.sample()
    row = load_engines()[unit - 1].values[5]
    assert list(sample.values.values()) == row.tolist()
    assert sample.values["t24_lpc_outlet_temp"] == row[1]
    assert len(sample.readings()) == 21


def test_wear_model_lives_end_in_failure_with_falling_health() -> None:
    plant = Plant(layout(4, 1), WearModel(n_sensors=12), start=T0, seed=3, stagger=False)
    truth = plant.ground_truth("m-002")
    assert truth.health is not None and truth.health > 0.99
    plant.advance_to(T0 + HOUR * (truth.cycles - 1))
    assert plant.ground_truth("m-002").health == pytest.approx(0.0, abs=0.05)
    events = plant.advance_to(T0 + HOUR * truth.cycles)
    assert ("m-002", EventKind.FAILURE) in {(e.machine, e.kind) for e in events}
    assert len(plant.sensors) == 12


def test_split_engines_is_by_unit_and_seeded() -> None:
    engines = load_engines()
    train, held = split_engines(engines, 0.2, seed=4)
    assert len(held) == 20 and len(train) == 80
    assert not {e.unit for e in train} & {e.unit for e in held}
    assert [e.unit for e in held] == [e.unit for e in split_engines(engines, 0.2, seed=4)[1]]


def test_runner_delivers_same_events_as_direct_stepping_and_takes_orders() -> None:
    config = SimConfig(machines=5, lines=1, seed=2, engine_units=[1, 2, 3, 4, 5, 6])
    plant, reference = build_plant(config, start=T0), build_plant(config, start=T0)
    sink, inbox = RecordingSink(), OrderInbox()
    inbox.put(MaintenanceOrder("m-003", T0 + 2 * HOUR))
    inbox.put(MaintenanceOrder("m-404", T0))
    stats = asyncio.run(
        run_plant(
            plant,
            sample_interval=timedelta(minutes=30),
            until=T0 + 300 * HOUR,
            reading_sinks=[sink],
            event_sinks=[sink],
            inbox=inbox,
        )
    )
    reference.submit(MaintenanceOrder("m-003", T0 + 2 * HOUR))
    assert sink.events == reference.advance_to(T0 + 300 * HOUR)
    assert (stats.ticks, stats.orders, stats.rejected_orders) == (601, 1, 1)
    assert sink.samples[0].ts == T0 and sink.samples[-1].ts == T0 + 300 * HOUR


def test_a_plant_year_steps_in_well_under_a_second() -> None:
    import time

    plant = _plant(machines=50)
    began = time.perf_counter()
    for _ in range(24 * 365):
        plant.advance(HOUR)
    assert time.perf_counter() - began < 1.0
