"""The settings types of the ground floor: what storage, the broker and logging need.

:class:`CoreSettings` holds the top-level (unsectioned) settings every service shares; the
composed ``Settings`` of :mod:`millwright.app.settings` extends it with one section per stage
(``ingest``, ``features``, ...). Core code and the stages' commands only see this type: a
command reads its own stage's section through :meth:`CoreSettings.section`, so nothing below
the composition root depends on the composed type.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from millwright.core.clock import PlantClock, time_zone

if TYPE_CHECKING:
    from millwright.core.storage.database import Database

__all__ = ["CoreSettings", "SettingsError", "StorageConfig"]

T = TypeVar("T")


class SettingsError(ValueError):
    """Settings could not be loaded; the message names each bad setting."""


@dataclass(frozen=True)
class StorageConfig:
    """What opening the database needs: where it is (or where the embedded one lives), the
    pool size, and the TimescaleDB chunk, compression and retention policies."""

    database_url: str | None
    data_dir: Path
    pool_min_size: int = 1
    pool_max_size: int = 8
    retention_days: int = 365
    compress_after_days: int = 7
    chunk_interval_hours: int = 24


class CoreSettings(BaseSettings):
    """The top-level settings, with embedded defaults that make ``millwright demo`` work."""

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

    @property
    def storage(self) -> StorageConfig:
        """The storage part, as :func:`~millwright.core.storage.open_database` takes it."""
        return StorageConfig(
            database_url=self.database_url,
            data_dir=self.data_dir,
            pool_min_size=self.pool_min_size,
            pool_max_size=self.pool_max_size,
            retention_days=self.retention_days,
            compress_after_days=self.compress_after_days,
            chunk_interval_hours=self.chunk_interval_hours,
        )

    def section(self, name: str, kind: type[T]) -> T:
        """The settings section ``name`` (e.g. ``"features"``), checked to be a ``kind``."""
        return section_of(self, name, kind)

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

    def plant_clock(self, database: Database) -> PlantClock:
        """The one plant clock (`millwright.core.clock`): the ``worker.clock`` mode of the
        composed settings (wall unless it says data) in ``plant_timezone``."""
        mode = getattr(getattr(self, "worker", None), "clock", "wall")
        return PlantClock("data" if mode == "data" else "wall", self.plant_timezone, database)

    @field_validator("plant_timezone")
    @classmethod
    def _known_time_zone(cls, value: str) -> str:
        time_zone(value)
        return value

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


def section_of(settings: object, name: str, kind: type[T]) -> T:
    """``settings.<name>`` checked to be a ``kind``; a clear error when it is missing."""
    value = getattr(settings, name, None)
    if not isinstance(value, kind):
        raise SettingsError(
            f"settings have no [{name}] section of type {kind.__name__}; "
            "the composed settings (millwright.app.settings) should provide it"
        )
    return value
