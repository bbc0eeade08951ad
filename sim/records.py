"""The simulator's domain records: machines, samples, ground-truth events and maintenance orders.

Frozen dataclasses validated on construction, so a bad record fails where it is made rather
than deep inside an adapter. All times are timezone-aware UTC datetimes (plant time).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta


def require_utc(value: datetime, what: str) -> None:
    """Refuse naive datetimes: plant time is always UTC and comparisons must not guess."""
    if value.tzinfo is None or value.utcoffset() != timedelta(0):
        raise ValueError(f"{what} must be a timezone-aware UTC datetime, got {value!r}")


class MachineState(enum.StrEnum):
    """What a machine is doing; only running machines produce readings."""

    RUNNING = "running"
    DOWN = "down"
    MAINTENANCE = "maintenance"


class EventKind(enum.StrEnum):
    """Ground-truth event kinds.

    ``failure``, ``repair`` and ``maintenance`` match the ``events`` table; ``repair`` and
    ``maintenance`` carry ``ends_at``. ``maintenance_skipped`` records an order that could not
    run (machine down or already in maintenance) and is meant for evaluation, not storage.
    """

    FAILURE = "failure"
    REPAIR = "repair"
    MAINTENANCE = "maintenance"
    MAINTENANCE_SKIPPED = "maintenance_skipped"


@dataclass(frozen=True, slots=True)
class MachineSpec:
    """A machine's identity and the production line it belongs to."""

    id: str
    line: str

    def __post_init__(self) -> None:
        for name, value in (("machine id", self.id), ("line", self.line)):
            if not value or any(c in value for c in "/#+ "):
                raise ValueError(f"{name} {value!r} must be non-empty without '/', '#', '+', ' '")


@dataclass(frozen=True, slots=True)
class Sample:
    """The values of all sensors of one running machine at one plant time."""

    ts: datetime
    line: str
    machine: str
    values: Mapping[str, float]

    def __post_init__(self) -> None:
        require_utc(self.ts, "sample ts")
        if not self.values:
            raise ValueError(f"sample of {self.machine} at {self.ts} has no values")

    def readings(self) -> list[Reading]:
        """The sample as narrow rows, the shape the readings table stores."""
        return [Reading(self.ts, self.machine, s, v) for s, v in self.values.items()]


@dataclass(frozen=True, slots=True)
class Reading:
    """One sensor value of one machine at one time."""

    ts: datetime
    machine: str
    sensor: str
    value: float


@dataclass(frozen=True, slots=True)
class Event:
    """A ground-truth event: what really happened to a machine, and when."""

    ts: datetime
    line: str
    machine: str
    kind: EventKind
    ends_at: datetime | None = None
    details: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        require_utc(self.ts, "event ts")
        if self.ends_at is not None:
            require_utc(self.ends_at, "event ends_at")
            if self.ends_at < self.ts:
                raise ValueError(f"{self.kind} event of {self.machine} ends before it starts")


@dataclass(frozen=True, slots=True)
class MaintenanceOrder:
    """An instruction to maintain a machine at a planned time (e.g. from the scheduler's plan).

    ``duration`` overrides the plant's default maintenance time for this order.
    """

    machine: str
    planned_at: datetime
    order_id: str = ""
    duration: timedelta | None = None

    def __post_init__(self) -> None:
        require_utc(self.planned_at, "maintenance order planned_at")
        if not self.machine:
            raise ValueError("maintenance order needs a machine id")
        if self.duration is not None and self.duration <= timedelta(0):
            raise ValueError(f"maintenance order duration must be positive, got {self.duration}")
        if not self.order_id:
            object.__setattr__(self, "order_id", f"{self.machine}@{self.planned_at.isoformat()}")


@dataclass(frozen=True, slots=True)
class MachineStatus:
    """What an observer may know about a machine now (not its remaining life)."""

    machine: str
    line: str
    state: MachineState
    since: datetime
    life_started: datetime
    cycle: float
    """Cycles run in the current life (0 while down or in maintenance)."""
