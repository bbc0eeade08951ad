"""The latest risk score of each machine: the one read model of ``risk_scores`` other stages use.

``models`` writes the scores and re-exports :func:`latest_risks` on its face; it lives on the
ground floor so the scheduler, which may not import ``models``, reads through the same query.
One row per machine that has a score, found with the ``(machine_id, ts DESC)`` index.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

__all__ = ["LatestRisk", "latest_risks"]

_LATEST = (
    "SELECT m.id, m.name, r.ts, r.model_version, r.horizon_hours, r.p_fail, r.rul, r.rul_low,"
    " r.top_features FROM machines m CROSS JOIN LATERAL (SELECT * FROM risk_scores s"
    " WHERE s.machine_id = m.id ORDER BY s.ts DESC LIMIT 1) r"
)


@dataclass(frozen=True)
class LatestRisk:
    """A machine's newest risk score: failure probability within ``horizon_hours``, remaining
    useful life and its low quantile (hours, from ``ts``), and the top contributing features."""

    machine_id: int
    machine: str
    ts: datetime
    model_version: str
    horizon_hours: float
    p_fail: float
    rul: float | None
    rul_low: float | None
    top_features: Any = ()


def latest_risks(
    conn: psycopg.Connection[Any], machine_ids: Sequence[int] | None = None
) -> list[LatestRisk]:
    """The latest score per machine (only machines with one), by machine name; restricted to
    ``machine_ids`` when given."""
    if machine_ids is None:
        rows = conn.execute(_LATEST + " ORDER BY m.name").fetchall()
    else:
        rows = conn.execute(
            _LATEST + " WHERE m.id = ANY(%s) ORDER BY m.name", (list(machine_ids),)
        ).fetchall()
    return [LatestRisk(*row) for row in rows]
