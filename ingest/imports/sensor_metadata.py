"""The sensor metadata file of ``millwright import readings --sensor-metadata FILE``.

CSV or Parquet, one row per sensor: ``sensor`` (required), ``machine`` (empty or absent:
that sensor on every machine), ``unit``, ``description`` and ``operating_condition``
(true/false: a setting such as load or speed, which the models use for regime
normalisation). The whole file is checked before any reading is written — an unknown
column, an empty sensor or a flag that is not true/false stops the import with the file and
row — and applied once the readings are in. Rows that match no stored sensor are reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ingest.imports.errors import ImportFileError
from ingest.imports.source import columns_of, iter_chunks
from millwright.core.storage.database import Database

COLUMNS = ("sensor", "machine", "unit", "description", "operating_condition")
TRUE = frozenset({"true", "yes", "1", "y"})
FALSE = frozenset({"false", "no", "0", "n", ""})


@dataclass(frozen=True)
class SensorMetadata:
    sensor: str
    machine: str | None  # None: every machine with this sensor
    unit: str | None
    description: str | None
    operating_condition: bool | None  # None: the column was absent or the cell empty


def read_sensor_metadata(path: Path) -> list[SensorMetadata]:
    """Every row of the file, validated (raises :class:`ImportFileError` on the first bad)."""
    columns = columns_of(path)
    unknown = [c for c in columns if c not in COLUMNS]
    if unknown:
        raise ImportFileError(
            f"{path}: unknown column {unknown[0]!r}; expected sensor and optionally"
            f" {', '.join(COLUMNS[1:])}."
        )
    if "sensor" not in columns:
        raise ImportFileError(
            f"{path}: missing column 'sensor' (found: {', '.join(columns) or 'none'})."
        )
    out: list[SensorMetadata] = []
    for chunk in iter_chunks(path, 10_000, columns):
        for offset, record in enumerate(chunk.frame.to_dict("records")):
            row = chunk.first_row + offset
            cells = {k: "" if v is None else str(v).strip() for k, v in record.items()}
            if not cells["sensor"]:
                raise ImportFileError(f"{path}: row {row:,}: sensor is empty.")
            flag = cells.get("operating_condition", "").lower()
            if flag not in TRUE | FALSE:
                raise ImportFileError(
                    f"{path}: row {row:,}: operating_condition"
                    f" {cells['operating_condition']!r} is not true or false."
                )
            out.append(
                SensorMetadata(
                    sensor=cells["sensor"],
                    machine=cells.get("machine") or None,
                    unit=cells.get("unit") or None,
                    description=cells.get("description") or None,
                    operating_condition=None if flag == "" else flag in TRUE,
                )
            )
    return out


def apply_sensor_metadata(database: Database, rows: list[SensorMetadata]) -> tuple[int, list[str]]:
    """(sensors described, the rows' names that matched no stored sensor)."""
    described = 0
    unmatched: list[str] = []
    with database.connection() as conn:
        for meta in rows:
            found = conn.execute(
                "UPDATE sensors s SET unit = coalesce(%(unit)s, s.unit),"
                " description = coalesce(%(description)s, s.description),"
                " operating_condition = coalesce(%(flag)s, s.operating_condition)"
                " FROM machines m WHERE m.id = s.machine_id AND s.name = %(sensor)s"
                " AND (%(machine)s::text IS NULL OR m.name = %(machine)s) RETURNING s.id",
                {
                    "unit": meta.unit,
                    "description": meta.description,
                    "flag": meta.operating_condition,
                    "sensor": meta.sensor,
                    "machine": meta.machine,
                },
            ).fetchall()
            described += len(found)
            if not found:
                unmatched.append(f"{meta.machine}/{meta.sensor}" if meta.machine else meta.sensor)
    return described, unmatched
