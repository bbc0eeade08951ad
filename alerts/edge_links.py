"""How far each plant-floor edge has handed its work over, and what the centre holds for it.

The race this settles: after an outage the collector replays its buffered readings and the
central worker may score them before the edge has synced. Evaluated at once, they would open
the episode centrally and tell every endpoint, the plant LAN included, which the edge told
during the outage: a second "opened". So an edge reports, after every sync, the newest instant
it scored and handed over (:func:`edge_heartbeat`), and the centre evaluates a covered
machine's scores only up to that instant (:func:`edge_limit`). The edge's sync adopts its
transitions and episode clocks first, so the centre then continues the episode and tells only
the endpoints the edge could not reach. An edge that stays silent holds the centre for at most
``edge_hold_s`` from the first held score; then the centre judges those scores itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import psycopg

from millwright.core.storage.database import Database


def edge_heartbeat(
    database: Database,
    edge_id: str,
    machine_ids: Sequence[int],
    covered_until: datetime | None,
    *,
    now: datetime,
) -> None:
    """Record that ``edge_id`` (scoring ``machine_ids``) has handed over every score up to
    ``covered_until``; a hold it has now covered is lifted."""
    database.execute(
        "INSERT INTO edge_links AS e (edge_id, machine_ids, covered_until, seen_at)"
        " VALUES (%(id)s, %(machines)s, %(covered)s, %(now)s)"
        " ON CONFLICT (edge_id) DO UPDATE SET machine_ids = EXCLUDED.machine_ids,"
        " covered_until = GREATEST(e.covered_until, EXCLUDED.covered_until),"
        " seen_at = EXCLUDED.seen_at,"
        " holding_since = CASE WHEN e.holding_until <= GREATEST(e.covered_until,"
        "   EXCLUDED.covered_until) THEN NULL ELSE e.holding_since END,"
        " holding_until = CASE WHEN e.holding_until <= GREATEST(e.covered_until,"
        "   EXCLUDED.covered_until) THEN NULL ELSE e.holding_until END",
        {"id": edge_id, "machines": [int(m) for m in machine_ids], "covered": covered_until,
         "now": now},
    )  # fmt: skip


def edge_limit(
    conn: psycopg.Connection[Any],
    machine_id: int,
    newest: datetime | None,
    *,
    now: datetime,
    hold_s: float,
) -> datetime | None:
    """The newest score instant of ``machine_id`` the centre may evaluate now (None: all),
    given its newest pending score ``newest``; records a new hold (in the caller's
    transaction)."""
    if newest is None or hold_s <= 0:
        return None
    rows = conn.execute(
        "SELECT edge_id, covered_until, holding_since FROM edge_links"
        " WHERE %s = ANY(machine_ids) AND covered_until IS NOT NULL ORDER BY edge_id",
        (machine_id,),
    ).fetchall()
    limit: datetime | None = None
    for edge_id, covered_until, holding_since in rows:
        if newest <= covered_until:
            continue
        if holding_since is not None and now - holding_since >= timedelta(seconds=hold_s):
            continue  # the edge stayed silent: the centre judges these scores itself
        conn.execute(
            "UPDATE edge_links SET holding_since = COALESCE(holding_since, %s),"
            " holding_until = GREATEST(holding_until, %s) WHERE edge_id = %s",
            (now, newest, edge_id),
        )
        limit = covered_until if limit is None else min(limit, covered_until)
    return limit
