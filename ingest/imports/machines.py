"""`millwright import machines`: the plant's machine list and sensor catalogue, upserted.

One row per machine and sensor: ``machine`` (required), ``line``, ``class``, ``groups``
(alternative groups, separated by ``;``), ``sensor``, ``unit``, ``description`` and
``operating_condition`` (true/false: a setting such as load or speed, used by the models for
regime normalisation). A row without a sensor describes the machine only. Unknown columns
are refused; machines in the database but not in the file are reported, never deleted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ingest.imports.errors import ImportFileError
from ingest.imports.readings import RejectsFile
from ingest.imports.sensor_metadata import FALSE as _FALSE
from ingest.imports.sensor_metadata import TRUE as _TRUE
from ingest.imports.source import columns_of, iter_chunks
from millwright.core.storage.database import Database

COLUMNS = (
    "machine", "line", "class", "groups", "sensor", "unit", "description",
    "operating_condition",
)  # fmt: skip


@dataclass
class MachinesSummary:
    rows_read: int = 0
    machines_created: int = 0
    machines_updated: int = 0
    sensors_created: int = 0
    sensors_updated: int = 0
    rejected: int = 0
    not_in_file: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def import_machines(
    database: Database, path: Path, *, rejects: Path | None = None
) -> MachinesSummary:
    columns = columns_of(path)
    unknown = [c for c in columns if c not in COLUMNS]
    if unknown:
        raise ImportFileError(
            f"{path}: unknown column {unknown[0]!r}; expected machine and optionally"
            f" {', '.join(COLUMNS[1:])}."
        )
    if "machine" not in columns:
        raise ImportFileError(
            f"{path}: missing column 'machine' (found: {', '.join(columns) or 'none'})."
        )
    summary = MachinesSummary()
    out = RejectsFile(rejects)
    seen: set[str] = set()
    try:
        with database.connection() as conn:
            for chunk in iter_chunks(path, 10_000, columns):
                records = chunk.frame.to_dict("records")
                for offset, record in enumerate(records):
                    row = chunk.first_row + offset
                    summary.rows_read += 1
                    values = {k: str(v).strip() if v is not None else "" for k, v in record.items()}
                    reason = _check(values)
                    if reason is not None:
                        out.write(path, np.array([row]), np.array([values.get("sensor", "")],
                                  dtype=object), np.array([reason], dtype=object))  # fmt: skip
                        summary.rejected += 1
                        continue
                    _upsert(conn, values, summary)
                    seen.add(values["machine"])
            stored = [r[0] for r in conn.execute("SELECT name FROM machines ORDER BY name")]
    finally:
        out.close()
    summary.not_in_file = [name for name in stored if name not in seen]
    return summary


def _check(values: dict[str, str]) -> str | None:
    if not values.get("machine"):
        return "machine is empty"
    flag = values.get("operating_condition", "").lower()
    if flag not in _TRUE | _FALSE:
        return f"operating_condition {values['operating_condition']!r} is not true or false"
    if not values.get("sensor") and (
        values.get("unit") or values.get("description") or flag in _TRUE
    ):
        return "unit, description or operating_condition given without a sensor"
    return None


def _upsert(conn: Any, values: dict[str, str], summary: MachinesSummary) -> None:
    groups = sorted({g.strip() for g in values.get("groups", "").split(";") if g.strip()})
    row = conn.execute(
        "INSERT INTO machines (name, line, machine_class, alternative_groups)"
        " VALUES (%(name)s, %(line)s, %(class)s, %(groups)s)"
        " ON CONFLICT (name) DO UPDATE SET"
        " line = coalesce(EXCLUDED.line, machines.line),"
        " machine_class = coalesce(EXCLUDED.machine_class, machines.machine_class),"
        " alternative_groups = CASE WHEN %(has_groups)s THEN EXCLUDED.alternative_groups"
        "   ELSE machines.alternative_groups END"
        " RETURNING id, (xmax = 0)",
        {"name": values["machine"], "line": values.get("line") or None,
         "class": values.get("class") or None, "groups": groups, "has_groups": bool(groups)},
    ).fetchone()  # fmt: skip
    machine_id, created = row
    if created:
        summary.machines_created += 1
    else:
        summary.machines_updated += 1
    sensor = values.get("sensor")
    if not sensor:
        return
    flag = values.get("operating_condition", "").lower() in _TRUE
    row = conn.execute(
        "INSERT INTO sensors (machine_id, name, unit, description, operating_condition)"
        " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (machine_id, name) DO UPDATE SET"
        " unit = coalesce(EXCLUDED.unit, sensors.unit),"
        " description = coalesce(EXCLUDED.description, sensors.description),"
        " operating_condition = EXCLUDED.operating_condition RETURNING (xmax = 0)",
        (machine_id, sensor, values.get("unit") or None, values.get("description") or None, flag),
    ).fetchone()
    if row[0]:
        summary.sensors_created += 1
    else:
        summary.sensors_updated += 1
