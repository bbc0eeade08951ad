"""The production floor: orders waiting, operations running, parts scrapped, orders delivered.

The shop knows nothing about health; the run tells it when a machine fails (the part under it is
scrapped and its order starts again from the first operation, as a new part) or stops for
maintenance (the operation goes back to the queue; the part is kept). Dispatching is
non-delay: an idle, running machine takes the most urgent ready operation it can finish before
its next planned maintenance. Urgency is the earliest due date, unless a scheduler's plan says
which machine and in which order (the predictive policy); planned work then waits for its
machine while that machine is up.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from bench.plant.scenario import Order

OpKey = tuple[str, int]
Assignment = Mapping[OpKey, tuple[str, int]]
"""A plan's routing: (order, step) -> (machine, planned start in plant minutes)."""


@dataclass(frozen=True)
class Running:
    """An operation on a machine."""

    order: str
    seq: int
    start: int
    end: int


@dataclass
class Job:
    """Progress of one arrived order: its next step and the processing spent on its part."""

    order: Order
    next_seq: int = 0
    processed: int = 0
    done_at: int | None = None


class Shop:
    """Queues, machines and deliveries of one run; advanced by the run's event loop."""

    def __init__(self, orders: Sequence[Order], machines: Iterable[str]) -> None:
        self._arrivals = deque(sorted(orders, key=lambda o: (o.arrival, o.name)))
        self.jobs: dict[str, Job] = {}
        self.machines = tuple(machines)
        self._running: dict[str, Running | None] = dict.fromkeys(self.machines)
        self._ready: set[OpKey] = set()

    # -- observing -------------------------------------------------------------------------

    def running(self, machine: str) -> Running | None:
        return self._running[machine]

    def open_jobs(self) -> list[Job]:
        """Arrived, undelivered orders, most urgent first."""
        jobs = [j for j in self.jobs.values() if j.done_at is None]
        return sorted(jobs, key=lambda j: (j.order.due, j.order.arrival, j.order.name))

    def running_step(self, job: Job) -> tuple[str, Running] | None:
        """Where the job's current step runs, if it does."""
        for machine, run in self._running.items():
            if run is not None and run.order == job.order.name:
                return machine, run
        return None

    def next_time(self) -> int | None:
        """When the next operation ends or the next order arrives."""
        times = [r.end for r in self._running.values() if r is not None]
        if self._arrivals:
            times.append(self._arrivals[0].arrival)
        return min(times, default=None)

    # -- acting ----------------------------------------------------------------------------

    def advance(self, t: int) -> None:
        """Finish operations ending by ``t`` and admit orders arriving by ``t``."""
        for machine, run in self._running.items():
            if run is not None and run.end <= t:
                self._running[machine] = None
                job = self.jobs[run.order]
                job.processed += run.end - run.start
                job.next_seq += 1
                if job.next_seq == len(job.order.ops):
                    job.done_at = run.end
                else:
                    self._ready.add((run.order, job.next_seq))
        while self._arrivals and self._arrivals[0].arrival <= t:
            order = self._arrivals.popleft()
            self.jobs[order.name] = Job(order)
            self._ready.add((order.name, 0))

    def interrupt(self, machine: str, t: int, scrap: bool) -> int | None:
        """Stop the machine's operation at ``t``.

        ``scrap`` (a failure): the part is lost; returns the minutes of processing it carried,
        and the order starts over. Otherwise (maintenance) the step goes back to the queue and
        only the interrupted step's time is lost. None when the machine was idle.
        """
        run = self._running[machine]
        if run is None:
            return None
        self._running[machine] = None
        job = self.jobs[run.order]
        if not scrap:
            self._ready.add((run.order, run.seq))
            return None
        lost = job.processed + (t - run.start)
        job.next_seq, job.processed = 0, 0
        self._ready.add((run.order, 0))
        return lost

    def dispatch(
        self,
        t: int,
        available: Iterable[str],
        maintenance_at: Mapping[str, int],
        plan: Assignment | None = None,
    ) -> None:
        """Start ready operations on idle, running machines (see the module docstring)."""
        up = set(available)
        idle = {m for m in self.machines if self._running[m] is None and m in up}
        if not idle or not self._ready:
            return
        plan = plan or {}
        for key in sorted(self._ready, key=lambda k: self._priority(k, plan)):
            order = self.jobs[key[0]].order
            options = order.ops[key[1]]
            planned = plan.get(key)
            choices: Iterable[str] = options
            if planned is not None and planned[0] in up and planned[0] in options:
                choices = (planned[0],)
            fits = [
                m
                for m in choices
                if m in idle and t + options[m] <= maintenance_at.get(m, math.inf)
            ]
            if not fits:
                continue
            machine = min(fits, key=lambda m: (options[m], m))
            self._running[machine] = Running(key[0], key[1], t, t + options[machine])
            self._ready.discard(key)
            idle.discard(machine)
            if not idle:
                return

    def _priority(self, key: OpKey, plan: Assignment) -> tuple[int, int, int, str, int]:
        planned = plan.get(key)
        if planned is not None:
            return (0, planned[1], 0, key[0], key[1])
        order = self.jobs[key[0]].order
        return (1, order.due, order.arrival, key[0], key[1])
