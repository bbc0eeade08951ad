"""`millwright import readings`: historian exports (CSV or Parquet, long or wide) into readings.

Layouts:

- **long**: columns ``ts, machine, sensor, value[, quality]``;
- **wide**: ``ts, machine, <sensor>…``, one column per sensor (``sensors`` selects; the rest
  are ignored and reported). An empty cell is no reading, not a bad one.

Each chunk is parsed column-wise (numpy/pandas, no Python loop per row), bad cells get a
reason with their row number, and the good readings go through the collectors' bulk writer:
re-importing a file adds 0 rows and counts them as duplicates.
"""

from __future__ import annotations

import csv
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from ingest.imports.errors import ImportFileError
from ingest.imports.sensor_metadata import apply_sensor_metadata, read_sensor_metadata
from ingest.imports.source import columns_of, iter_chunks
from millwright.core.storage.database import Database
from millwright.core.storage.readings import ReadingColumns, ReadingsWriter

log = logging.getLogger(__name__)

Layout = Literal["auto", "long", "wide"]
EPOCH_UNITS = ("s", "ms", "us")
_AWARE = re.compile(r"(?:[zZ]|[+-]\d\d(?::?\d\d)?)$")
Progress = Callable[[int, int, int], None]  # rows read so far, bytes done, bytes total


@dataclass(frozen=True)
class ReadingsOptions:
    """How to read the files; every default fits a long CSV with ISO 8601 timestamps."""

    layout: Layout = "auto"
    ts_column: str = "ts"
    machine_column: str = "machine"
    machine: str | None = None  # the file holds one machine: no machine column needed
    sensors: tuple[str, ...] | None = None  # wide: only these columns
    timezone: str | None = None  # for timestamps without an offset
    ts_format: str | None = None  # strftime format, or an epoch unit s|ms|us
    units: dict[str, str] = field(default_factory=dict)  # sensor -> unit
    sensor_metadata: Path | None = None  # units, descriptions, operating-condition flags
    chunk_rows: int = 100_000

    def __post_init__(self) -> None:
        if self.chunk_rows < 1:
            raise ValueError("chunk_rows must be at least 1.")
        if self.timezone is not None:
            try:
                ZoneInfo(self.timezone)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(
                    f"--timezone {self.timezone!r} is not a time zone name;"
                    " expected e.g. UTC or Europe/Berlin."
                ) from None


@dataclass
class ImportSummary:
    """What one import did, for the closing summary (and for tests)."""

    files: int = 0
    rows_read: int = 0
    imported: int = 0
    duplicates: int = 0
    rejected: int = 0
    machines_created: int = 0
    sensors_created: int = 0
    first_ts: datetime | None = None
    last_ts: datetime | None = None
    ignored_columns: list[str] = field(default_factory=list)
    sensors_described: int = 0  # by the sensor metadata file
    metadata_unmatched: list[str] = field(default_factory=list)  # its rows no sensor matched

    @property
    def readings(self) -> int:
        """Readings found in the rows (wide: a row holds several; a bad row counts once)."""
        return self.imported + self.duplicates + self.rejected

    def as_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "rows_read": self.rows_read,
            "readings": self.readings,
            "imported": self.imported,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "machines_created": self.machines_created,
            "sensors_created": self.sensors_created,
            "first_ts": self.first_ts.isoformat() if self.first_ts else None,
            "last_ts": self.last_ts.isoformat() if self.last_ts else None,
            "sensors_described": self.sensors_described,
            "metadata_unmatched": self.metadata_unmatched,
            "ignored_columns": self.ignored_columns,
        }


@dataclass(frozen=True)
class _Plan:
    """What to take from one file: the layout and its columns."""

    layout: Literal["long", "wide"]
    usecols: list[str]
    sensors: list[str]  # wide only
    ignored: list[str]
    has_quality: bool


