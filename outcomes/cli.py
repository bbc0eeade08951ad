"""`millwright report outcomes`: the outcomes of a period as shareable HTML or CSV."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from millwright.core.commands import CliGroups, CommandError, app_context


def _when(value: str | None, default: datetime, option: str) -> datetime:
    if value is None:
        return default
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(
            f"{option} {value!r} is not a date or time; expected e.g. 2026-11-01 or"
            " 2026-11-01T00:00:00Z"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def register(groups: CliGroups) -> None:
    """Add ``report outcomes`` to the CLI."""
    report = typer.Typer(help="Reports to share: the plant's outcomes.", no_args_is_help=True)
    groups.root.add_typer(report, name="report")

    @report.command("outcomes")
    def report_outcomes(
        ctx: typer.Context,
        start: Annotated[
            str | None, typer.Option("--from", help="Start (UTC); default 30 days before --to.")
        ] = None,
        end: Annotated[
            str | None, typer.Option("--to", help="End (UTC); default the newest event.")
        ] = None,
        group: Annotated[str, typer.Option(help="machine, line or plant.")] = "plant",
        output_format: Annotated[str, typer.Option("--format", help="html or csv.")] = "html",
        output: Annotated[
            Path | None, typer.Option("--output", help="File to write; default stdout.")
        ] = None,
    ) -> None:
        """Availability, downtime, MTBF/MTTR, recall and lead times, false alarms,
        maintenance, orders and costs, with the reactive and preventive counterfactual."""
        from outcomes.config import OutcomesConfig
        from outcomes.figures import Group
        from outcomes.report import to_csv, to_html
        from outcomes.service import compute_outcomes

        if output_format not in ("html", "csv"):
            raise CommandError(f"--format must be html or csv, got {output_format!r}")
        if group not in {g.value for g in Group}:
            raise CommandError(f"--group must be machine, line or plant, got {group!r}")
        context = app_context(ctx)
        database = context.database()
        config = getattr(context.settings, "outcomes", None) or OutcomesConfig()
        newest = database.execute("SELECT max(coalesce(ends_at, ts)) FROM events")[0][0]
        until = _when(end, newest or datetime.now(UTC), "--to")
        since = _when(start, until - timedelta(days=30), "--from")
        if until <= since:
            raise CommandError(f"--to ({until.isoformat()}) must come after --from")
        result = compute_outcomes(database, config, since, until, group=Group(group))
        text = to_html(result) if output_format == "html" else to_csv(result)
        if output is None:
            typer.echo(text)
        else:
            output.write_text(text)
            typer.echo(f"wrote {output} ({len(text):,} bytes)")
