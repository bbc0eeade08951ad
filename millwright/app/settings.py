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

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from alerts.config import AlertsConfig
from dashboard.config import DashboardConfig
from features.config import FeaturesConfig
from ingest.config import IngestConfig
from millwright.app.worker_config import WorkerConfig
from millwright.core.clock import PlantClock, time_zone
from millwright.core.storage.database import Database
from models.config import ModelsConfig
from scheduler.config import SchedulerConfig
from sim.config import SimConfig


class SettingsError(ValueError):
    """Settings could not be loaded; the message names each bad setting."""


class Settings(BaseSettings):
    """Everything configurable, with embedded defaults that make ``millwright demo`` work."""

    model_config = SettingsConfigDict(
        env_prefix="MILLWRIGHT_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    database_url: str | None = Field(
        default=None,
        description="PostgreSQL/TimescaleDB URL; unset starts an embedded PostgreSQL.",
    )
    data_dir: Path = Field(
        default=Path.home() / ".local" / "share" / "millwright",
        description="Per-user directory for the embedded database and local buffers.",
    )
    mqtt_url: str | None = Field(
        default=None,
        description="mqtt://[user:pass@]host:port or mqtts://...; unset: the demo starts one.",
    )
    pool_min_size: int = Field(default=1, ge=0, le=100)
    pool_max_size: int = Field(default=8, ge=1, le=200)
    retention_days: int = Field(default=365, ge=1, description="Raw readings kept this long.")
    compress_after_days: int = Field(default=7, ge=1, description="TimescaleDB compression age.")
    chunk_interval_hours: int = Field(default=24, ge=1, le=24 * 365)
    register_unknown: bool = Field(
        default=True, description="Register unknown machines/sensors on first sight."
    )
    max_future_seconds: int = Field(default=86_400, ge=0)
    public_url: str = Field(default="http://127.0.0.1:8050", description="Dashboard base URL.")
    log_level: str = Field(default="INFO")
    plant_timezone: str = Field(
        default="UTC", description="IANA time zone every time is shown in (UTC in tooltips)."
    )

    ingest: IngestConfig = Field(default_factory=IngestConfig)
    sim: SimConfig = Field(default_factory=SimConfig)
    features: FeaturesConfig = Field(default_factory=FeaturesConfig)
    models: ModelsConfig = Field(default_factory=ModelsConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    scheduler: SchedulerConfig = Field(default_factory=SchedulerConfig)
    dashboard: DashboardConfig = Field(default_factory=DashboardConfig)
    worker: WorkerConfig = Field(default_factory=WorkerConfig)

    @field_validator("database_url")
    @classmethod
    def _database_url_is_postgres(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("postgresql://", "postgres://")):
            raise ValueError(
                "expected a postgresql:// URL, or leave unset for the embedded database"
            )
        return value

    @field_validator("mqtt_url")
    @classmethod
    def _mqtt_url_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("mqtt://", "mqtts://")):
            raise ValueError("expected mqtt://host:port or mqtts://host:port")
        return value

    @field_validator("plant_timezone")
    @classmethod
    def _known_time_zone(cls, value: str) -> str:
        time_zone(value)
        return value

    def plant_clock(self, database: Database) -> PlantClock:
        """The one plant clock: ``worker.clock`` (wall or data) in ``plant_timezone``."""
        return PlantClock(self.worker.clock, self.plant_timezone, database)

    @field_validator("log_level")
    @classmethod
    def _log_level_known(cls, value: str) -> str:
        value = value.upper()
        if value not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("expected one of DEBUG, INFO, WARNING, ERROR")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment first, then values passed in (from the TOML file).
        return (env_settings, init_settings)


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
