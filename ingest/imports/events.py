"""`millwright import events`: a CMMS work-order log into plant events and downtime windows.

Columns ``ts, machine, kind`` with kind one of failure, repair, maintenance, inspection,
downtime_start, downtime_end; optional ``end, component, work_order, note``. Unknown columns
are refused (a typo must not drop data silently).

- A ``downtime_start`` is closed by its ``end`` or by the machine's next ``downtime_end``;
  it becomes one downtime event and the calendar span the scheduler plans around.
- A failure with no later repair (in the file or already stored) is reported;
  ``repair_after_h`` closes each with a repair that many hours later.
- The work-order id makes a re-import idempotent: the same order is updated, not added.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ingest.imports.errors import ImportFileError
from ingest.imports.readings import ReadingsOptions, RejectsFile, parse_timestamps
from ingest.imports.source import columns_of, iter_chunks
from millwright.core.storage.database import Database
from millwright.core.storage.events import PlantEvent, write_events

FILE_KINDS = (
    "failure", "repair", "maintenance", "inspection", "downtime_start", "downtime_end",
)  # fmt: skip
REQUIRED = ("ts", "machine", "kind")
OPTIONAL = ("end", "component", "work_order", "note")
SOURCE = "import"


@dataclass(frozen=True)
class EventsOptions:
    timezone: str | None = None
    ts_format: str | None = None
    repair_after_h: float | None = None
    chunk_rows: int = 50_000

    def __post_init__(self) -> None:
        if self.repair_after_h is not None and not (
            math.isfinite(self.repair_after_h) and self.repair_after_h > 0
        ):
            raise ValueError("--repair-after needs a positive number of hours.")
        ReadingsOptions(timezone=self.timezone)  # the same time zone check


@dataclass
class EventsSummary:
    rows_read: int = 0
    imported: int = 0  # new events
    unchanged: int = 0  # already there (same work order, or same machine/kind/time)
    rejected: int = 0
    downtimes: int = 0
    closed_by_repair_after: int = 0
    open_failures: list[str] = field(default_factory=list)  # "row 12: press-1 at ..."

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows_read": self.rows_read,
            "imported": self.imported,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "downtimes": self.downtimes,
            "closed_by_repair_after": self.closed_by_repair_after,
            "open_failures": self.open_failures,
        }


@dataclass(frozen=True)
class _Row:
    row: int
    machine: str
    kind: str
    ts: datetime
    end: datetime | None
    component: str | None
    work_order: str | None
    note: str | None


def _check_columns(path: Path) -> list[str]:
    columns = columns_of(path)
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise ImportFileError(
            f"{path}: missing column {missing[0]!r} (found: {', '.join(columns) or 'none'});"
            f" expected {', '.join(REQUIRED)} and optionally {', '.join(OPTIONAL)}."
        )
    unknown = [c for c in columns if c not in REQUIRED + OPTIONAL]
    if unknown:
        raise ImportFileError(
            f"{path}: unknown column {unknown[0]!r}; expected only"
            f" {', '.join(REQUIRED + OPTIONAL)}."
        )
    return columns


def _text(frame: pd.DataFrame, column: str) -> list[str | None]:
    if column not in frame:
        return [None] * len(frame)
    return [str(v).strip() or None if v is not None else None for v in frame[column].tolist()]


def _read_rows(
    path: Path, options: EventsOptions, columns: list[str], rejects: RejectsFile
) -> tuple[list[_Row], int, int]:
    """The parsed rows, how many were read and how many rejected."""
    ts_options = ReadingsOptions(timezone=options.timezone, ts_format=options.ts_format)
    rows: list[_Row] = []
    read = rejected = 0
    for chunk in iter_chunks(path, options.chunk_rows, columns):
        frame = chunk.frame
        n = len(frame)
        read += n
        numbers = np.arange(chunk.first_row, chunk.first_row + n)
        ts, reasons, _ = parse_timestamps(frame["ts"], ts_options)
        ends = np.full(n, np.datetime64("NaT"), dtype="datetime64[us]")
        if "end" in frame:
            raw_end = frame["end"].astype(str).str.strip().reset_index(drop=True)
            given = (raw_end != "").to_numpy()
            end_reasons = np.full(n, None, dtype=object)
            if given.any():
                parsed, why, _ = parse_timestamps(raw_end[given].reset_index(drop=True), ts_options)
                ends[given] = parsed
                end_reasons[given] = why
            bad_end = ~pd.isna(end_reasons) & pd.isna(reasons)
            reasons[bad_end] = [f"end: {r}" for r in end_reasons[bad_end]]
        machines = _text(frame, "machine")
        kinds = [(k or "").lower() for k in _text(frame, "kind")]
        components, orders, notes = (_text(frame, c) for c in ("component", "work_order", "note"))
        for i in range(n):
            reason = reasons[i]
            if reason is None and not machines[i]:
                reason = "machine is empty"
            if reason is None and kinds[i] not in FILE_KINDS:
                reason = f"kind {kinds[i]!r} is not one of {', '.join(FILE_KINDS)}"
            start = _utc(ts[i])
            end = None if np.isnat(ends[i]) else _utc(ends[i])
            if reason is None and end is not None and end < start:  # type: ignore[operator]
                reason = f"end {end.isoformat()} is before ts {start.isoformat()}"  # type: ignore[union-attr]
            if reason is not None:
                rejects.write(path, numbers[i : i + 1], np.array([""], dtype=object),
                              np.array([reason], dtype=object))  # fmt: skip
                rejected += 1
                continue
            assert start is not None and machines[i] is not None
            rows.append(_Row(int(numbers[i]), machines[i], kinds[i], start, end,  # type: ignore[arg-type]
                             components[i], orders[i], notes[i]))  # fmt: skip
    return rows, read, rejected


def _utc(value: np.datetime64) -> datetime | None:
    if np.isnat(value):
        return None
    return pd.Timestamp(value).tz_localize(UTC).to_pydatetime()


def import_events(
    database: Database,
    path: Path,
    options: EventsOptions,
    *,
    register_unknown: bool = True,
    rejects: Path | None = None,
) -> EventsSummary:
    """Import one work-order log; see the module docstring for the rules."""
    columns = _check_columns(path)
    out = RejectsFile(rejects)
    summary = EventsSummary()
    try:
        rows, summary.rows_read, summary.rejected = _read_rows(path, options, columns, out)
        known = {r[0] for r in database.execute("SELECT name FROM machines")}

        def refuse(row: _Row, reason: str) -> None:
            out.write(path, np.array([row.row]), np.array([""], dtype=object),
                      np.array([reason], dtype=object))  # fmt: skip
            summary.rejected += 1

        if not register_unknown:
            kept = []
            for row in rows:
                if row.machine in known:
                    kept.append(row)
                else:
                    refuse(row, f"unknown machine {row.machine!r} (registration is off)")
            rows = kept
        events = _pair(rows, refuse, summary)
        events += _close_failures(database, rows, options, summary)
        stored = write_events(database, [e for _, e in events])
    finally:
        out.close()
    summary.imported = sum(1 for s in stored if s.created)
    summary.unchanged = len(stored) - summary.imported
    summary.downtimes = sum(1 for s in stored if s.kind == "downtime")
    return summary


def _event(row: _Row, kind: str, end: datetime | None = None) -> PlantEvent:
    return PlantEvent(
        machine=row.machine, kind=kind, ts=row.ts, ends_at=end if end is not None else row.end,
        work_order=row.work_order, component=row.component, note=row.note, source=SOURCE,
    )  # fmt: skip


def _pair(rows: list[_Row], refuse: Any, summary: EventsSummary) -> list[tuple[int, PlantEvent]]:
    """Rows as events: downtime_start/_end pairs (per machine, in time order) become one."""
    events: list[tuple[int, PlantEvent]] = []
    by_machine: dict[str, list[_Row]] = defaultdict(list)
    for row in rows:
        if row.kind in ("downtime_start", "downtime_end"):
            by_machine[row.machine].append(row)
        else:
            events.append((row.row, _event(row, row.kind)))
    for machine_rows in by_machine.values():
        machine_rows.sort(key=lambda r: (r.ts, r.row))
        open_start: _Row | None = None
        for row in machine_rows:
            if row.kind == "downtime_start":
                if open_start is not None:
                    refuse(open_start, "downtime_start without a downtime_end before the next")
                if row.end is not None:
                    if row.end > row.ts:
                        events.append((row.row, _event(row, "downtime")))
                    else:
                        refuse(row, "downtime end must be after its start")
                    open_start = None
                else:
                    open_start = row
            elif open_start is None:
                refuse(row, "downtime_end without an earlier downtime_start on this machine")
            elif row.ts <= open_start.ts:
                refuse(row, "downtime_end at the same time as its downtime_start")
            else:
                events.append((open_start.row, _event(open_start, "downtime", row.ts)))
                open_start = None
        if open_start is not None:
            refuse(open_start, "downtime_start without a downtime_end or an end")
    return events


def _close_failures(
    database: Database, rows: list[_Row], options: EventsOptions, summary: EventsSummary
) -> list[tuple[int, PlantEvent]]:
    """Failures with no later repair: reported, or closed by a repair ``repair_after_h`` on."""
    repairs: dict[str, list[datetime]] = defaultdict(list)
    for row in rows:
        if row.kind == "repair":
            repairs[row.machine].append(row.ts)
    for machine, ts in database.execute(
        "SELECT m.name, e.ts FROM events e JOIN machines m ON m.id = e.machine_id"
        " WHERE e.kind = 'repair'"
    ):
        repairs[machine].append(ts)
    added: list[tuple[int, PlantEvent]] = []
    for row in sorted((r for r in rows if r.kind == "failure"), key=lambda r: r.row):
        if any(t > row.ts for t in repairs[row.machine]):
            continue
        if options.repair_after_h is None:
            summary.open_failures.append(f"row {row.row}: {row.machine} at {row.ts.isoformat()}")
            continue
        at = row.ts + timedelta(hours=options.repair_after_h)
        order = f"{row.work_order}:repair" if row.work_order else None
        note = f"closed by --repair-after {options.repair_after_h:g} h"
        repair = PlantEvent(
            row.machine, "repair", at, work_order=order, component=row.component, note=note,
            source=SOURCE,
        )  # fmt: skip
        added.append((row.row, repair))
        repairs[row.machine].append(at)
        summary.closed_by_repair_after += 1
    return added
