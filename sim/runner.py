"""Runs a plant against the wall clock and hands its output to sinks.

The adapters (MQTT, OPC-UA) and a future database event sink are all sinks; maintenance
orders arriving from other threads (the MQTT command topic, an API) wait in an
:class:`OrderInbox` and enter the plant between ticks, so the plant itself stays single-threaded.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import queue
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sim.clock import SimClock
from sim.errors import UnknownMachineError
from sim.plant import Plant
from sim.records import MaintenanceOrder
from sim.sinks import EventSink, ReadingSink

log = logging.getLogger(__name__)


class OrderInbox:
    """A thread-safe mailbox of maintenance orders for the running plant."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[MaintenanceOrder] = queue.SimpleQueue()

    def put(self, order: MaintenanceOrder) -> None:
        self._queue.put(order)

    def __len__(self) -> int:
        return self._queue.qsize()

    def drain(self) -> list[MaintenanceOrder]:
        orders = []
        while True:
            try:
                orders.append(self._queue.get_nowait())
            except queue.Empty:
                return orders


@dataclass
class RunStats:
    """What a run did, for logs and tests."""

    ticks: int = 0
    samples: int = 0
    events: int = 0
    orders: int = 0
    rejected_orders: int = 0
    max_lag_s: float = 0.0


async def run_plant(
    plant: Plant,
    *,
    sample_interval: timedelta,
    speed: float = float("inf"),
    until: datetime | None = None,
    reading_sinks: Sequence[ReadingSink] = (),
    event_sinks: Sequence[EventSink] = (),
    inbox: OrderInbox | None = None,
    stop: asyncio.Event | None = None,
    clock: SimClock | None = None,
) -> RunStats:
    """Tick the plant every ``sample_interval`` of plant time from ``plant.now`` to ``until``.

    Each tick takes pending orders, advances the plant, then delivers events and samples, in
    that order, to every sink. Ticks at both ends are included. Runs until ``until`` or until
    ``stop`` is set. When sinks are slower than ``speed`` asks, plant time falls behind wall
    time rather than skipping samples.
    """
    if sample_interval <= timedelta(0):
        raise ValueError(f"sample_interval must be positive, got {sample_interval}")
    stop = stop or asyncio.Event()
    clock = clock or SimClock(plant.now, speed)
    clock.restart()
    stats = RunStats()
    t = plant.now
    while not stop.is_set() and (until is None or t <= until):
        for order in inbox.drain() if inbox else ():
            try:
                plant.submit(order)
                stats.orders += 1
            except UnknownMachineError as exc:
                stats.rejected_orders += 1
                log.warning("maintenance order %s rejected: %s", order.order_id, exc)
        events = plant.advance_to(t)
        samples = plant.sample()
        if events:
            for sink in event_sinks:
                await _call(sink.write_events, events)
        if samples:
            for rsink in reading_sinks:
                await _call(rsink.write_samples, samples)
        stats.ticks += 1
        stats.events += len(events)
        stats.samples += len(samples)
        t = t + sample_interval
        stats.max_lag_s = max(stats.max_lag_s, clock.lag(t))
        delay = -clock.lag(t)
        if delay > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)
    return stats


async def _call(method: object, batch: Sequence[object]) -> None:
    # Async sinks run on the loop; blocking sinks in a worker thread so the loop keeps serving.
    if inspect.iscoroutinefunction(method):
        await method(batch)
    else:
        await asyncio.to_thread(method, batch)  # type: ignore[arg-type]
