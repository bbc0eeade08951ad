"""Settings section ``[ingest]`` (env ``MILLWRIGHT_INGEST__*``).

Shared pipeline settings (``batch``, ``buffer``, ``metrics``) plus one list per protocol
(``[[ingest.mqtt]]``; OPC-UA sources get their own list). Example::

    [ingest.batch]
    size = 5000
    interval_ms = 200

    [ingest.buffer]
    path = "/var/lib/millwright/ingest-buffer.sqlite"
    max_readings = 5000000
    policy = "stop_acknowledging"     # or "drop_oldest"

    [[ingest.mqtt]]
    name = "plant-broker"
    host = "broker.plant.local"
    port = 8883
    client_id = "millwright-collector-1"
    shared_group = "millwright"
    tls = { ca_file = "/etc/millwright/ca.pem" }
    subscriptions = [
        { topic = "plant/{line}/{machine}/{sensor}", format = "auto" },
        { topic = "spBv1.0/plant1/+/{machine}/#", format = "sparkplug" },
        { topic = "plant/events/{machine}", format = "events" },
    ]

``format = "events"`` takes the body of ``POST /api/v1/events`` (one event or a list; the
machine from the topic) — see :mod:`ingest.plant_events`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from ingest.opcua.config import OpcUaSourceConfig
from ingest.topics import TopicTemplate


class BatchConfig(BaseModel):
    """A batch is written when it holds ``size`` readings or is ``interval_ms`` old."""

    model_config = ConfigDict(extra="forbid")

    size: int = Field(default=5000, ge=1, le=1_000_000)
    interval_ms: int = Field(default=200, ge=1, le=60_000)
    max_pending_readings: int = Field(
        default=200_000, ge=1, description="In-memory readings before submitters block."
    )


class BufferConfig(BaseModel):
    """The on-disk store-and-forward buffer used while the database is unreachable."""

    model_config = ConfigDict(extra="forbid")

    path: Path | None = Field(
        default=None, description="SQLite file; default <data_dir>/ingest-buffer.sqlite."
    )
    max_readings: int = Field(default=5_000_000, ge=1)
    policy: Literal["drop_oldest", "stop_acknowledging"] = "stop_acknowledging"
    retry_interval_s: float = Field(default=2.0, gt=0, le=300)
    database_timeout_s: float = Field(
        default=5.0, gt=0, le=120, description="How long a write waits for a connection."
    )


class MetricsConfig(BaseModel):
    """The ``/metrics`` and ``/health`` endpoint."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=9108, ge=0, le=65535, description="0 picks a free port.")


class TlsConfig(BaseModel):
    """TLS to the broker: CA to verify it, optionally a client certificate."""

    model_config = ConfigDict(extra="forbid")

    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    insecure: bool = Field(default=False, description="Skip hostname checks (lab use only).")

    @model_validator(mode="after")
    def _pair(self) -> TlsConfig:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together (client certificate and key)")
        return self


class SubscriptionConfig(BaseModel):
    """One topic template and how its payloads are decoded."""

    model_config = ConfigDict(extra="forbid")

    topic: str = Field(description="Template such as plant/{line}/{machine}/{sensor}.")
    format: Literal["auto", "number", "json", "sparkplug", "events"] = "auto"
    qos: Literal[0, 1, 2] = 1
    machine: str | None = Field(default=None, description="Machine when the topic has none.")
    sensor: str | None = Field(default=None, description="Sensor when the topic has none.")
    booleans: bool = Field(
        default=False, description="Store JSON true/false as 1/0 (refused with a reason if not)."
    )

    @field_validator("topic")
    @classmethod
    def _template_parses(cls, value: str) -> str:
        TopicTemplate(value)  # raises ValueError with a message naming the problem
        return value


class MqttSourceConfig(BaseModel):
    """One MQTT broker connection and its subscriptions."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, description="Source name in logs, metrics, dead letters.")
    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    protocol: Literal["5", "3.1.1"] = "5"
    client_id: str | None = Field(
        default=None, description="Fixed id for a persistent session; default millwright-<name>."
    )
    clean_start: bool = Field(default=False, description="False keeps the session across restarts.")
    session_expiry_s: int = Field(default=86_400, ge=0, le=4_294_967_295)
    keepalive_s: int = Field(default=30, ge=5, le=65_535)
    username: str | None = None
    password: SecretStr | None = None
    tls: TlsConfig | None = None
    shared_group: str | None = Field(
        default=None, description="MQTT 5 shared subscription group ($share/<group>/...)."
    )
    subscriptions: list[SubscriptionConfig] = Field(min_length=1)
    reconnect_min_s: float = Field(default=0.5, gt=0)
    reconnect_max_s: float = Field(default=30.0, gt=0)
    max_payload_bytes: int = Field(
        default=1_048_576, ge=16, description="Bigger payloads are dead-lettered (cut)."
    )
    max_packet_bytes: int = Field(
        default=16 * 1_048_576,
        ge=1024,
        description="MQTT 5 Maximum Packet Size: the broker drops bigger messages for us.",
    )
    receive_maximum: int = Field(
        default=65_535, ge=1, le=65_535, description="Unacknowledged QoS 1/2 messages in flight."
    )
    sparkplug_machine: Literal["device", "edge_node"] = Field(
        default="device", description="Sparkplug: machine = device id (node for node metrics)."
    )
    sparkplug_reorder_window: int = Field(
        default=16,
        ge=1,
        le=128,
        description="Sparkplug: seqs held out of order before the missing ones count as a gap.",
    )
    sparkplug_reorder_timeout_s: float = Field(
        default=2.0, gt=0, description="Sparkplug: how long a hole in seq may stay open."
    )
    sparkplug_rebirth: bool = Field(
        default=True,
        description="Sparkplug: send NCMD Node Control/Rebirth after a gap or an unknown alias.",
    )
    sparkplug_rebirth_interval_s: float = Field(
        default=30.0, gt=0, description="Sparkplug: at most one rebirth request per node per this."
    )

    @property
    def effective_client_id(self) -> str:
        return self.client_id or f"millwright-{self.name}"

    @model_validator(mode="after")
    def _consistent(self) -> MqttSourceConfig:
        if self.shared_group is not None and self.protocol != "5":
            raise ValueError("shared_group needs protocol 5 (shared subscriptions are MQTT 5)")
        if self.shared_group is not None and any(c in self.shared_group for c in "/+#"):
            raise ValueError("shared_group must not contain '/', '+' or '#'")
        if self.reconnect_max_s < self.reconnect_min_s:
            raise ValueError("reconnect_max_s must be >= reconnect_min_s")
        if self.max_payload_bytes > self.max_packet_bytes:
            raise ValueError("max_payload_bytes must be <= max_packet_bytes")
        return self


class IngestConfig(BaseModel):
    """Configuration of the ``ingest`` package."""

    model_config = ConfigDict(extra="forbid")

    batch: BatchConfig = Field(default_factory=BatchConfig)
    buffer: BufferConfig = Field(default_factory=BufferConfig)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    mqtt: list[MqttSourceConfig] = Field(default_factory=list)
    opcua: list[OpcUaSourceConfig] = Field(
        default_factory=list, description="OPC-UA servers, see ingest.opcua.config."
    )
    shard: str | None = Field(
        default=None,
        description="This collector's share (I/N), set by `collect --shard`; a metrics label.",
    )

    @model_validator(mode="after")
    def _unique_source_names(self) -> IngestConfig:
        names = [s.name for s in self.mqtt] + [s.name for s in self.opcua]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ValueError(f"source names must be unique; repeated: {', '.join(duplicated)}")
        return self
