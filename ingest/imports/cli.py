"""`millwright import …`: bring a plant's history in from files.

- ``import readings FILE…``: historian exports, CSV or Parquet, long or wide layout.

A file that cannot be read as asked is refused in one sentence (exit 2) before anything is
written; bad rows go to the rejects file and the rest is imported.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from millwright.core.commands import CliGroups, app_context

import_app = typer.Typer(
    help="Import plant history from files: historian readings, machines, CMMS work orders.",
    no_args_is_help=True,
)


def _fail(message: str) -> None:
    typer.echo(f"millwright import: {message}", err=True)
    raise typer.Exit(2)


# options several commands take, with the same help
TimezoneOption = Annotated[
    str | None, typer.Option(help="Time zone of timestamps without an offset, e.g. UTC.")
]
TsFormatOption = Annotated[
    str | None, typer.Option(help="strftime format of the timestamps, or epoch s|ms|us.")
]
RejectsOption = Annotated[
    Path | None, typer.Option(help="Where bad rows go (default: <file>.rejects.csv).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")]


def _default_rejects(file: Path) -> Path:
    return file.with_name(file.name + ".rejects.csv")


def _report(
    result: dict[str, Any],
    rejects_path: Path,
    as_json: bool,
    counts: Sequence[str],
    widths: tuple[int, int],
    notes: Sequence[str],
) -> None:
    """Print an import's summary the same way for every kind of file: the JSON line, or one
    line per count (label and value padded to ``widths``), then ``notes`` and where the
    rejected rows went (if any)."""
    rejected = bool(result["rejected"])
    result = result | {"rejects_file": str(rejects_path) if rejected else None}
    if as_json:
        typer.echo(json.dumps(result))
        return
    label, value = widths
    for key in counts:
        typer.echo(f"{key.replace('_', ' ') + ':':<{label}}{result[key]:>{value},}")
    for note in notes:
        typer.echo(note)
    if rejected:
        typer.echo(f"rejects written to {rejects_path}")


def _units(pairs: list[str]) -> dict[str, str]:
    units = {}
    for pair in pairs:
        sensor, sep, unit = pair.partition("=")
        if not sep or not sensor or not unit:
            _fail(f"--unit {pair!r} is not sensor=unit (e.g. --unit temperature=degC).")
        units[sensor] = unit
    return units


@import_app.command("readings")
def import_readings(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(help="CSV or Parquet files.")],
    layout: Annotated[
        str, typer.Option(help="long (ts, machine, sensor, value), wide, or auto.")
    ] = "auto",
    ts_column: Annotated[str, typer.Option(help="Column of the timestamps.")] = "ts",
    machine_column: Annotated[str, typer.Option(help="Column of the machine names.")] = "machine",
    machine: Annotated[
        str | None, typer.Option(help="The one machine of a file without a machine column.")
    ] = None,
    sensors: Annotated[
        str | None, typer.Option(help="Wide layout: comma-separated sensor columns to take.")
    ] = None,
    timezone: TimezoneOption = None,
    ts_format: TsFormatOption = None,
    unit: Annotated[list[str], typer.Option("--unit", help="sensor=unit, repeatable.")] = [],  # noqa: B006
    sensor_metadata: Annotated[
        Path | None,
        typer.Option(
            help="CSV/Parquet: sensor[, machine, unit, description, operating_condition]."
        ),
    ] = None,
    rejects: Annotated[
        Path | None, typer.Option(help="Where bad rows go (default: <first file>.rejects.csv).")
    ] = None,
    chunk_rows: Annotated[int, typer.Option(min=1000, help="Rows per chunk.")] = 100_000,
    as_json: JsonOption = False,
) -> None:
    """Import readings; a re-import adds nothing, bad rows go to a rejects file."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from ingest.imports.errors import ImportFileError
    from ingest.imports.readings import ReadingsImporter, ReadingsOptions

    if layout not in ("auto", "long", "wide"):
        _fail(f"--layout {layout!r} is not one of auto, long, wide.")
    try:
        options = ReadingsOptions(
            layout=layout,  # type: ignore[arg-type]
            ts_column=ts_column,
            machine_column=machine_column,
            machine=machine,
            sensors=tuple(s.strip() for s in sensors.split(",") if s.strip()) if sensors else None,
            timezone=timezone,
            ts_format=ts_format,
            units=_units(unit),
            sensor_metadata=sensor_metadata,
            chunk_rows=chunk_rows,
        )
    except ValueError as exc:
        _fail(str(exc))
    context = app_context(ctx)
    rejects_path = rejects or _default_rejects(files[0])
    bar = Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[rows]:>12,} rows"),
        TimeRemainingColumn(),
        transient=True,
        disable=as_json,
    )
    with bar:
        task = bar.add_task("importing", total=100, rows=0)

        def progress(rows: int, done: int, total: int) -> None:
            bar.update(task, completed=100 * done / max(total, 1), rows=rows)

        importer = ReadingsImporter(
            context.database(),
            options,
            register_unknown=context.settings.register_unknown,
            rejects=rejects_path,
            progress=progress,
        )
        try:
            summary = importer.run(files)
        except ImportFileError as exc:
            _fail(str(exc))
    result = summary.as_dict() | {"readings": summary.readings}
    span = f"{result['first_ts']} .. {result['last_ts']}" if summary.first_ts else "-"
    notes = [f"time span:        {span}"]
    if sensor_metadata is not None:
        notes.append(f"sensors described:{summary.sensors_described:>12,}")
    if summary.metadata_unmatched:
        notes.append(f"metadata rows matching no sensor: {', '.join(summary.metadata_unmatched)}")
    if summary.ignored_columns:
        notes.append(f"ignored columns:  {', '.join(summary.ignored_columns)}")
    counts = ("rows_read", "readings", "imported", "duplicates", "rejected",
              "machines_created", "sensors_created")  # fmt: skip
    _report(result, rejects_path, as_json, counts, (18, 12), notes)


