"""Settings section `[dashboard]` (env `MILLWRIGHT_DASHBOARD__*`)."""

from __future__ import annotations

import enum
from ipaddress import ip_address
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from millwright.core.users import SessionPolicy, ThrottlePolicy

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
    session_idle_minutes: float = Field(
        default=480.0, gt=0, le=525_600, description="A session ends after this long unused."
    )
    session_absolute_hours: float = Field(
        default=168.0, gt=0, le=8760, description="A session ends this long after sign-in."
    )
    login_max_failures: int = Field(
        default=5, ge=1, le=1000, description="Failed sign-ins per account before back-off."
    )
    login_address_max_failures: int = Field(
        default=20, ge=1, le=100_000, description="Failed sign-ins per address before back-off."
    )
    login_window_minutes: float = Field(
        default=15.0, gt=0, le=1440, description="Failures older than this are forgotten."
    )
    login_base_delay_s: float = Field(
        default=1.0, gt=0, le=3600, description="First back-off; it doubles per failure."
    )
    login_max_delay_s: float = Field(default=900.0, gt=0, le=86_400, description="Back-off cap.")

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
        if self.session_idle_minutes > self.session_absolute_hours * 60:
            raise ValueError("session_idle_minutes must not exceed session_absolute_hours")
        if self.login_base_delay_s > self.login_max_delay_s:
            raise ValueError("login_base_delay_s must be at most login_max_delay_s")
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

    def session_policy(self) -> SessionPolicy:
        return SessionPolicy(
            idle_s=self.session_idle_minutes * 60, absolute_s=self.session_absolute_hours * 3600
        )

    def throttle_policy(self) -> ThrottlePolicy:
        return ThrottlePolicy(
            max_failures=self.login_max_failures,
            address_max_failures=self.login_address_max_failures,
            window_s=self.login_window_minutes * 60,
            base_delay_s=self.login_base_delay_s,
            max_delay_s=self.login_max_delay_s,
        )