class RejectsFile:
    """Bad rows as CSV: file, row, sensor, reason (created on the first rejection)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._handle: Any = None
        self._writer: Any = None

    def write(self, file: Path, rows: np.ndarray, sensors: np.ndarray, reasons: np.ndarray) -> None:
        if self.path is None or len(rows) == 0:
            return
        if self._writer is None:
            self._handle = self.path.open("w", newline="", encoding="utf-8")
            self._writer = csv.writer(self._handle)
            self._writer.writerow(["file", "row", "sensor", "reason"])
        name = str(file)
        self._writer.writerows(
            (name, int(r), s or "", reason)
            for r, s, reason in zip(rows.tolist(), sensors.tolist(), reasons.tolist(), strict=True)
        )

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()


def plan_file(path: Path, options: ReadingsOptions) -> _Plan:
    """Check the header against the layout; name what is missing and what was found."""
    columns = columns_of(path)
    found = ", ".join(columns) or "none"
    required = [options.ts_column] + ([] if options.machine else [options.machine_column])
    layout = options.layout
    if layout == "auto":
        layout = "long" if {"sensor", "value"} <= set(columns) else "wide"
    if layout == "long":
        required += ["sensor", "value"]
    missing = [c for c in required if c not in columns]
    if missing:
        shape = (
            "ts, machine, sensor, value[, quality]"
            if layout == "long"
            else "ts, machine, <one column per sensor>"
        )
        raise ImportFileError(
            f"{path}: missing column {missing[0]!r} (found: {found}); expected the {layout}"
            f" layout {shape}, or name the columns with --ts-column / --machine-column"
            " (or --machine NAME for a one-machine file)."
        )
    if layout == "long":
        has_quality = "quality" in columns
        usecols = required + (["quality"] if has_quality else [])
        ignored = [c for c in columns if c not in usecols]
        return _Plan("long", usecols, [], ignored, has_quality)
    candidates = [c for c in columns if c not in required]
    if options.sensors is not None:
        unknown = [s for s in options.sensors if s not in candidates]
        if unknown:
            raise ImportFileError(
                f"{path}: --sensors names {unknown[0]!r}, which is not a column"
                f" (sensor columns: {', '.join(candidates) or 'none'})."
            )
        sensors = list(options.sensors)
    else:
        sensors = candidates
    if not sensors:
        raise ImportFileError(
            f"{path}: no sensor columns besides {', '.join(required)}; expected the wide layout"
            " ts, machine, <one column per sensor>."
        )
    ignored = [c for c in candidates if c not in sensors]
    return _Plan("wide", required + sensors, sensors, ignored, False)


def parse_timestamps(
    raw: pd.Series, options: ReadingsOptions
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """UTC ``datetime64[us]`` per cell, a reason (or None) per cell, and which were naive."""
    n = len(raw)
    reasons = np.full(n, None, dtype=object)
    naive = np.zeros(n, dtype=bool)
    fmt = options.ts_format
    if pd.api.types.is_datetime64_any_dtype(raw.dtype):  # Parquet timestamps
        ts = pd.Series(raw)
        if getattr(ts.dt, "tz", None) is None:
            naive[:] = True
            return _localize(ts, naive, reasons, options, pd.Series(raw).astype(str))
        out = ts.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
        reasons[np.isnat(out)] = "missing timestamp"
        return out, reasons, naive
    text = raw.astype(str).str.strip() if raw.dtype == object else raw.astype(str)
    if fmt in EPOCH_UNITS or (fmt is None and pd.api.types.is_numeric_dtype(raw.dtype)):
        numbers = pd.to_numeric(raw, errors="coerce")
        out = pd.to_datetime(numbers, unit=fmt or "s", errors="coerce").to_numpy(
            dtype="datetime64[us]"
        )
        bad = np.isnat(out)
        reasons[bad] = [f"timestamp {t!r} is not epoch {fmt or 's'}" for t in text[bad]]
        return out, reasons, naive
    aware = text.str.contains(_AWARE).to_numpy(dtype=bool)
    out = np.full(n, np.datetime64("NaT"), dtype="datetime64[us]")
    if aware.any():
        parsed = pd.to_datetime(text[aware], utc=True, format=fmt or "ISO8601", errors="coerce")
        out[aware] = parsed.dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
    naive = ~aware
    if naive.any():
        parsed = pd.to_datetime(text[naive], format=fmt or "ISO8601", errors="coerce")
        local, local_reasons, _ = _localize(parsed, naive[naive], reasons[naive], options, text)
        out[naive] = local
        reasons[naive] = local_reasons
    unparsed = np.isnat(out) & pd.isna(reasons)
    expected = f"--ts-format {fmt!r}" if fmt else "ISO 8601, or give --ts-format"
    reasons[unparsed] = [
        "missing timestamp" if t == "" else f"timestamp {t!r} is not a date and time ({expected})"
        for t in text[unparsed]
    ]
    return out, reasons, naive


def _localize(
    parsed: pd.Series,
    naive: np.ndarray,
    reasons: np.ndarray,
    options: ReadingsOptions,
    text: pd.Series,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if options.timezone is None:
        out = parsed.to_numpy(dtype="datetime64[us]")
        ok = ~np.isnat(out)
        reasons[ok] = "timestamp has no timezone; give --timezone (e.g. --timezone UTC)"
        return out, reasons, naive
    local = parsed.dt.tz_localize(options.timezone, ambiguous="NaT", nonexistent="NaT")
    out = local.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
    gap = np.isnat(out) & ~np.isnat(parsed.to_numpy(dtype="datetime64[us]"))
    reasons[gap] = f"local time is ambiguous or does not exist in {options.timezone} (DST change)"
    return out, reasons, naive


def parse_values(raw: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """float64 per cell, a reason (or None), and which cells are empty (no reading)."""
    if pd.api.types.is_numeric_dtype(raw.dtype) and raw.dtype != bool:
        values = raw.to_numpy(dtype=np.float64)
        empty = np.isnan(values)
        return values, np.full(len(raw), None, dtype=object), empty
    text = raw.astype(str).str.strip()
    empty = (text == "").to_numpy() | raw.isna().to_numpy()
    values = pd.to_numeric(text.where(~empty, "nan"), errors="coerce").to_numpy(dtype=np.float64)
    reasons = np.full(len(raw), None, dtype=object)
    bad = ~np.isfinite(values) & ~empty
    reasons[bad] = [f"value {v!r} is not a finite number" for v in text[bad]]
    return values, reasons, empty


class ReadingsImporter:
    """Imports files of readings through one writer (so ids stay cached across files)."""

    def __init__(
        self,
        database: Database,
        options: ReadingsOptions,
        *,
        register_unknown: bool = True,
        rejects: Path | None = None,
        table: str = "readings",
        progress: Progress | None = None,
    ) -> None:
        self._database = database
        self._options = options
        self._writer = ReadingsWriter(database, register_unknown=register_unknown, table=table)
        self._rejects = RejectsFile(rejects)
        self._progress = progress
        self._sensor_names: set[str] = set()

    def run(self, paths: Sequence[Path]) -> ImportSummary:
        """Import every file (all headers are checked before anything is written)."""
        plans = [(path, plan_file(path, self._options)) for path in paths]
        metadata = (
            read_sensor_metadata(self._options.sensor_metadata)
            if self._options.sensor_metadata is not None
            else None
        )
        before = self._counts()
        summary = ImportSummary(files=len(paths))
        try:
            for path, plan in plans:
                summary.ignored_columns += [
                    c for c in plan.ignored if c not in summary.ignored_columns
                ]
                self._import_file(path, plan, summary)
        finally:
            self._rejects.close()
        self._apply_units()
        if metadata is not None:
            described, unmatched = apply_sensor_metadata(self._database, metadata)
            summary.sensors_described, summary.metadata_unmatched = described, unmatched
        after = self._counts()
        summary.machines_created = after[0] - before[0]
        summary.sensors_created = after[1] - before[1]
        return summary

    def _counts(self) -> tuple[int, int]:
        rows = self._database.execute(
            "SELECT (SELECT count(*) FROM machines), (SELECT count(*) FROM sensors)"
        )
        return int(rows[0][0]), int(rows[0][1])

    def _import_file(self, path: Path, plan: _Plan, summary: ImportSummary) -> None:
        size = path.stat().st_size
        first_seen_aware: bool | None = None
        for chunk in iter_chunks(path, self._options.chunk_rows, plan.usecols):
            frame = chunk.frame
            frame.attrs["first_row"] = chunk.first_row
            n = len(frame)
            rows = np.arange(chunk.first_row, chunk.first_row + n)
            ts, ts_reasons, naive = parse_timestamps(frame[self._options.ts_column], self._options)
            if first_seen_aware is None and n:
                first_seen_aware = not naive[0]
                if naive[0] and self._options.timezone is None and ts_reasons[0] is not None:
                    raw = frame[self._options.ts_column].iloc[0]
                    raise ImportFileError(
                        f"{path}: row {chunk.first_row}: timestamp {str(raw)!r} has no timezone;"
                        " give --timezone (e.g. --timezone UTC or Europe/Berlin) or write"
                        " timestamps with an offset."
                    )
            if first_seen_aware and self._options.timezone is None:
                mixed = naive & ~np.isnat(ts)
                ts_reasons[mixed] = (
                    "timestamp has no timezone while row 1's has one (mixed time zones);"
                    " give --timezone for the naive ones"
                )
            if self._options.machine is not None:
                machine = np.full(n, self._options.machine, dtype=object)
            else:
                machine = (
                    frame[self._options.machine_column]
                    .astype(str)
                    .str.strip()
                    .to_numpy(dtype=object)
                )
                ts_reasons[(machine == "") & pd.isna(ts_reasons)] = "machine is empty"
            summary.rows_read += n
            if plan.layout == "long":
                columns, row_of, sensor_of, reasons = self._long(frame, plan, ts, machine)
            else:
                columns, row_of, sensor_of, reasons = self._wide(frame, plan, ts, machine)
            # a bad timestamp or machine spoils the row's readings: one rejection for the row
            row_bad = ~pd.isna(ts_reasons)
            idx = row_of - chunk.first_row
            keep = pd.isna(reasons) & ~row_bad[idx]
            self._reject(path, rows[row_bad], np.full(int(row_bad.sum()), "", dtype=object),
                         ts_reasons[row_bad], summary)  # fmt: skip
            cell_bad = ~pd.isna(reasons) & ~row_bad[idx]
            self._reject(path, row_of[cell_bad], sensor_of[cell_bad], reasons[cell_bad], summary)
            good = _take(columns, keep)
            if len(good):
                result = self._writer.write(good)
                summary.imported += result.inserted
                summary.duplicates += result.duplicates
                if result.rejected:
                    at = np.array([r.index for r in result.rejected])
                    why = np.array([r.reason for r in result.rejected], dtype=object)
                    self._reject(path, row_of[keep][at], sensor_of[keep][at], why, summary)
                written = np.ones(len(good), dtype=bool)
                if result.rejected:
                    written[at] = False
                self._span(good.ts[written], summary)
                self._sensor_names.update(pd.unique(good.sensor).tolist())
            if self._progress is not None:
                self._progress(summary.rows_read, chunk.bytes_done, size)

    def _long(
        self, frame: pd.DataFrame, plan: _Plan, ts: np.ndarray, machine: np.ndarray
    ) -> tuple[ReadingColumns, np.ndarray, np.ndarray, np.ndarray]:
        n = len(frame)
        sensor = frame["sensor"].astype(str).str.strip().to_numpy(dtype=object)
        values, reasons, empty = parse_values(frame["value"])
        reasons[empty] = "value is empty"
        reasons[(sensor == "") & pd.isna(reasons)] = "sensor is empty"
        quality = np.zeros(n, dtype=np.int16)
        if plan.has_quality:
            q = pd.to_numeric(frame["quality"].replace("", "0"), errors="coerce").to_numpy()
            bad_q = ~np.isin(q, np.arange(256)) & pd.isna(reasons)
            reasons[bad_q] = [f"quality {v!r} is not 0-255" for v in frame["quality"][bad_q]]
            quality = np.where(bad_q, 0, np.nan_to_num(q)).astype(np.int16)
        columns = ReadingColumns(machine, sensor, ts, values, quality, np.zeros(n, dtype=bool))
        return columns, np.arange(n) + self._row_base(frame), sensor, reasons

    def _wide(
        self, frame: pd.DataFrame, plan: _Plan, ts: np.ndarray, machine: np.ndarray
    ) -> tuple[ReadingColumns, np.ndarray, np.ndarray, np.ndarray]:
        n = len(frame)
        base = self._row_base(frame)
        parts_value, parts_reason, parts_row, parts_sensor = [], [], [], []
        for name in plan.sensors:
            values, reasons, empty = parse_values(frame[name])
            present = ~empty
            parts_value.append(values[present])
            parts_reason.append(reasons[present])
            parts_row.append((np.arange(n) + base)[present])
            parts_sensor.append(np.full(int(present.sum()), name, dtype=object))
        row_of = np.concatenate(parts_row)
        local = row_of - base
        sensor = np.concatenate(parts_sensor)
        columns = ReadingColumns(
            machine[local],
            sensor,
            ts[local],
            np.concatenate(parts_value),
            np.zeros(len(row_of), dtype=np.int16),
            np.zeros(len(row_of), dtype=bool),
        )
        return columns, row_of, sensor, np.concatenate(parts_reason)

    @staticmethod
    def _row_base(frame: pd.DataFrame) -> int:
        return int(frame.attrs.get("first_row", 1))

    def _reject(
        self,
        path: Path,
        rows: np.ndarray,
        sensors: np.ndarray,
        reasons: np.ndarray,
        summary: ImportSummary,
    ) -> None:
        if len(rows) == 0:
            return
        summary.rejected += len(rows)
        self._rejects.write(path, rows, sensors, reasons)

    @staticmethod
    def _span(ts: np.ndarray, summary: ImportSummary) -> None:
        if len(ts) == 0:
            return
        low = pd.Timestamp(ts.min()).tz_localize(UTC).to_pydatetime()
        high = pd.Timestamp(ts.max()).tz_localize(UTC).to_pydatetime()
        summary.first_ts = low if summary.first_ts is None else min(summary.first_ts, low)
        summary.last_ts = high if summary.last_ts is None else max(summary.last_ts, high)

    def _apply_units(self) -> None:
        for sensor, unit in self._options.units.items():
            if sensor in self._sensor_names:
                self._database.execute(
                    "UPDATE sensors SET unit = %s WHERE name = %s", (unit, sensor)
                )


def _take(columns: ReadingColumns, mask: np.ndarray) -> ReadingColumns:
    return ReadingColumns(
        columns.machine[mask],
        columns.sensor[mask],
        columns.ts[mask],
        columns.value[mask],
        columns.quality[mask],
        None if columns.naive is None else columns.naive[mask],
    )
