"""A parametric wear model: many machines and sensors with a hidden health state.

C-MAPSS has 100 engines and 21 sensors; plants to benchmark ingestion or scheduling need more
of both. Each machine draws its own wear rate and curve shape (per-machine variation), each
life its own length, and each sensor reads a baseline drifted by lost health plus noise.
Health starts at 1 and reaches 0 in the last cycle; the machine fails right after.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.sensors import SensorSpec
from sim.trajectories import Trajectory, TrajectoryStream

# (id stem, description, unit, typical baseline)
_KINDS: tuple[tuple[str, str, str, float], ...] = (
    ("vibration_rms", "vibration velocity RMS", "mm/s", 2.5),
    ("bearing_temp", "bearing temperature", "°C", 55.0),
    ("motor_current", "motor current", "A", 32.0),
    ("oil_pressure", "lubrication oil pressure", "bar", 4.0),
    ("spindle_speed", "spindle speed", "rpm", 1450.0),
    ("acoustic_level", "acoustic emission level", "dB", 72.0),
)


@dataclass(frozen=True)
class WearModel:
    """Parameters of the wear model; a :class:`sim.trajectories.TrajectorySource`.

    ``informative_fraction`` of the sensors drift with lost health, the others only carry noise,
    as in real plants where most tags say nothing about a given failure mode.
    """

    n_sensors: int = 8
    mean_life_cycles: float = 200.0
    life_cv: float = 0.25
    machine_cv: float = 0.15
    noise: float = 0.01
    informative_fraction: float = 0.75
    name: str = "wear"

    def __post_init__(self) -> None:
        if self.n_sensors < 1:
            raise ValueError(f"n_sensors must be at least 1, got {self.n_sensors}")
        if self.mean_life_cycles < 10:
            raise ValueError(f"mean_life_cycles must be at least 10, got {self.mean_life_cycles}")
        if min(self.life_cv, self.machine_cv, self.noise) < 0:
            raise ValueError("life_cv, machine_cv and noise must be non-negative")
        if not 0.0 <= self.informative_fraction <= 1.0:
            raise ValueError("informative_fraction must be in [0, 1]")

    @property
    def sensors(self) -> tuple[SensorSpec, ...]:
        specs = []
        for i in range(self.n_sensors):
            stem, desc, unit, _ = _KINDS[i % len(_KINDS)]
            n = i // len(_KINDS) + 1
            specs.append(SensorSpec(f"{stem}_{n}", f"{desc} #{n}", unit))
        return tuple(specs)

    def stream(self, seed: int) -> TrajectoryStream:
        return _WearStream(self, seed)


@dataclass(frozen=True)
class _MachineWear:
    rate: float
    shape: float
    base: np.ndarray
    drift: np.ndarray
    curve: np.ndarray


class _WearStream:
    def __init__(self, model: WearModel, seed: int) -> None:
        self._model = model
        self._seed = seed
        self._rng = np.random.default_rng([seed, 0xAEA2])
        self._machines: dict[int, _MachineWear] = {}
        self._lives = 0
        m = model
        sensor_rng = np.random.default_rng([seed, 0x5E05])
        self._kind_base = np.array([_KINDS[i % len(_KINDS)][3] for i in range(m.n_sensors)])
        informative = sensor_rng.random(m.n_sensors) < m.informative_fraction
        sign = np.where(sensor_rng.random(m.n_sensors) < 0.7, 1.0, -1.0)
        self._drift = informative * sign * sensor_rng.uniform(0.05, 0.4, m.n_sensors)

    def _machine(self, index: int) -> _MachineWear:
        if index not in self._machines:
            rng = np.random.default_rng([self._seed, 0xAEA2, index])
            m = self._model
            self._machines[index] = _MachineWear(
                rate=float(rng.lognormal(0.0, m.machine_cv)),
                shape=float(rng.uniform(1.5, 3.0)),
                base=self._kind_base * rng.uniform(0.97, 1.03, m.n_sensors),
                drift=self._drift * rng.uniform(0.8, 1.2, m.n_sensors),
                curve=rng.uniform(1.0, 2.5, m.n_sensors),
            )
        return self._machines[index]

    def next(self, machine_index: int) -> Trajectory:
        m = self._model
        mw = self._machine(machine_index)
        life = m.mean_life_cycles / mw.rate * float(self._rng.lognormal(0.0, m.life_cv))
        cycles = max(10, round(life))
        progress = np.arange(1, cycles + 1) / cycles
        health = 1.0 - progress**mw.shape
        lost = (1.0 - health)[:, None] ** mw.curve[None, :]
        noise = m.noise * mw.base
        values = mw.base * (1.0 + mw.drift * lost)
        values = values + self._rng.standard_normal(values.shape) * noise
        self._lives += 1
        return Trajectory(m.name, self._lives, values, noise, health)
