"""Which values could not be recovered after a subscription was lost — no I/O.

When asyncua has to *re-create* a subscription (the server restarted, or its session and
retransmission queue were gone), whatever a node published between its last delivered value
and its first value after recovery is lost. Per node that interval is known exactly in the
node's own source-time: (last value before, first value after). A node whose first value
after recovery is not newer than its last one did not change, so it lost nothing.

Per machine the lossy nodes' intervals are merged into one gap (earliest start, latest end),
closed once every node that had reported before has reported again, or after a deadline
(a node that stays silent must not hold the gap open forever). When the session survives
and retransmission fills the hole, nothing is re-created and no gap is recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

_NEVER = np.iinfo(np.int64).min  # no value seen yet


@dataclass(frozen=True)
class Gap:
    """Values of ``machine`` with source time strictly inside (start, end) may be missing."""

    machine: str
    start_us: int
    end_us: int
    nodes: int

    def __post_init__(self) -> None:
        if self.end_us <= self.start_us:
            raise ValueError("a gap must end after it starts.")


class GapTracker:
    """Per-node last source time, and the gaps opened by subscription losses."""

    def __init__(self, machine_of: Sequence[str], *, close_after_s: float = 10.0) -> None:
        self._machine_of = list(machine_of)
        self._last = np.full(len(self._machine_of), _NEVER, dtype=np.int64)
        self._pending: dict[int, int] = {}  # node index → its last source time at the loss
        self._waiting: dict[str, int] = {}  # machine → nodes still to report
        self._open: dict[str, list[int]] = {}  # machine → [start, end, lossy nodes]
        self._close_after_s = close_after_s
        self._deadline: float | None = None

    @property
    def recovering(self) -> bool:
        return bool(self._pending)

    def seen(self, node: int, ts_us: int) -> None:
        """A value of ``node`` was delivered (hot path: keep it cheap)."""
        if self._pending:
            start = self._pending.pop(node, None)
            if start is not None:
                self._after_loss(node, start, ts_us)
        if ts_us > self._last[node]:
            self._last[node] = ts_us

    def seen_many(self, nodes: np.ndarray, ts_us: np.ndarray) -> None:
        """Values of ``nodes`` (indices) at ``ts_us`` were delivered: one notification."""
        if self._pending:
            for node, ts in zip(nodes.tolist(), ts_us.tolist(), strict=True):
                self.seen(node, ts)
            return
        np.maximum.at(self._last, nodes, ts_us)

    def _after_loss(self, node: int, start: int, ts_us: int) -> None:
        machine = self._machine_of[node]
        self._waiting[machine] -= 1
        if ts_us <= start:
            return
        span = self._open.get(machine)
        if span is None:
            self._open[machine] = [start, ts_us, 1]
        else:
            span[0] = min(span[0], start)
            span[1] = max(span[1], ts_us)
            span[2] += 1

    def lost(self, now: float) -> None:
        """The subscription was re-created: every node that had reported is now pending."""
        for node, last in enumerate(self._last.tolist()):
            if last == _NEVER or node in self._pending:
                continue
            self._pending[node] = last
            machine = self._machine_of[node]
            self._waiting[machine] = self._waiting.get(machine, 0) + 1
        self._deadline = now + self._close_after_s

    def due(self, now: float, *, force: bool = False) -> list[Gap]:
        """Gaps of machines whose nodes have all reported again (all of them past deadline)."""
        expired = force or (self._deadline is not None and now >= self._deadline)
        closed: list[Gap] = []
        for machine in list(self._waiting):
            if self._waiting[machine] > 0 and not expired:
                continue
            del self._waiting[machine]
            span = self._open.pop(machine, None)
            if span is not None:
                closed.append(Gap(machine, span[0], span[1], span[2]))
        if expired:
            self._pending.clear()
            self._deadline = None
        return closed