def register(groups: CliGroups) -> None:
    groups.root.add_typer(import_app, name="import")


@import_app.command("events")
def import_events_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="CSV or Parquet work-order log.")],
    timezone: TimezoneOption = None,
    ts_format: TsFormatOption = None,
    repair_after: Annotated[
        float | None,
        typer.Option("--repair-after", help="Close a failure with no repair after HOURS."),
    ] = None,
    rejects: RejectsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import failures, repairs, maintenance, inspections and downtime from a CMMS log."""
    from ingest.imports.errors import ImportFileError
    from ingest.imports.events import EventsOptions, import_events

    try:
        options = EventsOptions(timezone=timezone, ts_format=ts_format, repair_after_h=repair_after)
    except ValueError as exc:
        _fail(str(exc))
    context = app_context(ctx)
    rejects_path = rejects or _default_rejects(file)
    try:
        summary = import_events(
            context.database(),
            file,
            options,
            register_unknown=context.settings.register_unknown,
            rejects=rejects_path,
        )
    except ImportFileError as exc:
        _fail(str(exc))
    counts = ("rows_read", "imported", "unchanged", "rejected", "downtimes",
              "closed_by_repair_after")  # fmt: skip
    notes = [
        f"failure without a later repair: {line} (close with --repair-after HOURS)"
        for line in summary.open_failures
    ]
    _report(summary.as_dict(), rejects_path, as_json, counts, (24, 10), notes)


@import_app.command("machines")
def import_machines_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="CSV or Parquet machine and sensor list.")],
    rejects: RejectsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Upsert machines (line, class, alternative groups) and their sensors (unit,
    description, operating condition); machines missing from the file are only reported."""
    from ingest.imports.errors import ImportFileError
    from ingest.imports.machines import import_machines

    rejects_path = rejects or _default_rejects(file)
    try:
        summary = import_machines(app_context(ctx).database(), file, rejects=rejects_path)
    except ImportFileError as exc:
        _fail(str(exc))
    counts = ("rows_read", "machines_created", "machines_updated", "sensors_created",
              "sensors_updated", "rejected")  # fmt: skip
    kept = ", ".join(summary.not_in_file)
    notes = [f"in the database but not in the file (kept): {kept}"] if kept else []
    _report(summary.as_dict(), rejects_path, as_json, counts, (20, 10), notes)
