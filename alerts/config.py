"""Settings section `[alerts]` (env `MILLWRIGHT_ALERTS__*`).

Rules say when a machine's risk is worth a person's attention; endpoints say who is told.
Several rule entries may share a name: for each machine the most specific one applies
(named machine, then machine class, then the catch-all), so a plant sets defaults once and
overrides them for the odd machine.

Example::

    [[alerts.rules]]
    name = "risk"
    warning_p_fail = 0.5
    critical_p_fail = 0.8
    resolve_p_fail = 0.3          # hysteresis: open at 0.5, resolve only below 0.3
    min_duration_s = 600

    [[alerts.endpoints]]
    name = "maintenance"
    url = "https://hooks.example.com/millwright"
    secrets = ["whsec_..."]       # two during a rotation: both signatures are sent
    reachable_from_edge = true    # on the plant LAN: the edge alerts it during an outage
"""

from __future__ import annotations

import base64
import binascii
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

EVENT_TYPES = (
    "alert.opened",
    "alert.escalated",
    "alert.resolved",
    "alert.acknowledged",
    "alert.shelved",
    "alert.unshelved",
)
EndpointKind = Literal["json", "slack", "teams", "pagerduty"]


class RuleConfig(BaseModel):
    """Thresholds of one alert rule for the machines it names (or all machines).

    A score is *warning* when ``p_fail >= warning_p_fail`` or ``rul_low <= warning_rul_low``
    (hours), *critical* likewise; an episode resolves only when ``p_fail < resolve_p_fail``
    and ``rul_low > resolve_rul_low``, so a score hovering at the threshold does not flap.
    """

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    machines: list[str] = Field(default_factory=list, description="Machine names; most specific.")
    machine_classes: list[str] = Field(default_factory=list, description="Machine classes.")
    warning_p_fail: float | None = Field(default=None, gt=0, le=1)
    critical_p_fail: float | None = Field(default=None, gt=0, le=1)
    resolve_p_fail: float | None = Field(default=None, ge=0, le=1, description="Default: warning.")
    warning_rul_low: float | None = Field(default=None, ge=0, description="Hours.")
    critical_rul_low: float | None = Field(default=None, ge=0, description="Hours.")
    resolve_rul_low: float | None = Field(default=None, ge=0, description="Default: warning.")
    min_duration_s: float = Field(
        default=0.0, ge=0, description="A level must hold this long before it opens/escalates."
    )
    clear_duration_s: float = Field(
        default=0.0, ge=0, description="The clear condition must hold this long to resolve."
    )


class EndpointConfig(BaseModel):
    """One webhook receiver, its own secrets and its delivery limits."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    url: str
    secrets: list[SecretStr] = Field(
        default_factory=list,
        description="whsec_<base64> secrets; every one signs (two during a rotation).",
    )
    kind: EndpointKind = "json"
    routing_key: SecretStr | None = Field(
        default=None, description="pagerduty: the Events v2 integration (routing) key."
    )
    allow_private: bool = Field(
        default=False, description="Allow loopback, private and link-local targets."
    )
    allow_metadata: bool = Field(
        default=False, description="Allow cloud metadata addresses (169.254.169.254, ...)."
    )
    reachable_from_edge: bool = Field(
        default=False,
        description="On the plant LAN: `millwright edge` sends to it while the centre is away.",
    )
    max_attempts: int = Field(default=8, ge=1, le=100)
    timeout_s: float = Field(default=10.0, gt=0, le=300, description="Per attempt.")
    events: list[str] = Field(default_factory=lambda: list(EVENT_TYPES))

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("expected an http:// or https:// URL")
        return value

    @field_validator("secrets")
    @classmethod
    def _whsec(cls, value: list[SecretStr]) -> list[SecretStr]:
        for secret in value:
            secret_key(secret.get_secret_value())
        return value

    @field_validator("events")
    @classmethod
    def _known_events(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(EVENT_TYPES))
        if unknown:
            raise ValueError(f"unknown event types {unknown}; expected some of {EVENT_TYPES}")
        return value

    @model_validator(mode="after")
    def _json_is_signed(self) -> EndpointConfig:
        # Slack/Teams incoming webhooks authenticate by their secret URL and ignore headers.
        if self.kind == "json" and not self.secrets:
            raise ValueError(f"endpoint {self.name!r}: a json endpoint needs at least one secret")
        if self.kind == "pagerduty" and self.routing_key is None:
            raise ValueError(
                f"endpoint {self.name!r}: a pagerduty endpoint needs routing_key (its"
                " Events v2 integration key)"
            )
        return self


def secret_key(secret: str) -> bytes:
    """The HMAC key inside a ``whsec_<base64>`` secret; refuses placeholders and short keys."""
    if not secret.startswith("whsec_"):
        raise ValueError("a webhook secret looks like whsec_<base64 of 24-64 random bytes>")
    try:
        key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("a webhook secret's part after whsec_ must be base64") from None
    if not 16 <= len(key) <= 64:
        raise ValueError(f"a webhook secret must hold 16-64 bytes, this one holds {len(key)}")
    return key


def _default_rules() -> list[RuleConfig]:
    return [
        RuleConfig(
            name="risk",
            warning_p_fail=0.5,
            critical_p_fail=0.8,
            resolve_p_fail=0.3,
            warning_rul_low=48.0,
            critical_rul_low=24.0,
            resolve_rul_low=72.0,
            min_duration_s=0.0,
        )
    ]


class AlertsConfig(BaseModel):
    """Configuration of the `alerts` package: rules, endpoints and delivery pacing."""

    model_config = ConfigDict(extra="forbid")

    rules: list[RuleConfig] = Field(default_factory=_default_rules)
    endpoints: list[EndpointConfig] = Field(default_factory=list)
    backoff_base_s: float = Field(default=10.0, gt=0, description="First retry delay.")
    backoff_max_s: float = Field(default=3600.0, gt=0, description="Longest retry delay.")
    max_retry_after_s: float = Field(
        default=86_400.0, gt=0, description="Cap on a receiver's Retry-After."
    )
    lease_margin_s: float = Field(
        default=30.0, gt=0, description="A claimed delivery is retried if not settled by then."
    )
    interval_s: float = Field(default=30.0, gt=0, description="Cadence of `alerts run`.")
    lookback_hours: float = Field(
        default=24.0, gt=0, description="Scores read on the first evaluation of a machine."
    )
    edge_hold_s: float = Field(
        default=120.0,
        ge=0,
        description="Scores past an edge's hand-over wait this long for its sync (0: none).",
    )
    operators: int = Field(
        default=1, ge=1, le=1000, description="Operators sharing the alarms (for alarm KPIs)."
    )
    assumed_repair_hours: float = Field(
        default=8.0, ge=0, description="Downtime assumed when listing orders late on a failure."
    )

    @field_validator("endpoints")
    @classmethod
    def _unique_endpoints(cls, value: list[EndpointConfig]) -> list[EndpointConfig]:
        names = [e.name for e in value]
        if len(set(names)) != len(names):
            raise ValueError(f"endpoint names must be unique, got {names}")
        return value

    def endpoint(self, name: str) -> EndpointConfig | None:
        """The endpoint called ``name``, if configured."""
        return next((e for e in self.endpoints if e.name == name), None)
