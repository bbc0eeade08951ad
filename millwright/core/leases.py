"""Work shared by any number of worker processes through leases in the database.

Each role (``features``, ``score``, ``alerts``, ``replan``) has a set of partitions: machine
partitions ``m00``..``mNN`` (a machine belongs to ``machine_id % N``), production lines
(``line:<name>``) or the whole ``plant``. A partition is held by one worker at a time through
a row of ``worker_leases``; the holder renews it at every heartbeat, and a lease that is not
renewed expires after ``lease_s``, when any other worker may take it.

At every heartbeat a worker, in one transaction:

1. records itself alive in ``worker_members`` and counts the live members of its role;
2. renews the leases it holds;
3. gives back the ones above its fair share (``ceil(partitions / live members)``), so a
   worker that joins gets work without waiting for anyone to die;
4. claims free or expired partitions up to its fair share with
   ``SELECT … FOR UPDATE SKIP LOCKED`` (two workers never wait on, or take, the same row).

No home-made consensus: PostgreSQL's row locks and ``now()`` decide. A dead worker's
partitions go to the others after at most ``lease_s`` plus one heartbeat. A worker that
stalls past its lease may still finish one write for a partition already taken over; every
write in the stages is idempotent (``ON CONFLICT DO NOTHING`` on the natural keys), so the
overlap cannot duplicate rows, and the new holder starts from the stored watermarks, so it
leaves no gap.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

from millwright.core.storage.database import Database

log = logging.getLogger(__name__)

__all__ = ["LeaseSet", "machine_partition", "machine_partitions", "machines_in"]


def machine_partitions(count: int) -> list[str]:
    """The names of ``count`` machine partitions: ``m00``, ``m01``, …"""
    if count < 1:
        raise ValueError(f"partitions must be at least 1, not {count}.")
    width = max(2, len(str(count - 1)))
    return [f"m{i:0{width}d}" for i in range(count)]


def machine_partition(machine_id: int, count: int) -> str:
    return machine_partitions(count)[machine_id % count]


def machines_in(database: Database, partitions: Sequence[str], count: int) -> list[int]:
    """The machine ids that fall in the given machine partitions."""
    names = machine_partitions(count)
    wanted = [names.index(p) for p in partitions if p in names]
    if not wanted:
        return []
    rows = database.execute(
        "SELECT id FROM machines WHERE id %% %s = ANY(%s) ORDER BY id", (count, wanted)
    )
    return [int(r[0]) for r in rows]


def lines_of(database: Database) -> list[str]:
    """Line partitions: one per production line, ``line:`` for machines without one."""
    rows = database.execute("SELECT DISTINCT coalesce(line, '') FROM machines ORDER BY 1")
    return [f"line:{r[0]}" for r in rows]


def machines_on_lines(database: Database, partitions: Sequence[str]) -> list[int]:
    lines = [p.removeprefix("line:") for p in partitions if p.startswith("line:")]
    if not lines:
        return []
    rows = database.execute(
        "SELECT id FROM machines WHERE coalesce(line, '') = ANY(%s) ORDER BY id", (lines,)
    )
    return [int(r[0]) for r in rows]


_RENEW = """
UPDATE worker_leases SET expires_at = now() + make_interval(secs => %(lease)s)
WHERE role = %(role)s AND holder = %(me)s
RETURNING partition
"""

_RELEASE = """
UPDATE worker_leases SET holder = NULL, expires_at = '-infinity'
WHERE role = %(role)s AND holder = %(me)s AND partition = ANY(%(partitions)s)
"""

_CLAIM = """
UPDATE worker_leases l
SET holder = %(me)s, expires_at = now() + make_interval(secs => %(lease)s),
    acquired_at = now(), generation = l.generation + 1
WHERE (l.role, l.partition) IN (
    SELECT role, partition FROM worker_leases
    WHERE role = %(role)s AND partition = ANY(%(partitions)s)
      AND (holder IS NULL OR expires_at < now())
    ORDER BY partition
    FOR UPDATE SKIP LOCKED
    LIMIT %(wanted)s)
RETURNING l.partition
"""


@dataclass
class LeaseSet:
    """One worker's leases for one role over a set of partitions."""

    database: Database
    worker: str
    role: str
    lease_s: float = 30.0

    def __post_init__(self) -> None:
        if self.lease_s <= 0:
            raise ValueError(f"lease_s must be positive, not {self.lease_s}.")
        self.held: frozenset[str] = frozenset()

    def heartbeat(self, partitions: Sequence[str]) -> frozenset[str]:
        """Renew, rebalance and claim; returns the partitions this worker now holds."""
        params = {"role": self.role, "me": self.worker, "lease": self.lease_s}
        with self.database.connection() as conn:
            conn.execute(
                "INSERT INTO worker_leases (role, partition)"
                " SELECT %s, p FROM unnest(%s::text[]) AS p ON CONFLICT DO NOTHING",
                (self.role, list(partitions)),
            )
            conn.execute(
                "INSERT INTO worker_members (worker, role) VALUES (%s, %s)"
                " ON CONFLICT (worker, role) DO UPDATE SET seen_at = now()",
                (self.worker, self.role),
            )
            row = conn.execute(
                "SELECT count(*) FROM worker_members WHERE role = %s"
                " AND seen_at > now() - make_interval(secs => %s)",
                (self.role, self.lease_s),
            ).fetchone()
            live = max(int(row[0]) if row else 1, 1)
            fair = math.ceil(len(partitions) / live) if partitions else 0
            held = sorted(r[0] for r in conn.execute(_RENEW, params))
            gone = [p for p in held if p not in partitions]
            keep = [p for p in held if p in partitions]
            extra = gone + keep[fair:]
            if extra:
                conn.execute(_RELEASE, {**params, "partitions": extra})
                keep = keep[:fair]
            if len(keep) < fair:
                claimed = conn.execute(
                    _CLAIM, {**params, "partitions": list(partitions), "wanted": fair - len(keep)}
                ).fetchall()
                keep += [r[0] for r in claimed]
        now_held = frozenset(keep)
        if now_held != self.held:
            log.info(
                "%s %s: holds %d of %d partitions (%d live workers): %s",
                self.worker,
                self.role,
                len(now_held),
                len(partitions),
                live,
                ", ".join(sorted(now_held)) or "none",
            )
        self.held = now_held
        return now_held

    def release_all(self) -> None:
        """Give every lease back at once (a clean shutdown hands over without the expiry)."""
        with self.database.connection() as conn:
            conn.execute(
                "UPDATE worker_leases SET holder = NULL, expires_at = '-infinity'"
                " WHERE role = %s AND holder = %s",
                (self.role, self.worker),
            )
            conn.execute(
                "DELETE FROM worker_members WHERE worker = %s AND role = %s",
                (self.worker, self.role),
            )
        self.held = frozenset()
