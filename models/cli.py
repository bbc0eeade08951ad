"""`millwright` commands of the `models` package."""

from __future__ import annotations

from millwright.cli_groups import CliGroups


def register(groups: CliGroups) -> None:
    """Add this package's commands to the CLI."""
