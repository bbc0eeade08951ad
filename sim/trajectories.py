"""Degradation trajectories: what a machine's sensors read over one life, from new to failure.

A :class:`Trajectory` is one life at cycle resolution; the plant maps cycles to plant time.
A :class:`TrajectorySource` describes where lives come from (C-MAPSS replay here, the wear
model in :mod:`sim.wear`) and opens a seeded :class:`TrajectoryStream` per plant, so two plants
built with the same seed draw the same lives in the same order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from sim.cmapss import EngineRun
from sim.errors import TrajectoryError
from sim.sensors import CMAPSS_SENSORS, SensorSpec


@dataclass(frozen=True, eq=False)
class Trajectory:
    """One machine life: ``values[i]`` holds the sensors during cycle ``i``; failure after the last.

    ``noise`` is a per-sensor standard deviation for sub-cycle jitter; ``health`` (1 = new,
    0 = failed) is the hidden state when the source has one.
    """

    source: str
    unit: int
    values: np.ndarray
    noise: np.ndarray
    health: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.values.ndim != 2 or self.values.shape[0] < 1:
            raise ValueError(
                f"trajectory {self.source}:{self.unit} needs a (cycles, sensors) array"
            )
        if self.noise.shape != (self.values.shape[1],):
            raise ValueError(
                f"trajectory {self.source}:{self.unit} noise must have one value per sensor"
            )

    @property
    def cycles(self) -> int:
        """The life length in cycles: the machine fails when cycle ``cycles`` would begin."""
        return int(self.values.shape[0])

    def at(self, position: float, interpolate: bool) -> np.ndarray:
        """Sensor values at a fractional cycle position in ``[0, cycles)``.

        Interpolating moves smoothly from one cycle's values to the next for sub-cycle sampling;
        otherwise the value holds for the whole cycle.
        """
        last = self.cycles - 1
        index = min(int(position), last)
        if not interpolate or index == last:
            return self.values[index]
        frac = position - index
        row = self.values[index]
        return row + (self.values[index + 1] - row) * frac


class TrajectoryStream(Protocol):
    """A seeded supply of fresh lives for one plant."""

    def next(self, machine_index: int) -> Trajectory:
        """The next fresh life for the machine at ``machine_index``."""
        ...


class TrajectorySource(Protocol):
    """Where lives come from; stateless, so it can be shared between plants."""

    @property
    def name(self) -> str: ...

    @property
    def sensors(self) -> tuple[SensorSpec, ...]: ...

    def stream(self, seed: int) -> TrajectoryStream:
        """Open a deterministic stream of lives for one plant."""
        ...


class CmapssSource:
    """Replays C-MAPSS engines; each engine is one life.

    The pool is injectable so the policy evaluation can replay held-out engines only.
    """

    name = "cmapss"
    sensors = CMAPSS_SENSORS

    def __init__(self, engines: Sequence[EngineRun]) -> None:
        if not engines:
            raise TrajectoryError("the C-MAPSS engine pool is empty; pass at least one engine")
        self._trajectories = tuple(_from_engine(e) for e in engines)

    @property
    def units(self) -> tuple[int, ...]:
        return tuple(t.unit for t in self._trajectories)

    def stream(self, seed: int) -> TrajectoryStream:
        return _Deck(self._trajectories, np.random.default_rng([seed, 0x5EED]))


class _Deck:
    """Deals engines like shuffled cards, reshuffling when the pool runs out.

    Dealing without replacement keeps one engine from running on many machines at once while
    pool engines remain, which a random pick would do on small held-out pools.
    """

    def __init__(self, pool: tuple[Trajectory, ...], rng: np.random.Generator) -> None:
        self._pool = pool
        self._rng = rng
        self._order: list[int] = []

    def next(self, machine_index: int) -> Trajectory:
        if not self._order:
            self._order = self._rng.permutation(len(self._pool)).tolist()[::-1]
        return self._pool[self._order.pop()]


def _from_engine(engine: EngineRun) -> Trajectory:
    # Measurement noise of a slowly drifting signal: std of first differences / sqrt(2).
    diffs = np.diff(engine.values, axis=0)
    noise = diffs.std(axis=0) / np.sqrt(2.0)
    return Trajectory("cmapss", engine.unit, engine.values, noise)
