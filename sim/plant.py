"""The protocol-free plant: machines on lines living, failing and being maintained in plant time.

The plant is a discrete-event model. Each running machine follows one trajectory (a life) that
started at ``life_started``; it fails exactly ``cycles × cycle`` later, is repaired for
``timing.repair`` and restarts on a fresh trajectory. A maintenance order stops a running
machine at its planned time for ``timing.maintenance`` and restarts it fresh as well.

With a ``cast_window`` the plant keeps a rotating cast of degrading machines (the demo's plant):
the machine due soonest always fails within the window and the next within twice the window;
one that would fail later develops a fault: its wear jumps ahead so that it fails at that bound
unless maintained. Whatever the plan fixes, some machine is always wearing out, the next is on
its way, and the others are healthy.

:meth:`Plant.advance_to` only touches the event queue, so a plant-month costs as many steps as it
has events: the policy evaluation never has to generate readings. :meth:`Plant.sample` reads the
sensors at the current time as a pure function of state and time (noise is seeded by machine
and timestamp), so sampling more or less often never changes lives, events or other samples.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from sim.errors import UnknownMachineError
from sim.records import (
    Event,
    EventKind,
    MachineSpec,
    MachineState,
    MachineStatus,
    MaintenanceOrder,
    Sample,
    require_utc,
)
from sim.sensors import SensorSpec
from sim.trajectories import Trajectory, TrajectorySource

_RESTART, _FAIL, _ORDER = 0, 1, 2  # tie-break at equal times: restarts, then failures, then orders


@dataclass(frozen=True)
class PlantTiming:
    """How plant time relates to trajectories and how long interventions take."""

    cycle: timedelta = timedelta(hours=1)
    repair: timedelta = timedelta(hours=24)
    maintenance: timedelta = timedelta(hours=6)

    def __post_init__(self) -> None:
        for name in ("cycle", "repair", "maintenance"):
            value = getattr(self, name)
            if value <= timedelta(0):
                raise ValueError(f"{name} time must be positive, got {value}")


@dataclass(frozen=True)
class GroundTruth:
    """What only the simulator knows: the current life's source, length and failure time.

    For evaluation (the oracle policy, labels), never for a model's inputs.
    """

    machine: str
    source: str
    unit: int
    cycles: int
    life_started: datetime
    failure_at: datetime | None
    """When the current life ends if nothing intervenes; None while down or in maintenance."""
    remaining_cycles: float | None
    health: float | None


@dataclass
class _Machine:
    index: int
    spec: MachineSpec
    trajectory: Trajectory
    life_started: datetime
    state: MachineState = MachineState.RUNNING
    since: datetime | None = None
    epoch: int = 0
    orders: dict[str, MaintenanceOrder] = field(default_factory=dict)
    order_seq: dict[str, int] = field(default_factory=dict)


def layout(machines: int, lines: int) -> tuple[MachineSpec, ...]:
    """Machines ``m-001``.. spread in contiguous blocks over lines ``line-1``..``line-K``."""
    if machines < 1 or lines < 1:
        raise ValueError(f"need at least one machine and one line, got {machines} and {lines}")
    lines = min(lines, machines)
    return tuple(
        MachineSpec(f"m-{i + 1:03d}", f"line-{i * lines // machines + 1}") for i in range(machines)
    )


class Plant:
    """Machines, their lives and interventions, advanced by plant time. Not thread-safe."""

    def __init__(
        self,
        machines: Sequence[MachineSpec],
        source: TrajectorySource,
        *,
        start: datetime,
        seed: int = 0,
        timing: PlantTiming | None = None,
        stagger: bool = True,
        interpolate: bool = True,
        subcycle_noise: float = 0.0,
        cast_window: timedelta | None = None,
    ) -> None:
        """Build the plant at ``start``.

        ``stagger`` starts each machine part-way (0–80 %) through its first life, as in a plant
        that has been running for a while; otherwise every machine starts new at ``start``.
        ``subcycle_noise`` scales per-sensor measurement noise added to each sample.
        ``cast_window`` keeps a rotating cast of degrading machines (module docstring).
        """
        require_utc(start, "plant start")
        if not machines:
            raise ValueError("a plant needs at least one machine")
        ids = [m.id for m in machines]
        if len(set(ids)) != len(ids):
            raise ValueError("machine ids must be unique")
        if subcycle_noise < 0:
            raise ValueError(f"subcycle_noise must be non-negative, got {subcycle_noise}")
        if cast_window is not None and cast_window <= timedelta(0):
            raise ValueError(f"cast_window must be positive, got {cast_window}")
        self.seed = seed
        self._cast = cast_window
        self.timing = timing or PlantTiming()
        self.sensors: tuple[SensorSpec, ...] = tuple(source.sensors)
        self.source_name = source.name
        self._sensor_ids = tuple(s.id for s in self.sensors)
        self._interpolate = interpolate
        self._noise = subcycle_noise
        self._stream = source.stream(seed)
        self._now = start
        self._queue: list[tuple[datetime, int, int, int, int, str]] = []
        self._seq = 0
        stagger_rng = np.random.default_rng([seed, 0x57A6])
        self._machines: list[_Machine] = []
        self._by_id: dict[str, _Machine] = {}
        for index, spec in enumerate(machines):
            trajectory = self._stream.next(index)
            offset = (
                int(stagger_rng.integers(0, max(1, int(0.8 * trajectory.cycles)))) if stagger else 0
            )
            m = _Machine(index, spec, trajectory, start - self.timing.cycle * offset, since=start)
            self._machines.append(m)
            self._by_id[spec.id] = m
            self._push_failure(m)
        self._keep_cast(start)

    # -- observing -------------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        return self._now

    @property
    def machines(self) -> tuple[MachineSpec, ...]:
        return tuple(m.spec for m in self._machines)

    def status(self, machine: str) -> MachineStatus:
        m = self._get(machine)
        return MachineStatus(
            m.spec.id, m.spec.line, m.state, m.since or self._now, m.life_started, self._position(m)
        )

    def statuses(self) -> list[MachineStatus]:
        return [self.status(m.spec.id) for m in self._machines]

    def sample(self, machines: Sequence[str] | None = None) -> list[Sample]:
        """Sensor values of every running machine (or the named ones) at the current time."""
        chosen = self._machines if machines is None else [self._get(i) for i in machines]
        stamp = int(self._now.timestamp() * 1_000_000)
        out = []
        for m in chosen:
            if m.state is not MachineState.RUNNING:
                continue
            values = m.trajectory.at(self._position(m), self._interpolate)
            if self._noise > 0:
                rng = np.random.default_rng([self.seed, m.index, stamp])
                values = (
                    values + rng.standard_normal(values.shape) * m.trajectory.noise * self._noise
                )
            out.append(
                Sample(
                    self._now,
                    m.spec.line,
                    m.spec.id,
                    dict(zip(self._sensor_ids, values.tolist(), strict=True)),
                )
            )
        return out

    def history(self, machine: str) -> np.ndarray:
        """Per-cycle sensor rows of the current life seen so far (empty unless running).

        The cycle-resolution view a policy evaluation feeds its model, without readings.
        """
        m = self._get(machine)
        if m.state is not MachineState.RUNNING:
            return m.trajectory.values[:0]
        return m.trajectory.values[: int(self._position(m)) + 1]

    def ground_truth(self, machine: str) -> GroundTruth:
        m = self._get(machine)
        t = m.trajectory
        running = m.state is MachineState.RUNNING
        pos = self._position(m)
        health = None
        if running and t.health is not None:
            health = float(t.health[min(int(pos), t.cycles - 1)])
        return GroundTruth(
            m.spec.id,
            t.source,
            t.unit,
            t.cycles,
            m.life_started,
            self._failure_at(m) if running else None,
            t.cycles - pos if running else None,
            health,
        )

    def pending_orders(self, machine: str | None = None) -> list[MaintenanceOrder]:
        chosen = self._machines if machine is None else [self._get(machine)]
        orders = [o for m in chosen for o in m.orders.values()]
        return sorted(orders, key=lambda o: (o.planned_at, o.machine, o.order_id))

    def next_event_time(self) -> datetime | None:
        """When the next failure, restart or order is due (skipping stale queue entries)."""
        while self._queue and not self._live(self._queue[0]):
            heapq.heappop(self._queue)
        return self._queue[0][0] if self._queue else None

    # -- acting ----------------------------------------------------------------------------

    def submit(self, order: MaintenanceOrder) -> None:
        """Accept a maintenance order; it runs at ``planned_at`` (or now, if that has passed).

        Re-submitting an ``order_id`` replaces the earlier order, so a replanning scheduler can
        move its maintenance.
        """
        m = self._get(order.machine)
        m.orders[order.order_id] = order
        self._push(max(order.planned_at, self._now), _ORDER, m, order.order_id)

    def cancel(self, order_id: str) -> bool:
        """Withdraw a pending order; False when no such order is pending."""
        for m in self._machines:
            if m.orders.pop(order_id, None) is not None:
                m.order_seq.pop(order_id, None)
                return True
        return False

    def advance_to(self, until: datetime) -> list[Event]:
        """Move plant time to ``until``, running every transition due up to and including it."""
        require_utc(until, "advance_to time")
        if until < self._now:
            raise ValueError(f"plant time runs forward only: now {self._now}, asked {until}")
        events: list[Event] = []
        while self._queue and self._queue[0][0] <= until:
            entry = heapq.heappop(self._queue)
            if self._live(entry):
                self._now = entry[0]
                events.extend(self._fire(entry))
                self._keep_cast(entry[0])
        self._now = until
        return events

    def advance(self, delta: timedelta) -> list[Event]:
        return self.advance_to(self._now + delta)

    # -- internals -------------------------------------------------------------------------

    def _get(self, machine: str) -> _Machine:
        try:
            return self._by_id[machine]
        except KeyError:
            raise UnknownMachineError(f"machine {machine!r} is not in the plant") from None

    def _position(self, m: _Machine) -> float:
        if m.state is not MachineState.RUNNING:
            return 0.0
        return (self._now - m.life_started) / self.timing.cycle

    def _failure_at(self, m: _Machine) -> datetime:
        return m.life_started + self.timing.cycle * m.trajectory.cycles

    def _push(self, at: datetime, kind: int, m: _Machine, key: str = "") -> None:
        self._seq += 1
        epoch = m.epoch
        if kind == _ORDER:
            m.order_seq[key] = self._seq
        heapq.heappush(self._queue, (at, kind, m.index, self._seq, epoch, key))

    def _push_failure(self, m: _Machine) -> None:
        self._push(self._failure_at(m), _FAIL, m)

    def _live(self, entry: tuple[datetime, int, int, int, int, str]) -> bool:
        _, kind, index, seq, epoch, key = entry
        m = self._machines[index]
        if kind == _ORDER:
            return key in m.orders and m.order_seq.get(key) == seq
        return epoch == m.epoch

    def _fire(self, entry: tuple[datetime, int, int, int, int, str]) -> list[Event]:
        at, kind, index, _, _, key = entry
        m = self._machines[index]
        if kind == _FAIL:
            return self._fail(m, at)
        if kind == _RESTART:
            self._restart(m, at)
            return []
        m.order_seq.pop(key, None)
        return self._maintain(m, at, m.orders.pop(key))

    def _fail(self, m: _Machine, at: datetime) -> list[Event]:
        t = m.trajectory
        ends = at + self.timing.repair
        details = {"source": t.source, "unit": t.unit, "cycles": t.cycles}
        m.state, m.since = MachineState.DOWN, at
        m.epoch += 1
        self._push(ends, _RESTART, m)
        return [
            Event(at, m.spec.line, m.spec.id, EventKind.FAILURE, None, details),
            Event(at, m.spec.line, m.spec.id, EventKind.REPAIR, ends, details),
        ]

    def _maintain(self, m: _Machine, at: datetime, order: MaintenanceOrder) -> list[Event]:
        details: dict[str, object] = {
            "order_id": order.order_id,
            "planned_at": order.planned_at.isoformat(),
        }
        if m.state is not MachineState.RUNNING:
            details["state"] = m.state.value
            return [Event(at, m.spec.line, m.spec.id, EventKind.MAINTENANCE_SKIPPED, None, details)]
        t = m.trajectory
        run = self._position(m)
        details.update(
            source=t.source,
            unit=t.unit,
            cycles=t.cycles,
            cycles_run=round(run, 6),
            remaining_cycles=round(t.cycles - run, 6),
            # what the maintainer's note would say: wear is visible in the last third of a life
            finding="found wear" if run >= 2 * t.cycles / 3 else "no wear found",
        )
        ends = at + (order.duration or self.timing.maintenance)
        m.state, m.since = MachineState.MAINTENANCE, at
        m.epoch += 1
        self._push(ends, _RESTART, m)
        return [Event(at, m.spec.line, m.spec.id, EventKind.MAINTENANCE, ends, details)]

    def _keep_cast(self, at: datetime) -> None:
        """With a cast window W: the machine due soonest fails within W and the next within
        2 W; one that would fail later develops a fault (its wear jumps ahead) ending its life
        at that bound. The next in line is already wearing when the first is dealt with."""
        if self._cast is None:
            return
        running = [m for m in self._machines if m.state is MachineState.RUNNING]
        running.sort(key=lambda m: (self._failure_at(m), m.index))
        for place, m in enumerate(running[:2]):
            late = self._failure_at(m) - (at + self._cast * (place + 1))
            if late > timedelta(0):
                m.life_started -= late
                m.epoch += 1
                self._push_failure(m)

    def _restart(self, m: _Machine, at: datetime) -> None:
        m.trajectory = self._stream.next(m.index)
        m.life_started, m.state, m.since = at, MachineState.RUNNING, at
        m.epoch += 1
        self._push_failure(m)
