"""Dashboard settings: placeholder secrets are refused, sign-in follows where it is served."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from dashboard.config import DashboardConfig, is_loopback
from millwright.app.settings import SettingsError, load_settings


@pytest.mark.parametrize("secret", ["change-me", "CHANGEME", "changethis", " secret "])
def test_placeholder_secrets_are_refused(secret: str) -> None:
    with pytest.raises(ValidationError, match="placeholder"):
        DashboardConfig(secret_key=secret)  # type: ignore[arg-type]


def test_short_secret_is_refused_and_message_names_the_setting() -> None:
    with pytest.raises(SettingsError, match=r"dashboard\.secret_key.*at least 16"):
        load_settings(dashboard={"secret_key": "short"})


def test_secret_is_not_printed() -> None:
    config = DashboardConfig(secret_key="a-real-random-secret-value")  # type: ignore[arg-type]
    assert "a-real-random" not in repr(config)


@pytest.mark.parametrize(
    ("require", "public_url", "bind", "expected"),
    [
        ("auto", "http://127.0.0.1:8050", "127.0.0.1", False),
        ("auto", "http://localhost:8050", None, False),
        ("auto", "http://[::1]:8050", "::1", False),
        ("auto", "http://127.0.0.1:8050", "0.0.0.0", True),
        ("auto", "https://plant.example.com", "127.0.0.1", True),  # behind a reverse proxy
        ("false", "https://plant.example.com", "0.0.0.0", False),
        ("true", "http://127.0.0.1:8050", "127.0.0.1", True),
    ],
)
def test_login_required(require: str, public_url: str, bind: str | None, expected: bool) -> None:
    config = DashboardConfig(require_login=require)  # type: ignore[arg-type]
    assert config.login_required(public_url, bind) is expected


def test_thresholds_and_base_path_are_checked() -> None:
    with pytest.raises(ValidationError, match="critical_p_fail"):
        DashboardConfig(warning_p_fail=0.8, critical_p_fail=0.5)
    with pytest.raises(ValidationError, match="starts and ends"):
        DashboardConfig(base_path="/dashboard")
    assert is_loopback("127.0.0.5") and not is_loopback("plant.local")
