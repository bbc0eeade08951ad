"""Settings section `[dashboard]` (env `MILLWRIGHT_DASHBOARD__*`)."""

from __future__ import annotations

import enum
from ipaddress import ip_address
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

# Values people copy from examples and forget to change; a session cookie signed with one of
# them can be forged by anyone who read the same example.
PLACEHOLDER_SECRETS = frozenset(
    {
        "change-me",
        "changeme",
        "change_me",
        "changethis",
        "change-this",
        "secret",
        "password",
        "dev",
        "development",
        "default",
        "xxx",
        "todo",
        "none",
        "null",
        "example",
    }
)
MIN_SECRET_LENGTH = 16


class RequireLogin(enum.StrEnum):
    """Whether visitors must sign in: ``auto`` means yes whenever served beyond localhost."""

    AUTO = "auto"
    TRUE = "true"
    FALSE = "false"


def is_loopback(host: str | None) -> bool:
    """Whether ``host`` (a name or address, possibly bracketed) only answers this machine."""
    if not host:
        return False
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


class DashboardConfig(BaseModel):
    """Configuration of the `dashboard` package.

    Risk colours use their own thresholds (not the alert rules) because a tile should turn
    amber before an alert fires: the colour is a hint, the alert is a call to act.
    """

    model_config = ConfigDict(extra="forbid")

    refresh_s: float = Field(
        default=10.0, ge=1, le=3600, description="How often open pages fetch new data."
    )
    stale_after_s: float = Field(
        default=120.0,
        ge=5,
        description="Data (or a page's last successful refresh) older than this is marked stale.",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Signs session cookies; unset: a random key per process (sign-ins are lost"
        " on restart and not shared between processes).",
    )
    require_login: RequireLogin = Field(
        default=RequireLogin.AUTO,
        description="auto: sign-in required unless both the bind host and public_url are local.",
    )
    base_path: str = Field(default="/", description="URL prefix the dashboard is served under.")
    warning_p_fail: float = Field(default=0.3, gt=0, le=1)
    critical_p_fail: float = Field(default=0.7, gt=0, le=1)
    warning_rul_low_h: float = Field(default=72.0, ge=0, description="Hours.")
    critical_rul_low_h: float = Field(default=24.0, ge=0, description="Hours.")

    @field_validator("secret_key")
    @classmethod
    def _secret_is_not_a_placeholder(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        secret = value.get_secret_value()
        if secret.strip().lower() in PLACEHOLDER_SECRETS:
            raise ValueError(
                "the secret key is a placeholder; set a random value, e.g. from"
                ' `python -c "import secrets; print(secrets.token_urlsafe(32))"`'
            )
        if len(secret) < MIN_SECRET_LENGTH:
            raise ValueError(f"the secret key needs at least {MIN_SECRET_LENGTH} characters")
        return value

    @field_validator("base_path")
    @classmethod
    def _base_path_is_a_prefix(cls, value: str) -> str:
        if not value.startswith("/") or not value.endswith("/"):
            raise ValueError("expected a path that starts and ends with '/', e.g. /dashboard/")
        return value

    @model_validator(mode="after")
    def _thresholds_ordered(self) -> DashboardConfig:
        if self.critical_p_fail < self.warning_p_fail:
            raise ValueError("critical_p_fail must be at least warning_p_fail")
        if self.critical_rul_low_h > self.warning_rul_low_h:
            raise ValueError("critical_rul_low_h must be at most warning_rul_low_h")
        return self

    def login_required(self, public_url: str, bind_host: str | None = None) -> bool:
        """Resolve ``require_login``: ``auto`` is off only when nothing beyond localhost can
        reach the app (public URL and, when known, the bound host are both loopback)."""
        if self.require_login is RequireLogin.TRUE:
            return True
        if self.require_login is RequireLogin.FALSE:
            return False
        local_url = is_loopback(urlsplit(public_url).hostname)
        local_bind = bind_host is None or is_loopback(bind_host)
        return not (local_url and local_bind)
