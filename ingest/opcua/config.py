"""Settings of one OPC-UA source: ``[[ingest.opcua]]`` tables in the collector's TOML.

A source is one server endpoint with its security, its subscription pacing and the nodes to
read, each mapped to a machine, a sensor and a unit. Example::

    [[ingest.opcua]]
    name = "press-line"
    endpoint = "opc.tcp://10.0.0.5:4840/"
    security_policy = "Basic256Sha256"
    security_mode = "SignAndEncrypt"
    certificate = "/etc/millwright/opcua/client.der"
    private_key = "/etc/millwright/opcua/client.pem"
    trusted_certificates = ["/etc/millwright/opcua/trusted"]
    username = "collector"
    password = "..."

    [[ingest.opcua.nodes]]
    node_id = "ns=2;s=press1.temperature"
    machine = "press1"
    sensor = "temperature"
    unit = "degC"

    [[ingest.opcua.nodes]]
    browse_path = "2:Plant/2:press1/2:state"
    machine = "press1"
    sensor = "state"
    value_map = { running = 0, down = 1, maintenance = 2 }

Validation happens here so a typo stops start-up with a message naming the field, rather
than surfacing as a protocol error minutes later.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ingest.names import InvalidName, check_name

SecurityPolicyName = Literal[
    "None", "Basic256Sha256", "Aes128_Sha256_RsaOaep", "Aes256_Sha256_RsaPss"
]
SecurityModeName = Literal["None", "Sign", "SignAndEncrypt"]


class NodeMapping(BaseModel):
    """One server node read as one sensor of one machine.

    Exactly one of ``node_id`` (``ns=2;s=press1.temp``, ``ns=3;i=1001``) or ``browse_path``
    (qualified names below the Objects folder, ``/``-separated: ``2:Plant/2:press1/2:temp``).
    Non-numeric values need a conversion: ``value_map`` for strings (and enums by name),
    ``index`` for arrays, ``field`` for structures (dotted for nested ones); they combine in
    the order field → index → value_map.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    node_id: str | None = None
    browse_path: str | None = None
    machine: str = Field(min_length=1)
    sensor: str = Field(min_length=1)
    unit: str | None = None
    value_map: dict[str, float] | None = Field(
        default=None, description="String (or enum name) → number, e.g. {running = 0}."
    )
    index: int | None = Field(default=None, ge=0, description="Element of an array value.")
    field: str | None = Field(
        default=None, min_length=1, description="Field of a structure value (a.b for nested)."
    )
    sampling_interval_ms: float | None = Field(
        default=None, ge=0, description="This node's sampling interval (default: the source's)."
    )
    queue_size: int | None = Field(
        default=None, ge=1, le=100_000, description="This node's server queue (default: source's)."
    )

    @field_validator("machine", "sensor")
    @classmethod
    def _name_rule(cls, value: str, info: ValidationInfo) -> str:
        """The naming rule every source follows (see :mod:`ingest.names`), stored NFC."""
        try:
            return check_name(value, str(info.field_name))
        except InvalidName as exc:
            raise ValueError(str(exc)) from None

    @model_validator(mode="after")
    def _one_address(self) -> NodeMapping:
        if (self.node_id is None) == (self.browse_path is None):
            raise ValueError(
                f"node {self.machine}/{self.sensor}: give exactly one of node_id or browse_path"
            )
        if self.browse_path is not None and not self.path_elements():
            raise ValueError(f"node {self.machine}/{self.sensor}: browse_path is empty")
        return self

    @field_validator("node_id")
    @classmethod
    def _node_id_parses(cls, value: str | None) -> str | None:
        if value is not None:
            from asyncua import ua

            try:
                ua.NodeId.from_string(value)
            except (ValueError, ua.UaError) as exc:
                raise ValueError(f"expected a NodeId like ns=2;s=name or ns=3;i=42: {exc}") from exc
        return value

    def path_elements(self) -> list[str]:
        """The browse path's qualified names (``ns:Name``), without empty parts."""
        return [p for p in (self.browse_path or "").strip("/").split("/") if p]

    @property
    def address(self) -> str:
        """How the node is addressed in config, for messages and the sensors table."""
        return self.node_id if self.node_id is not None else f"path:{self.browse_path}"


class OpcUaSourceConfig(BaseModel):
    """One OPC-UA server: endpoint, security, subscription pacing and node mappings."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, description="Source name in logs, metrics and dead letters.")
    endpoint: str
    security_policy: SecurityPolicyName = "None"
    security_mode: SecurityModeName = "None"
    certificate: Path | None = Field(default=None, description="Client certificate (DER or PEM).")
    private_key: Path | None = Field(default=None, description="Client private key (PEM or DER).")
    private_key_password: SecretStr | None = None
    application_uri: str = Field(
        default="urn:millwright:collector",
        description="Must equal the URI SubjectAltName of the client certificate.",
    )
    trusted_certificates: list[Path] = Field(
        default_factory=list,
        description="Server certificates (files or directories of .der/.pem) trusted as is.",
    )
    allow_untrusted_server: bool = Field(
        default=False, description="Accept a server certificate missing from the trust list."
    )
    username: str | None = None
    password: SecretStr | None = None
    publishing_interval_ms: float = Field(default=500.0, gt=0)
    sampling_interval_ms: float = Field(default=0.0, ge=0, description="0: the server's fastest.")
    queue_size: int = Field(default=10, ge=1, le=100_000, description="Server-side item queue.")
    max_notifications_per_publish: int = Field(default=0, ge=0, description="0: no limit.")
    request_timeout_s: float = Field(default=10.0, gt=0)
    session_timeout_s: float = Field(default=60.0, gt=0)
    watchdog_interval_s: float = Field(
        default=5.0, gt=0, description="Connection probe period, also the probe's timeout."
    )
    reconnect_max_delay_s: float = Field(default=10.0, gt=0)
    client_queue_size: int = Field(
        default=200_000, ge=1_000, description="Notifications buffered between network and writer."
    )
    nodes: list[NodeMapping] = Field(default_factory=list)

    @field_validator("endpoint")
    @classmethod
    def _endpoint_scheme(cls, value: str) -> str:
        if not value.startswith("opc.tcp://"):
            raise ValueError("expected opc.tcp://host:port[/path]")
        return value

    @model_validator(mode="after")
    def _security_consistent(self) -> OpcUaSourceConfig:
        secure = self.security_policy != "None"
        if secure != (self.security_mode != "None"):
            raise ValueError(
                f"source {self.name}: security_policy {self.security_policy} needs security_mode"
                " Sign or SignAndEncrypt, and policy None needs mode None"
            )
        if secure and (self.certificate is None or self.private_key is None):
            raise ValueError(
                f"source {self.name}: security_policy {self.security_policy} needs certificate"
                " and private_key"
            )
        if (self.username is None) != (self.password is None):
            raise ValueError(f"source {self.name}: give both username and password, or neither")
        seen: set[tuple[str, str]] = set()
        for node in self.nodes:
            key = (node.machine, node.sensor)
            if key in seen:
                raise ValueError(f"source {self.name}: {key[0]}/{key[1]} is mapped twice")
            seen.add(key)
        return self
