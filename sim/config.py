"""Settings section `[sim]` (env `MILLWRIGHT_SIM__*`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class SimConfig(BaseModel):
    """Configuration of the `sim` package: the plant, its pace and its protocol adapters."""

    model_config = ConfigDict(extra="forbid")

    machines: int = Field(default=20, ge=1, le=10_000, description="Simulated machines.")
    lines: int = Field(default=4, ge=1, le=1_000, description="Production lines.")
    seed: int = Field(default=0, description="Same seed: same lives, noise and events.")
    speed: float = Field(
        default=3600.0, gt=0, description="Plant seconds per wall second; inf runs unpaced."
    )
    start: datetime | None = Field(
        default=None, description="Plant start time (UTC); unset: the current hour."
    )
    cycle_hours: float = Field(default=1.0, gt=0, description="Plant time of one engine cycle.")
    repair_hours: float = Field(default=24.0, gt=0, description="Repair after a failure.")
    maintenance_hours: float = Field(default=6.0, gt=0, description="Planned maintenance.")
    sample_interval_s: float = Field(
        default=600.0, gt=0, description="Plant seconds between published samples."
    )
    trajectory_source: Literal["cmapss", "wear"] = "cmapss"
    engine_units: list[int] | None = Field(
        default=None, description="C-MAPSS units to replay; unset: all 100 FD001 engines."
    )
    wear_sensors: int = Field(default=8, ge=1, le=1_000)
    wear_mean_life_cycles: float = Field(default=200.0, ge=10)
    stagger: bool = Field(default=True, description="Start machines part-way through a life.")
    cast_window_hours: float | None = Field(
        default=None,
        gt=0,
        description="A rotating cast of degrading machines (the demo): some running machine"
        " is always due to fail within this many plant hours; unset: lives run as drawn.",
    )
    interpolate: bool = Field(default=True, description="Interpolate between cycles.")
    subcycle_noise: float = Field(
        default=0.5, ge=0, description="Sample noise, in units of each sensor's noise level."
    )
    publish_mqtt: bool = True
    serve_opcua: bool = True
    mqtt_topic_prefix: str = Field(default="plant", min_length=1)
    mqtt_per_sensor: bool = Field(
        default=True, description="Publish {prefix}/{line}/{machine}/{sensor}."
    )
    mqtt_batch: bool = Field(default=True, description="Publish one JSON per machine and sample.")
    mqtt_batch_topic: str = Field(
        default="{prefix}/batch/{line}/{machine}/values",
        description="Topic template for batched samples ({prefix}, {line}, {machine}).",
    )
    mqtt_command_topic: str = Field(
        default="{prefix}/cmd/maintenance", description="Topic accepting JSON maintenance orders."
    )
    mqtt_sparkplug: bool = Field(
        default=False,
        description="Also publish Sparkplug B: one edge node, one device per machine"
        " (set mqtt_per_sensor and mqtt_batch false for Sparkplug only).",
    )
    sparkplug_group: str = Field(default="plant", description="Sparkplug group id.")
    sparkplug_node: str = Field(default="sim", description="Sparkplug edge node id.")
    mqtt_client_id: str = "millwright-sim"
    mqtt_qos: Literal[0, 1, 2] = 1
    mqtt_max_inflight: int = Field(default=50_000, ge=1, description="Unacknowledged messages.")
    opcua_endpoint: str = "opc.tcp://127.0.0.1:4840/millwright/"
    opcua_namespace: str = "urn:millwright:sim"

    @field_validator("start")
    @classmethod
    def _start_is_aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("expected a timezone-aware time, e.g. 2024-01-01T00:00:00Z")
        return value

    @field_validator("opcua_endpoint")
    @classmethod
    def _endpoint_scheme(cls, value: str) -> str:
        if not value.startswith("opc.tcp://"):
            raise ValueError("expected opc.tcp://host:port/path")
        return value

    @field_validator("mqtt_topic_prefix")
    @classmethod
    def _prefix_has_no_wildcards(cls, value: str) -> str:
        if any(c in value for c in "#+") or value.startswith("/") or value.endswith("/"):
            raise ValueError("expected a topic prefix without wildcards or leading/trailing '/'")
        return value

    @field_validator("sparkplug_group", "sparkplug_node")
    @classmethod
    def _sparkplug_id(cls, value: str) -> str:
        if not value or any(c in value for c in "/#+"):
            raise ValueError("expected a non-empty Sparkplug id without '/', '#' or '+'")
        return value

    @model_validator(mode="after")
    def _templates_format(self) -> SimConfig:
        for name in ("mqtt_batch_topic", "mqtt_command_topic"):
            try:
                getattr(self, name).format(prefix="p", line="l", machine="m")
            except (KeyError, IndexError, ValueError) as exc:
                raise ValueError(
                    f"{name} may use only {{prefix}}, {{line}} and {{machine}}: {exc}"
                ) from exc
        return self

    @property
    def cycle(self) -> timedelta:
        return timedelta(hours=self.cycle_hours)

    @property
    def sample_interval(self) -> timedelta:
        return timedelta(seconds=self.sample_interval_s)
