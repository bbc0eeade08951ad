"""`millwright` commands of the `models` package."""

from __future__ import annotations

from millwright.core.commands import CliGroups


def register(groups: CliGroups) -> None:
    """Add this package's commands to the CLI."""
    from models import cli_models

    groups.root.command("train")(cli_models.train_command)
    groups.root.command("score")(cli_models.score_command)
    groups.root.add_typer(cli_models.models_app, name="models")
