"""Builds a :class:`~sim.plant.Plant` from the `[sim]` settings (pydantic stays at this edge)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sim.cmapss import EngineRun, load_engines, select_units
from sim.config import SimConfig
from sim.plant import Plant, PlantTiming, layout
from sim.trajectories import CmapssSource, TrajectorySource
from sim.wear import WearModel


def build_source(config: SimConfig, engines: Sequence[EngineRun] | None = None) -> TrajectorySource:
    """The configured trajectory source; ``engines`` overrides the C-MAPSS pool."""
    if config.trajectory_source == "wear":
        return WearModel(
            n_sensors=config.wear_sensors, mean_life_cycles=config.wear_mean_life_cycles
        )
    pool: Sequence[EngineRun] = engines if engines is not None else load_engines()
    if engines is None and config.engine_units is not None:
        pool = select_units(pool, config.engine_units)
    return CmapssSource(pool)


def build_plant(
    config: SimConfig,
    *,
    engines: Sequence[EngineRun] | None = None,
    start: datetime | None = None,
    seed: int | None = None,
) -> Plant:
    """The plant the settings describe.

    It starts at ``start``, else ``config.start``, else the current hour; ``engines`` replaces
    the C-MAPSS pool (held-out engines for the policy evaluation) and ``seed`` the configured seed.
    """
    start = start or config.start or datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return Plant(
        layout(config.machines, config.lines),
        build_source(config, engines),
        start=start.astimezone(UTC),
        seed=config.seed if seed is None else seed,
        timing=PlantTiming(
            cycle=config.cycle,
            repair=timedelta(hours=config.repair_hours),
            maintenance=timedelta(hours=config.maintenance_hours),
        ),
        stagger=config.stagger,
        interpolate=config.interpolate,
        subcycle_noise=config.subcycle_noise,
        cast_window=timedelta(hours=config.cast_window_hours)
        if config.cast_window_hours is not None
        else None,
    )
