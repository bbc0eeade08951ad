"""Machines and sensors by name, with their integer ids cached for the hot path.

Unknown machines and sensors are registered on first sight unless settings forbid it.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from millwright.core.storage.database import Database
from millwright.core.storage.errors import UnknownSourceError

SensorKey = tuple[str, str]  # (machine name, sensor name)


class SourceRegistry:
    """Maps (machine, sensor) names to ids, registering unknown ones when allowed."""

    def __init__(self, database: Database, *, register_unknown: bool = True) -> None:
        self._database = database
        self._register_unknown = register_unknown
        self._ids: dict[SensorKey, tuple[int, int]] = {}
        self._lock = threading.Lock()

    def ids(self, keys: Sequence[SensorKey]) -> dict[SensorKey, tuple[int, int]]:
        """Ids of the keys; unknown ones are missing when registration is off."""
        with self._lock:
            missing = sorted({k for k in keys if k not in self._ids})
            if missing:
                self._load(missing)
            return {k: self._ids[k] for k in set(keys) if k in self._ids}

    def machine_id(self, machine: str, *, line: str | None = None) -> int:
        """Id of a machine, registering it when allowed."""
        rows = self._database.execute("SELECT id FROM machines WHERE name = %s", (machine,))
        if rows:
            return int(rows[0][0])
        if not self._register_unknown:
            raise UnknownSourceError(f"machine {machine!r} is not registered")
        rows = self._database.execute(
            "INSERT INTO machines (name, line) VALUES (%s, %s)"
            " ON CONFLICT (name) DO UPDATE SET line = coalesce(machines.line, EXCLUDED.line)"
            " RETURNING id",
            (machine, line),
        )
        return int(rows[0][0])

    def _load(self, keys: list[SensorKey]) -> None:
        machines = [k[0] for k in keys]
        sensors = [k[1] for k in keys]
        with self._database.connection() as conn:
            if self._register_unknown:
                conn.execute(
                    "INSERT INTO machines (name) SELECT DISTINCT unnest(%s::text[])"
                    " ON CONFLICT (name) DO NOTHING",
                    (machines,),
                )
                conn.execute(
                    "INSERT INTO sensors (machine_id, name)"
                    " SELECT m.id, k.sensor"
                    " FROM unnest(%s::text[], %s::text[]) AS k(machine, sensor)"
                    " JOIN machines m ON m.name = k.machine"
                    " ON CONFLICT (machine_id, name) DO NOTHING",
                    (machines, sensors),
                )
            rows = conn.execute(
                "SELECT m.name, s.name, m.id, s.id"
                " FROM unnest(%s::text[], %s::text[]) AS k(machine, sensor)"
                " JOIN machines m ON m.name = k.machine"
                " JOIN sensors s ON s.machine_id = m.id AND s.name = k.sensor",
                (machines, sensors),
            ).fetchall()
        for machine, sensor, machine_id, sensor_id in rows:
            self._ids[(machine, sensor)] = (machine_id, sensor_id)
