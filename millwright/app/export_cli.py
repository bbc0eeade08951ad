"""`millwright export TABLE…`: readings, events, risk scores and plans for a time range."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from millwright.core.commands import app_context


def _when(text: str, option: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        typer.echo(
            f"millwright export: {option} {text!r} is not an ISO 8601 date or time"
            " (e.g. 2026-01-01 or 2026-01-01T06:00:00Z).",
            err=True,
        )
        raise typer.Exit(2) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def export(
    ctx: typer.Context,
    tables: Annotated[list[str], typer.Argument(help="readings, events, risk, plans.")],
    start: Annotated[str, typer.Option("--from", help="Start (UTC unless an offset is given).")],
    end: Annotated[str, typer.Option("--to", help="End, exclusive.")],
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet.")] = "csv",
    out: Annotated[Path, typer.Option(help="Directory for <table>.<format> files.")] = Path("."),
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Write tables for [--from, --to) as CSV or Parquet files, one per table."""
    from millwright.app.export import TABLES, export_table

    unknown = [t for t in tables if t not in TABLES]
    if unknown:
        typer.echo(
            f"millwright export: cannot export {unknown[0]!r}; expected {', '.join(TABLES)}.",
            err=True,
        )
        raise typer.Exit(2)
    since, until = _when(start, "--from"), _when(end, "--to")
    out.mkdir(parents=True, exist_ok=True)
    database = app_context(ctx).database()
    done = []
    for table in tables:
        try:
            result = export_table(
                database, table, out / f"{table}.{fmt}", start=since, end=until, fmt=fmt
            )
        except ValueError as exc:
            typer.echo(f"millwright export: {exc}", err=True)
            raise typer.Exit(2) from None
        done.append({"table": table, "path": str(result.path), "rows": result.rows})
        if not as_json:
            typer.echo(f"{table:<10}{result.rows:>12,} rows  {result.path}")
    if as_json:
        typer.echo(json.dumps(done))
