"""The command groups each package adds its commands to, and the per-invocation context.

Packages expose ``register(groups)`` in their ``cli.py``; the composition root
(:mod:`millwright.app.cli`) builds the groups, calls a package's ``register`` when one of its
commands is used, and runs the app. Settings are built once in the root callback and reach
commands through :func:`app_context`; a command reads its own stage's section with
:meth:`AppContext.section`, so no stage depends on the composed settings type.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import typer

from millwright.core.settings import CoreSettings, section_of

if TYPE_CHECKING:
    from millwright.core.storage.database import Database

T = TypeVar("T")


@dataclass
class CliGroups:
    """The root app and its shared sub-groups."""

    root: typer.Typer
    bench: typer.Typer
    eval: typer.Typer
    schedule: typer.Typer = field(
        default_factory=lambda: typer.Typer(
            help="Plan production and maintenance.", no_args_is_help=True
        )
    )

    def __post_init__(self) -> None:
        self.root.add_typer(self.schedule, name="schedule")


@dataclass
class AppContext:
    """What a command needs: the settings, and the database opened on first use.

    ``loader`` rebuilds the settings from another TOML file (a command's own ``--config``);
    the root passes the composed loader, raising :class:`~millwright.core.settings.SettingsError`.
    """

    settings: CoreSettings
    _database: Database | None = field(default=None, repr=False)
    _embedded: object | None = field(default=None, repr=False)
    loader: Callable[[Path | None], CoreSettings] | None = field(default=None, repr=False)

    def section(self, name: str, kind: type[T]) -> T:
        """The settings section ``name`` of type ``kind``, e.g. ``("features", FeaturesConfig)``."""
        return section_of(self.settings, name, kind)

    def reload(self, config_file: Path) -> None:
        """Replace the settings with those built from ``config_file`` (before any database use)."""
        if self.loader is None:
            raise RuntimeError("this context was built without a settings loader")
        self.settings = self.loader(config_file)

    def database(self) -> Database:
        """Open the configured database on first use, refusing one that is behind this code.

        The embedded database is upgraded here; a configured one must have been upgraded by
        ``millwright db upgrade``, otherwise the command stops with that one-line advice.
        """
        if self._database is None:
            from millwright.core.storage.database import open_database
            from millwright.core.storage.errors import SchemaBehind

            try:
                self._database, self._embedded = open_database(self.settings.storage)
            except SchemaBehind as exc:
                typer.echo(f"millwright: {exc}", err=True)
                raise typer.Exit(1) from None
        return self._database

    def close(self) -> None:
        if self._database is not None:
            self._database.close()
            self._database = None
        if self._embedded is not None:
            self._embedded.stop()  # type: ignore[attr-defined]
            self._embedded = None


def app_context(ctx: typer.Context) -> AppContext:
    """The :class:`AppContext` built by the root callback."""
    root = ctx.find_root()
    if not isinstance(root.obj, AppContext):
        raise RuntimeError("the millwright root callback did not run")
    return root.obj


class CommandError(Exception):
    """A problem the person running the command can fix: printed as its one-sentence message,
    exit code 2, no traceback (``-v`` shows it)."""


def run_app(app: Callable[[], object], argv: Sequence[str] | None = None) -> None:
    """Run the CLI; errors meant for people become one line on stderr and exit code 2.

    Those are :class:`CommandError` and storage errors (a database that cannot be reached, a
    failed migration); settings errors stop in the root callback the same way. With
    ``-v``/``--verbose`` they keep their traceback.
    """
    from millwright.core.storage.errors import StorageError

    args = list(sys.argv[1:] if argv is None else argv)
    try:
        app()
    except (CommandError, StorageError) as exc:
        if "-v" in args or "--verbose" in args:
            raise
        typer.echo(f"millwright: {exc}", err=True)
        raise SystemExit(2) from None
