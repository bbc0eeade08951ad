"""The simulator's public surface, pinned, and the wall-clock pacing of a run."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest

import sim
from sim.clock import SimClock
from sim.config import SimConfig
from sim.runner import run_plant

T0 = datetime(2024, 3, 1, tzinfo=UTC)


def test_public_api_is_pinned() -> None:
    assert sorted(sim.__all__) == [
        "CMAPSS_SENSORS",
        "CmapssSource",
        "EngineRun",
        "Event",
        "EventKind",
        "EventSink",
        "GroundTruth",
        "MachineSpec",
        "MachineState",
        "MachineStatus",
        "MaintenanceOrder",
        "Plant",
        "PlantTiming",
        "Reading",
        "ReadingSink",
        "RecordingSink",
        "Sample",
        "SensorSpec",
        "Trajectory",
        "TrajectorySource",
        "WearModel",
        "layout",
        "load_engines",
        "select_units",
        "split_engines",
    ]
    assert len({s.id for s in sim.CMAPSS_SENSORS}) == 21


def test_speed_runs_plant_time_faster_than_wall_time() -> None:
    plant = sim.Plant(sim.layout(2, 1), sim.WearModel(), start=T0, seed=1)
    began = time.monotonic()
    stats = asyncio.run(
        run_plant(
            plant,
            sample_interval=timedelta(minutes=10),
            speed=36_000,
            until=T0 + timedelta(hours=2),
        )
    )
    elapsed = time.monotonic() - began
    assert stats.ticks == 13
    assert 0.19 <= elapsed < 1.5  # 7200 plant s at 36000× = 0.2 wall s


def test_clock_maps_plant_time_to_wall_time() -> None:
    now = [100.0]
    clock = SimClock(T0, 3600, wall=lambda: now[0])
    assert clock.wall_deadline(T0 + timedelta(hours=2)) == 102.0
    now[0] = 103.0
    assert clock.lag(T0 + timedelta(hours=2)) == 1.0


def test_config_refuses_bad_values_with_the_setting_named() -> None:
    with pytest.raises(ValueError, match="opcua_endpoint"):
        SimConfig(opcua_endpoint="http://x")
    with pytest.raises(ValueError, match="mqtt_batch_topic"):
        SimConfig(mqtt_batch_topic="{prefix}/{sensor}")
    with pytest.raises(ValueError, match="start"):
        SimConfig(start=datetime(2024, 1, 1))
