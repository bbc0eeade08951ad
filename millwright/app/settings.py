"""One settings object for every Millwright service.

Built once by the CLI from environment variables prefixed ``MILLWRIGHT_`` (nested sections use
``__``, e.g. ``MILLWRIGHT_SCHEDULER__TIME_LIMIT_S``) and, optionally, a TOML file given with
``--config``. Environment variables win over the file. Invalid values stop start-up with a
message naming the setting and what is expected (:func:`load_settings`).
"""

from __future__ import annotations

import difflib
import tomllib
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel, Field, ValidationError

from alerts.config import AlertsConfig
from dashboard.config import DashboardConfig
from edge.config import EdgeConfig
from features.config import FeaturesConfig
from ingest.config import IngestConfig
from millwright.app.worker_config import WorkerConfig
from millwright.core.settings import CoreSettings, SettingsError
from models.config import ModelsConfig
from outcomes.config import OutcomesConfig
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
    outcomes: OutcomesConfig = Field(default_factory=OutcomesConfig)
    edge: EdgeConfig = Field(default_factory=EdgeConfig)


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
    """Each bad setting in a sentence: its TOML key and env var, and what is expected.

    An unknown key suggests the nearest known one ("did you mean retention_days?"). One bad
    setting is one line; several get a heading line and one line each.
    """
    where = f" in {config_file} or the environment" if config_file else ""
    problems = []
    for error in exc.errors():
        path = [str(p) for p in error["loc"]]
        key = ".".join(path)
        env = "MILLWRIGHT_" + "__".join(path).upper()
        problems.append(f"{key} ({env}): {_plain_wording(error)}")
    if len(problems) == 1:
        return f"invalid setting{where}: {problems[0]}"
    return "\n".join([f"invalid settings{where}:", *(f"  {p}" for p in problems)])


def _plain_wording(error: Any) -> str:
    """Pydantic's message as a plain sentence, with the value that was given."""
    kind, ctx = error["type"], error.get("ctx") or {}
    got = error.get("input")
    if kind == "extra_forbidden":
        known = _known_keys(error["loc"][:-1])
        guess = difflib.get_close_matches(str(error["loc"][-1]), known, n=1, cutoff=0.6)
        hint = f"did you mean {guess[0]}?" if guess else "see `millwright --help` and the README"
        return f"is not a setting; {hint}"
    plain = {
        "int_parsing": "expected a whole number",
        "int_type": "expected a whole number",
        "int_from_float": "expected a whole number",
        "float_parsing": "expected a number",
        "float_type": "expected a number",
        "bool_parsing": "expected true or false",
        "bool_type": "expected true or false",
        "string_type": "expected text",
        "missing": "is required",
        "greater_than_equal": f"expected at least {ctx.get('ge')}",
        "greater_than": f"expected more than {ctx.get('gt')}",
        "less_than_equal": f"expected at most {ctx.get('le')}",
        "less_than": f"expected less than {ctx.get('lt')}",
        "literal_error": f"expected one of {ctx.get('expected')}",
        "datetime_from_date_parsing": "expected a time such as 2024-01-01T00:00:00Z",
        "datetime_parsing": "expected a time such as 2024-01-01T00:00:00Z",
    }.get(kind)
    if plain is None:  # our own validators already speak in sentences
        plain = str(error["msg"]).removeprefix("Value error, ")
    return plain if kind == "missing" else f"{plain}, got {got!r}"


def _known_keys(path: tuple[Any, ...]) -> list[str]:
    """The setting names valid at ``path`` (nested sections and lists of sections)."""
    model: Any = Settings
    for part in path:
        if isinstance(part, int):
            continue
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return []
        model = _section_type(field.annotation)
        if model is None:
            return []
    return sorted(getattr(model, "model_fields", {}))


def _section_type(annotation: Any) -> Any:
    """The pydantic model inside ``Model``, ``list[Model]`` or ``Model | None``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _section_type(arg)
        if found is not None:
            return found
    return None
