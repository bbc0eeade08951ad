"""One settings object for every Millwright service.

Built once by the CLI from environment variables prefixed ``MILLWRIGHT_`` (nested sections use
``__``, e.g. ``MILLWRIGHT_SCHEDULER__TIME_LIMIT_S``) and, optionally, a TOML file given with
``--config``. Environment variables win over the file. Invalid values stop start-up with a
message naming the setting and what is expected (:func:`load_settings`).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError

from alerts.config import AlertsConfig
from dashboard.config import DashboardConfig
from features.config import FeaturesConfig
from ingest.config import IngestConfig
from millwright.app.worker_config import WorkerConfig
from millwright.core.settings import CoreSettings, SettingsError
from models.config import ModelsConfig
from scheduler.config import SchedulerConfig
from sim.config import SimConfig

__all__ = ["Settings", "SettingsError", "describe_validation_error", "load_settings"]


class Settings(CoreSettings):
    """Every setting: the top-level ones of :class:`CoreSettings` plus one section per stage."""

    ingest: IngestConfig = Field(default_factory=IngestConfig)
    sim: SimConfig = Field(default_factory=SimConfig)
    features: FeaturesConfig = Field(default_factory=FeaturesConfig)
    models: ModelsConfig = Field(default_factory=ModelsConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    scheduler: SchedulerConfig = Field(default_factory=SchedulerConfig)
    dashboard: DashboardConfig = Field(default_factory=DashboardConfig)
    worker: WorkerConfig = Field(default_factory=WorkerConfig)


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build the settings from the environment and an optional TOML file.

    Raises :class:`SettingsError` whose message lists every bad setting and what it expects.
    """
    values: dict[str, Any] = {}
    if config_file is not None:
        try:
            values = tomllib.loads(Path(config_file).read_text())
        except FileNotFoundError as exc:
            raise SettingsError(f"config file {config_file} does not exist") from exc
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"config file {config_file} is not valid TOML: {exc}") from exc
    values.update(overrides)
    try:
        return Settings(**values)
    except ValidationError as exc:
        raise SettingsError(describe_validation_error(exc, config_file)) from None


def describe_validation_error(exc: ValidationError, config_file: Path | None = None) -> str:
    """One line per bad setting: its name (as env var and as TOML key) and what is expected."""
    where = f" (from {config_file} or the environment)" if config_file else ""
    lines = [f"invalid settings{where}:"]
    for error in exc.errors():
        path = [str(p) for p in error["loc"]]
        key = ".".join(path)
        env = "MILLWRIGHT_" + "__".join(path).upper()
        lines.append(f"  {key} ({env}): {error['msg']}; got {error.get('input')!r}")
    return "\n".join(lines)
