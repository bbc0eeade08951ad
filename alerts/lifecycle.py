"""The alarm lifecycle after ISA-18.2, and the alarm-system KPIs: pure logic, no I/O.

An episode (`alerts.episodes`) says whether the condition is active; the lifecycle adds what
people did about it. The ISA-18.2 state of an alarm, most binding first:

- ``out_of_service``: its machine's alarms were taken out of service (maintenance work);
- ``suppressed``: suppressed by design while its machine is in planned maintenance;
- ``shelved``: an operator shelved it for a while, with a reason; the shelf expires on its own;
- ``unacknowledged`` / ``acknowledged``: the condition is active;
- ``returned_unacknowledged``: the condition cleared before anyone acknowledged it;
- ``normal``: cleared and acknowledged.

KPIs (ISA-18.2 / EEMUA 191 figures for an alarm system's health), computed over a window:

- alarms per 10 minutes per operator (annunciated activations / 10-min intervals / operators);
- % of time in flood: the share of the window's 10-minute intervals (aligned to its start)
  with more than 10 activations;
- stale alarms: active for longer than 24 h;
- top bad actors: the (machine, rule) pairs with the most activations, with their share.
"""

from __future__ import annotations

import enum
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

FLOOD_INTERVAL = timedelta(minutes=10)
FLOOD_THRESHOLD = 10  # more than this many alarms in one interval is a flood (ISA-18.2)
STALE_AFTER = timedelta(hours=24)


class AlarmState(enum.StrEnum):
    UNACKNOWLEDGED = "unacknowledged"
    ACKNOWLEDGED = "acknowledged"
    RETURNED_UNACKNOWLEDGED = "returned_unacknowledged"
    NORMAL = "normal"
    SHELVED = "shelved"
    SUPPRESSED = "suppressed"
    OUT_OF_SERVICE = "out_of_service"


STATE_WORDS = {
    AlarmState.UNACKNOWLEDGED: "Active, unacknowledged",
    AlarmState.ACKNOWLEDGED: "Active, acknowledged",
    AlarmState.RETURNED_UNACKNOWLEDGED: "Cleared, unacknowledged",
    AlarmState.NORMAL: "Cleared",
    AlarmState.SHELVED: "Shelved",
    AlarmState.SUPPRESSED: "Suppressed by design",
    AlarmState.OUT_OF_SERVICE: "Out of service",
}
# Alarms that still ask an operator for something (ack or action).
NEEDS_ATTENTION = frozenset(
    {
        AlarmState.UNACKNOWLEDGED,
        AlarmState.ACKNOWLEDGED,
        AlarmState.RETURNED_UNACKNOWLEDGED,
    }
)


def alarm_state(
    *,
    active: bool,
    acknowledged: bool,
    shelved_until: datetime | None,
    machine_status: str | None,
    out_of_service: bool,
    now: datetime,
) -> AlarmState:
    """The ISA-18.2 state of one alarm at ``now`` (see the module docstring for the order)."""
    if out_of_service and active:
        return AlarmState.OUT_OF_SERVICE
    if machine_status == "maintenance" and active:
        return AlarmState.SUPPRESSED
    if shelved_until is not None and shelved_until > now:
        return AlarmState.SHELVED
    if active:
        return AlarmState.ACKNOWLEDGED if acknowledged else AlarmState.UNACKNOWLEDGED
    return AlarmState.NORMAL if acknowledged else AlarmState.RETURNED_UNACKNOWLEDGED


def annunciated(state: AlarmState) -> bool:
    """Whether an alarm in ``state`` is shown to operators and sent to pagers."""
    return state not in (AlarmState.SHELVED, AlarmState.SUPPRESSED, AlarmState.OUT_OF_SERVICE)


@dataclass(frozen=True)
class Activation:
    """One alarm activation for the KPIs: when, on which machine and rule."""

    at: datetime
    machine: str
    rule: str


@dataclass(frozen=True)
class BadActor:
    machine: str
    rule: str
    count: int
    share: float  # of all activations in the window, 0..1


@dataclass(frozen=True)
class AlarmKpis:
    start: datetime
    end: datetime
    operators: int
    activations: int
    intervals: int
    alarms_per_10min: float  # per operator
    flood_intervals: int
    flood_share: float  # 0..1 of the window's intervals
    peak_10min: int
    stale: int
    bad_actors: tuple[BadActor, ...]


def alarm_kpis(
    activations: Iterable[Activation],
    start: datetime,
    end: datetime,
    *,
    active_since: Sequence[datetime] = (),
    now: datetime | None = None,
    operators: int = 1,
    top: int = 5,
) -> AlarmKpis:
    """The KPIs of the activations in ``[start, end)``; ``active_since`` lists when each alarm
    still active at ``now`` (default ``end``) began, for the stale count."""
    if end <= start:
        raise ValueError(f"a KPI window must end after it starts, got {start} to {end}.")
    if operators < 1:
        raise ValueError(f"operators must be at least 1, got {operators}.")
    intervals = math.ceil((end - start) / FLOOD_INTERVAL)
    buckets = [0] * intervals
    actors: Counter[tuple[str, str]] = Counter()
    total = 0
    for item in activations:
        if not start <= item.at < end:
            continue
        buckets[int((item.at - start) / FLOOD_INTERVAL)] += 1
        actors[(item.machine, item.rule)] += 1
        total += 1
    floods = sum(1 for n in buckets if n > FLOOD_THRESHOLD)
    now = now or end
    stale = sum(1 for since in active_since if now - since > STALE_AFTER)
    ranked = sorted(actors.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    return AlarmKpis(
        start=start,
        end=end,
        operators=operators,
        activations=total,
        intervals=intervals,
        alarms_per_10min=total / intervals / operators,
        flood_intervals=floods,
        flood_share=floods / intervals,
        peak_10min=max(buckets, default=0),
        stale=stale,
        bad_actors=tuple(
            BadActor(machine, rule, count, count / total) for (machine, rule), count in ranked
        ),
    )
