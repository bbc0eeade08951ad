"""``millwright demo``: the whole loop on embedded defaults (see :mod:`millwright.demo.run`)."""

from __future__ import annotations

import typer

from millwright.cli_groups import AppContext
from millwright.storage.status import database_status


def run_demo(context: AppContext) -> None:
    """Bring up the (embedded) database, migrate it and print its status."""
    status = database_status(context.database())
    typer.echo(
        f"database ready: schema version {status['schema_version']}, "
        f"TimescaleDB {'active' if status['timescaledb'] else 'not available'}"
    )
